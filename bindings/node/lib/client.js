'use strict';
// Client and Pipeline: thin shells over the addon's NativeClient. Command methods (get, set,
// ...) come from ./commands.js, written once for both.
//
// How a call travels: the method turns its arguments into a command, gives it an id and hands
// it to the addon, which runs it on the core's runtime and reports back through this client's
// `complete(id, ok, value)` on the JS thread. The addon's report channel never keeps the
// process alive; a timer here is ref'd only while calls are pending, so a pending call holds
// the process open (as a socket would) and an idle or closed client never does.

const { EventEmitter } = require('node:events');
const native = require('../native.js');
const errors = require('./errors.js');
const options = require('./options.js');
const url = require('./url.js');
const { RUN, FAIL, install } = require('./commands.js');
const { typeName, toArg, toArgv, execOptions, finishReplies } = require('./args.js');
const { Transaction, Script, TX } = require('./transaction.js');
const { PubSub } = require('./pubsub.js');

const PRIVATE = Symbol('slotwise.private');
const PIPE = Symbol('slotwise.pipe');
const noop = () => {};

/** The calls in flight of one client, by id, and the timer that holds the process meanwhile. */
class Calls {
  constructor() {
    this.pending = new Map();
    this.next = 0;
    this.closed = false;
    this.timer = setInterval(noop, 2 ** 31 - 1);
    this.timer.unref();
    this.complete = this.complete.bind(this);
  }

  /** A new id and the promise its completion settles. */
  start(parse) {
    let id = (this.next = (this.next + 1) >>> 0);
    while (this.pending.has(id)) id = this.next = (this.next + 1) >>> 0;
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, parse });
    });
    if (this.pending.size === 1) this.timer.ref();
    return { id, promise };
  }

  /** Called by the addon on the JS thread. */
  complete(id, ok, value) {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.settled(id);
    if (!ok) return p.reject(value);
    if (p.parse === undefined) return p.resolve(value);
    try {
      p.resolve(p.parse(value));
    } catch (e) {
      p.reject(e);
    }
  }

  settled(id) {
    this.pending.delete(id);
    if (this.pending.size === 0) {
      if (this.closed) clearInterval(this.timer);
      else this.timer.unref();
    }
  }

  /** Runs `send(id)` for a new call; a synchronous failure rejects the call. */
  run(parse, send) {
    const { id, promise } = this.start(parse);
    try {
      send(id);
    } catch (e) {
      const p = this.pending.get(id);
      this.settled(id);
      p.reject(e);
    }
    return promise;
  }

  close() {
    this.closed = true;
    if (this.pending.size === 0) clearInterval(this.timer);
  }
}

function addressList(what, v, { single = false } = {}) {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || (single && list.length !== 1)) {
    throw new TypeError(`${what} must be ${single ? "a 'host:port' string" : "'host:port' or an array of them"}, not ${typeName(v)}`);
  }
  if (list.length === 0) throw new TypeError(`${what} must not be empty`);
  return list.map((a, i) => options.address(single ? what : `${what}[${i}]`, a));
}

async function open(mode, addresses, serviceName, opts) {
  const parsed = options.parse(opts, mode);
  const calls = new Calls();
  // The events channel holds the client weakly: an unreferenced client can be collected.
  let weak = null;
  const hooks = {
    complete: calls.complete,
    emit: (name, payload) => weak?.deref()?.emit(name, payload),
    makeError: errors.makeError,
    addressRemap: parsed.addressRemap,
    resolver: parsed.resolver,
  };
  let r;
  try {
    r = await native.connect(mode, addresses, serviceName ?? null, parsed.native, hooks);
  } catch (e) {
    r = e;
  }
  if (r instanceof Error) {
    calls.close();
    throw r;
  }
  const client = new Client(PRIVATE, r, calls, parsed.returnBuffers);
  weak = new WeakRef(client);
  return client;
}

/**
 * A client for a Redis Cluster, a Sentinel-managed master or one server. Create it with
 * Client.cluster / Client.sentinel / Client.standalone or connect(url). An EventEmitter:
 * 'topology', 'nodeFailed', 'nodeRecovered', 'failover', 'sentinelLost', 'sentinelRegained'.
 */
