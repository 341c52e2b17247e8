'use strict';
// Transaction (client.multi()) and Script (client.registerScript()): thin shells over the
// addon's txStart/txWatch/txQuery/txExec and runScript. The logic (one held connection,
// retry only when certainly not run, NOSCRIPT -> SCRIPT LOAD on that node) is in the core.

const errors = require('./errors.js');
const { RUN, FAIL, install } = require('./commands.js');
const { typeName, toArg, toArgv, execOptions, finishReplies } = require('./args.js');

const TX = Symbol('slotwise.tx');

/**
 * A MULTI/EXEC transaction. Every key (watched or queued) must share one slot. Command methods
 * queue; `query([...])` runs one command now on the held connection (reads after watch).
 * `exec()` resolves to the replies in order, rejects with WatchError when a watched key
 * changed (nothing applied) and with ExecAbortError when a command was refused while
 * queueing (nothing applied). One use: after exec() or discard() start a new one.
 */
class Transaction {
  #tx;
  #call;
  #reset;
  #cmds = [];
  #parsers = [];
  #ended = false;

  constructor(token, nativeTx, call, reset) {
    if (token !== TX) throw new TypeError('create a Transaction with client.multi()');
    this.#tx = nativeTx;
    this.#call = call;
    this.#reset = reset;
  }

  /** How many commands are queued. */
  get length() {
    return this.#cmds.length;
  }

  #live() {
    if (this.#ended) throw new errors.InvalidArgumentError('this transaction already ended (exec or discard); start a new one with client.multi()', 'INVALID_ARGUMENT', 13, false);
  }

  /** WATCHes `keys` on the transaction's connection: exec() applies nothing if one changes. */
  async watch(...keys) {
    this.#live();
    if (this.#cmds.length > 0) throw new errors.InvalidArgumentError('watch() must come before queued commands', 'INVALID_ARGUMENT', 13, false);
    if (keys.length === 0) throw new TypeError('watch needs at least one key');
    const args = keys.map((k, i) => toArg(k, i + 1, ['WATCH']));
    await this.#call(() => undefined, (n, id) => n.txWatch(id, this.#tx, args));
  }

  /** Runs one command now on the transaction's connection, e.g. query(['GET', k]). */
  async query(argv) {
    this.#live();
    const args = toArgv(argv, 'query');
    return this.#call(undefined, (n, id) => n.txQuery(id, this.#tx, args));
  }

  /** Queues one raw command, e.g. execute(['INCR', 'k']). */
  execute(argv) {
    return this[RUN](toArgv(argv, 'execute'));
  }

  [RUN](argv, parse) {
    this.#live();
    this.#cmds.push(argv.map(toArg));
    this.#parsers.push(parse);
    return this;
  }

  [FAIL](e) {
    throw e;
  }

  /** MULTI, the queued commands, EXEC (see the class notes; `{ raiseOnError }` as Pipeline). */
  async exec(opts) {
    const raiseOnError = execOptions(opts);
    this.#live();
    this.#ended = true;
    const cmds = this.#cmds;
    const parsers = this.#parsers;
    this.#cmds = [];
    this.#parsers = [];
    const replies = await this.#call(undefined, (n, id) => n.txExec(id, this.#tx, cmds));
    if (replies === null) {
      throw new errors.WatchError('a watched key changed before EXEC: nothing was applied', 'WATCH', 0, false);
    }
    return finishReplies(replies, parsers, raiseOnError);
  }

  /** Ends the transaction without EXEC (closing its connection, and any WATCH). */
  discard() {
    if (this.#ended) return;
    this.#ended = true;
    this.#cmds = [];
    this.#parsers = [];
    this.#reset();
  }
}

/** A Lua script: `await script.run(keys, args)` (EVALSHA; SCRIPT LOAD where NOSCRIPT). */
class Script {
  #body;
  #readOnly;
  #call;

  constructor(token, body, opts, call) {
    if (token !== TX) throw new TypeError('create a Script with client.registerScript(body)');
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) {
      throw new TypeError(`a script body must be a string or Buffer, not ${typeName(body)}`);
    }
    if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
      throw new TypeError(`script options must be an object, not ${typeName(opts)}`);
    }
    for (const k of Object.keys(opts ?? {})) {
      if (k !== 'readOnly') throw new TypeError(`unknown script option '${k}'; known: readOnly`);
    }
    if (opts?.readOnly !== undefined && typeof opts.readOnly !== 'boolean') {
      throw new TypeError('script option readOnly must be a boolean');
    }
    this.#body = body;
    this.#readOnly = opts?.readOnly ?? false;
    this.#call = call;
  }

  /** Runs the script with `keys` (all in one slot) and `args`; resolves to its reply. */
  run(keys = [], args = []) {
    if (!Array.isArray(keys) || !Array.isArray(args)) {
      return Promise.reject(new TypeError('script.run(keys, args) takes two arrays'));
    }
    let k;
    let a;
    try {
      k = keys.map((x, i) => toArg(x, i + 1, ['script key']));
      a = args.map((x, i) => toArg(x, i + 1, ['script arg']));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#call(undefined, (n, id) => n.runScript(id, this.#body, k, a, this.#readOnly));
  }
}

install(Transaction);

module.exports = { Transaction, Script, TX };
