'use strict';
// PubSub: subscriptions on dedicated connections that follow failovers, node losses, Sentinel
// switches and slot moves (the core's PubSub). An EventEmitter like ioredis's subscriber:
//   'message'      (channel, message)
//   'pmessage'     (pattern, channel, message)
//   'smessage'     (channel, message)            sharded channels (SSUBSCRIBE)
//   'resubscribed' ({ subscriptions: [{ kind, channel }], interruptedFor })
//                  subscriptions are back after an interruption: messages published meanwhile
//                  may have been missed; one event per interruption, never one per retry
//   'dropped'      ({ count })  the application fell `pubsubQueue` messages behind
//   'subscribe' / 'unsubscribe' ({ kind, channel, count }) confirmations
// A PubSub with subscriptions keeps the process alive until close().

const { EventEmitter } = require('node:events');
const errors = require('./errors.js');

const EVENTS = {
  message: (p) => [p.channel, p.message],
  smessage: (p) => [p.channel, p.message],
  pmessage: (p) => [p.pattern, p.channel, p.message],
  subscribed: (p) => ['subscribe', p],
  unsubscribed: (p) => ['unsubscribe', p],
  resubscribed: (p) => [p],
  dropped: (p) => [p],
};

function names(what, list) {
  return list.map((n, i) => {
    if (typeof n === 'string' || Buffer.isBuffer(n)) return n;
    throw new TypeError(`${what}: channel ${i} must be a string or Buffer, not ${n === null ? 'null' : typeof n}`);
  });
}

class PubSub extends EventEmitter {
  #native;
  #calls;
  #closed = false;

  /** Use client.pubsub(). */
  constructor(makeNative, calls) {
    super();
    this.#calls = calls;
    const weak = new WeakRef(this);
    this.#native = makeNative((name, payload) => {
      const self = weak.deref();
      const shape = EVENTS[name];
      if (self === undefined || shape === undefined) return;
      const args = shape(payload);
      if (name === 'subscribed' || name === 'unsubscribed') self.emit(...args);
      else self.emit(name, ...args);
    });
  }

  #run(op, kind, list) {
    if (this.#closed) return Promise.reject(errors.closedError());
    let argv;
    try {
      argv = names(op, list);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#calls.run(undefined, (id) => this.#native[op](id, kind, argv));
  }

  /** Resolves once the server confirmed every channel. */
  subscribe(...channels) { return this.#run('subscribe', 'channel', channels); }
  psubscribe(...patterns) { return this.#run('subscribe', 'pattern', patterns); }
  /** Sharded channels (Redis 7): each served by the shard owning its slot. */
  ssubscribe(...channels) { return this.#run('subscribe', 'sharded', channels); }
  /** No message of the channels is emitted after this resolves; none named: every one. */
  unsubscribe(...channels) { return this.#run('unsubscribe', 'channel', channels); }
  punsubscribe(...patterns) { return this.#run('unsubscribe', 'pattern', patterns); }
  sunsubscribe(...channels) { return this.#run('unsubscribe', 'sharded', channels); }

  /** Subscriptions held. */
  get subscriptionCount() {
    return this.#native.subscriptionCount;
  }

  /** Closes the connections and lets the process go. Idempotent. */
  close() {
    this.#closed = true;
    this.#native.close();
  }
}

module.exports = { PubSub };