class Client extends EventEmitter {
  #native;
  #calls;
  #buffers;

  constructor(token, nativeClient, calls, buffers) {
    if (token !== PRIVATE) {
      throw new TypeError('create a Client with Client.cluster(), Client.sentinel(), Client.standalone() or connect(url)');
    }
    super();
    this.#native = nativeClient;
    this.#calls = calls;
    this.#buffers = buffers;
  }

  /** Connects to a cluster through any of `seeds` ('host:port'). */
  static async cluster(seeds, opts) {
    return open('cluster', addressList('seeds', seeds), undefined, opts);
  }

  /** Connects to one server at `address` ('host:port'). */
  static async standalone(address, opts) {
    return open('standalone', addressList('address', address, { single: true }), undefined, opts);
  }

  /** Connects to the master the sentinels at `sentinels` name for `serviceName`. */
  static async sentinel(sentinels, serviceName, opts) {
    const list = addressList('sentinels', sentinels);
    if (typeof serviceName !== 'string' || serviceName === '') {
      throw new TypeError(`serviceName must be a non-empty string, not ${typeName(serviceName)}`);
    }
    return open('sentinel', list, serviceName, opts);
  }

  /** True when string replies are Buffers. */
  get returnBuffers() {
    return this.#buffers;
  }

  /** True once close() was called. */
  get closed() {
    return this.#calls.closed;
  }

  /** Runs one command, e.g. execute(['SET', 'k', 'v']), and resolves to its reply. */
  execute(argv) {
    try {
      return this[RUN](toArgv(argv, 'execute'));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  [RUN](argv, parse) {
    if (this.#calls.closed) return Promise.reject(errors.closedError());
    let args;
    try {
      args = argv.map(toArg);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#calls.run(parse, (id) => this.#native.execute(id, args));
  }

  [FAIL](e) {
    return Promise.reject(e);
  }

  [PIPE](cmds) {
    if (this.#calls.closed) return Promise.reject(errors.closedError());
    return this.#calls.run(undefined, (id) => this.#native.pipeline(id, cmds));
  }

  /** Pub/Sub on dedicated connections that follow the deployment (see lib/pubsub.js). */
  pubsub() {
    if (this.#calls.closed) throw errors.closedError();
    return new PubSub((emit) => this.#native.pubsub(emit), this.#calls);
  }

  /** A pipeline: queue commands with the same methods, then exec(). */
  pipeline() {
    return new Pipeline(PRIVATE, this);
  }

  /**
   * A MULTI/EXEC transaction on one connection held for it (every key in one slot: use a
   * hash tag). `await tx.watch(...keys)`, `await tx.query([...])` (runs now), queue commands
   * with the usual methods, then `await tx.exec()`; see lib/transaction.js.
   */
  multi() {
    if (this.#calls.closed) throw errors.closedError();
    const tx = this.#native.txStart();
    return new Transaction(
      TX,
      tx,
      (parse, send) => {
        if (this.#calls.closed) return Promise.reject(errors.closedError());
        return this.#calls.run(parse, (id) => send(this.#native, id));
      },
      () => this.#native.txReset(tx),
    );
  }

  /**
   * A Lua script run with EVALSHA: `await script.run(keys, args)`. A node that does not have
   * it (a new primary after a failover, a restart) gets it with SCRIPT LOAD and the call goes
   * on. `{ readOnly: true }` uses EVALSHA_RO.
   */
  registerScript(body, opts) {
    return new Script(TX, body, opts, (parse, send) => {
      if (this.#calls.closed) return Promise.reject(errors.closedError());
      return this.#calls.run(parse, (id) => send(this.#native, id));
    });
  }

  /**
   * Every key of the deployment (optionally matching `match`), from every primary in turn:
   * SCAN's cursor belongs to one node. `for await (const key of client.scanIter({ match }))`.
   */
  async *scanIter({ match, count } = {}) {
    if (match !== undefined && typeof match !== 'string') {
      throw new TypeError(`scanIter: match must be a string, got ${typeof match}`);
    }
    if (count !== undefined && !(Number.isInteger(count) && count > 0 && count <= 0xffffffff)) {
      throw new RangeError(`scanIter: count must be a positive integer, got ${count}`);
    }
    if (this.#calls.closed) throw errors.closedError();
    const scan = this.#native.scanStart(match ?? null, count ?? null);
    for (;;) {
      const page = await this.#calls.run(undefined, (id) => this.#native.scanNext(id, scan));
      if (page === null) return;
      yield* page;
    }
  }

  /** Proves every primary accepts a write: { healthy, uncoveredSlots, nodes }. */
  healthCheck() {
    if (this.#calls.closed) return Promise.reject(errors.closedError());
    return this.#calls.run(undefined, (id) => this.#native.healthCheck(id));
  }

  /** Re-reads the topology now (cluster and sentinel modes) and resolves when done. */
  refreshTopology() {
    if (this.#calls.closed) return Promise.reject(errors.closedError());
    return this.#calls.run(() => undefined, (id) => this.#native.refreshTopology(id));
  }

  /** The topology in use (a snapshot; no I/O). */
  topology() {
    return this.#native.topology();
  }

  /** Counters of what the client did to follow the deployment. */
  metrics() {
    return this.#native.metrics();
  }

  /**
   * Password rotation: connections opened from now on authenticate as `username` (null: the
   * default user) with `password`; open ones stay, so no request is dropped. No I/O.
   */
  updateCredentials(username, password) {
    if (this.#calls.closed) throw errors.closedError();
    if (username !== null && username !== undefined && typeof username !== 'string') {
      throw new TypeError(`username must be a string or null, not ${typeName(username)}`);
    }
    if (typeof password !== 'string') {
      throw new TypeError(`password must be a string, not ${typeName(password)}`);
    }
    this.#native.updateCredentials(username ?? null, password);
  }

  /** Closes every connection; later calls reject with ClosedError. Idempotent. */
  close() {
    if (this.#calls.closed) return;
    this.#calls.close();
    this.#native.close();
  }
}

/** Commands queued for one round trip per node; replies come back in order. */
class Pipeline {
  #client;
  #cmds = [];
  #parsers = [];

  constructor(token, client) {
    if (token !== PRIVATE) throw new TypeError('create a Pipeline with client.pipeline()');
    this.#client = client;
  }

  /** How many commands are queued. */
  get length() {
    return this.#cmds.length;
  }

  /** Queues one raw command, e.g. execute(['INCR', 'k']). */
  execute(argv) {
    return this[RUN](toArgv(argv, 'execute'));
  }

  [RUN](argv, parse) {
    this.#cmds.push(argv.map(toArg));
    this.#parsers.push(parse);
    return this;
  }

  [FAIL](e) {
    throw e;
  }

  /**
   * Sends every queued command and resolves to the replies in order. A failed command rejects
   * the whole exec with its error (the first one; `error.replies` holds every reply), unless
   * `{ raiseOnError: false }`, where its Error stands in its place. The queue is emptied.
   */
  async exec(opts) {
    const raiseOnError = execOptions(opts);
    const cmds = this.#cmds;
    const parsers = this.#parsers;
    this.#cmds = [];
    this.#parsers = [];
    if (cmds.length === 0) return [];
    const replies = await this.#client[PIPE](cmds);
    return finishReplies(replies, parsers, raiseOnError);
  }
}

install(Client);
install(Pipeline);

/** Connects from a URL (see lib/url.js); `opts` win over the URL's query options. */
async function connect(target, opts) {
  const t = url.parse(target);
  if (opts !== undefined && !options.isPlainObject(opts)) {
    throw new TypeError(`options must be a plain object, not ${typeName(opts)}`);
  }
  const merged = { ...t.options, ...opts };
  return open(t.mode, t.mode === 'sentinel' ? addressList('sentinels', t.addresses) : addressList('seeds', t.addresses), t.serviceName, merged);
}

module.exports = { Client, Pipeline, Transaction, Script, connect };
