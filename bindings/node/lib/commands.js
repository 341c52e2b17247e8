'use strict';
// The command methods, written once for Client and Pipeline.
//
// Each entry turns a method's arguments into the command's argument list and, where the raw
// reply needs shaping (a RESP2 flat list -> an object, 1/0 -> boolean...), a parser that works
// for string and Buffer replies and for RESP2 and RESP3. `install` adds every entry to a class
// that has a `[RUN](args, parse)` method. `ts`/`returns` are the TypeScript signature used by
// scripts/gen-dts.js (V is the string type of replies: string, or Buffer with returnBuffers).

const RUN = Symbol('slotwise.run');
const FAIL = Symbol('slotwise.fail');

const FLAGS_SET = ['EX', 'PX', 'NX', 'XX', 'GET'];
const FLAGS_ZADD = ['NX', 'XX', 'GT', 'LT', 'CH'];
const FLAGS_ZRANGE = ['REV', 'WITHSCORES'];

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function flags(cmd, opts, known) {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) {
    throw new TypeError(`${cmd} options must be an object like {${known.join(', ')}}, not ${typeName(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) {
      throw new TypeError(`unknown ${cmd} option '${k}'; known: ${known.join(', ')}`);
    }
  }
  return opts;
}

function positiveInt(cmd, name, v) {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${cmd} ${name} must be an integer, not ${typeName(v)}`);
  }
  if (v <= 0) throw new RangeError(`${cmd} ${name} must be > 0, got ${v}`);
  return v;
}

function integer(cmd, name, v) {
  if (!(typeof v === 'number' && Number.isInteger(v)) && typeof v !== 'bigint') {
    throw new TypeError(`${cmd} ${name} must be an integer, not ${typeName(v)}`);
  }
  return v;
}

function nonEmpty(cmd, items) {
  if (items.length === 0) throw new TypeError(`${cmd} needs at least one value`);
  return items;
}

/** `mget(['a', 'b'])` and `mget('a', 'b')` both mean keys a and b. */
function keys(cmd, args) {
  const list = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  return nonEmpty(cmd, list);
}

/** `{field: value}` or a Map -> [field, value, ...]. */
function pairs(cmd, what, m) {
  const entries = m instanceof Map ? [...m] : m && typeof m === 'object' && !Array.isArray(m) && !Buffer.isBuffer(m) ? Object.entries(m) : null;
  if (!entries) throw new TypeError(`${cmd} ${what} must be an object or a Map, not ${typeName(m)}`);
  if (entries.length === 0) throw new TypeError(`${cmd} ${what} must not be empty`);
  return entries.flat();
}

// --- reply parsers ---

const toBool = (r) => r === 1 || r === true;

/** A RESP3 map is already an object; RESP2 sends [k1, v1, k2, v2, ...]. */
function toObject(r) {
  if (!Array.isArray(r)) return r instanceof Map ? Object.fromEntries(r) : r;
  const o = {};
  for (let i = 0; i + 1 < r.length; i += 2) o[String(r[i])] = r[i + 1];
  return o;
}

/** A score: RESP3 sends a double, RESP2 its text ('1.5', 'inf', '-inf'). */
function toNumber(r) {
  if (r === null || typeof r === 'number') return r;
  const t = String(r).toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  return Number(t);
}

/** ZRANGE WITHSCORES: RESP3 [[m, score], ...], RESP2 [m, score, m, score, ...]. */
function toScored(r) {
  if (r.length > 0 && Array.isArray(r[0])) return r.map(([m, s]) => [m, toNumber(s)]);
  const out = [];
  for (let i = 0; i + 1 < r.length; i += 2) out.push([r[i], toNumber(r[i + 1])]);
  return out;
}

// --- the commands: name -> { build(...args) => [argv, parse?], ts, returns, doc } ---

const COMMANDS = {
  ping: {
    build: () => [['PING']],
    ts: '()',
    returns: 'string',
    doc: "PING: resolves to 'PONG'.",
  },
  get: {
    build: (key) => [['GET', key]],
    ts: '(key: Arg)',
    returns: 'V | null',
    doc: 'GET: the value, or null when the key does not exist.',
  },
  set: {
    build(key, value, opts) {
      const o = flags('set', opts, FLAGS_SET);
      if (o.EX !== undefined && o.PX !== undefined) throw new TypeError('set: pass EX or PX, not both');
      if (o.NX && o.XX) throw new TypeError('set: pass NX or XX, not both');
      const argv = ['SET', key, value];
      if (o.EX !== undefined) argv.push('EX', positiveInt('set', 'EX', o.EX));
      if (o.PX !== undefined) argv.push('PX', positiveInt('set', 'PX', o.PX));
      if (o.NX) argv.push('NX');
      if (o.XX) argv.push('XX');
      if (o.GET) argv.push('GET');
      return [argv];
    },
    ts: '(key: Arg, value: Arg, options?: SetOptions)',
    returns: "'OK' | V | null",
    doc: "SET: 'OK', or null when NX/XX stopped it; with GET the old value (or null).",
  },
  del: {
    build: (...k) => [['DEL', ...keys('del', k)]],
    ts: '(...keys: Arg[] | [Arg[]])',
    returns: 'number',
    doc: 'DEL: how many keys were removed (keys may live on different nodes).',
  },
  exists: {
    build: (...k) => [['EXISTS', ...keys('exists', k)]],
    ts: '(...keys: Arg[] | [Arg[]])',
    returns: 'number',
    doc: 'EXISTS: how many of the keys exist.',
  },
  expire: {
    build: (key, seconds) => [['EXPIRE', key, positiveInt('expire', 'seconds', seconds)], toBool],
    ts: '(key: Arg, seconds: number)',
    returns: 'boolean',
    doc: 'EXPIRE: true when the timeout was set.',
  },
  ttl: {
    build: (key) => [['TTL', key]],
    ts: '(key: Arg)',
    returns: 'number',
    doc: 'TTL: seconds to live; -1 without expiry, -2 when the key does not exist.',
  },
  incr: {
    build: (key) => [['INCR', key]],
    ts: '(key: Arg)',
    returns: 'number',
    doc: 'INCR: the new value.',
  },
  incrBy: {
    build: (key, by) => [['INCRBY', key, integer('incrBy', 'increment', by)]],
    ts: '(key: Arg, increment: number | bigint)',
    returns: 'number',
    doc: 'INCRBY: the new value.',
  },
  decr: {
    build: (key) => [['DECR', key]],
    ts: '(key: Arg)',
    returns: 'number',
    doc: 'DECR: the new value.',
  },
  mget: {
    build: (...k) => [['MGET', ...keys('mget', k)]],
    ts: '(...keys: Arg[] | [Arg[]])',
    returns: 'Array<V | null>',
    doc: 'MGET: the values in order, null for a missing key (keys may live on different nodes).',
  },
  mset: {
    build: (m) => [['MSET', ...pairs('mset', 'argument', m)]],
    ts: '(entries: Record<string, Arg> | Map<Arg, Arg>)',
    returns: "'OK'",
    doc: 'MSET of every entry (keys may live on different nodes; not atomic across nodes).',
  },
  hset: {
    build(key, a, b) {
      const items = b === undefined && a !== null && typeof a === 'object' && !Buffer.isBuffer(a) && !(a instanceof Uint8Array) ? pairs('hset', 'fields', a) : [a, b];
      return [['HSET', key, ...items]];
    },
    ts: '(key: Arg, fields: Record<string, Arg> | Map<Arg, Arg>): Promise<number>;\n  hset(key: Arg, field: Arg, value: Arg)',
    returns: 'number',
    doc: 'HSET of one field or of every entry of an object/Map: how many fields were added.',
  },
  hget: {
    build: (key, field) => [['HGET', key, field]],
    ts: '(key: Arg, field: Arg)',
    returns: 'V | null',
    doc: 'HGET: the field, or null.',
  },
  hgetAll: {
    build: (key) => [['HGETALL', key], toObject],
    ts: '(key: Arg)',
    returns: 'Record<string, V>',
    doc: 'HGETALL as an object (field names as strings, also with returnBuffers).',
  },
  hdel: {
    build: (key, ...fields) => [['HDEL', key, ...nonEmpty('hdel', fields)]],
    ts: '(key: Arg, ...fields: Arg[])',
    returns: 'number',
    doc: 'HDEL: how many fields were removed.',
  },
  lpush: {
    build: (key, ...values) => [['LPUSH', key, ...nonEmpty('lpush', values)]],
    ts: '(key: Arg, ...values: Arg[])',
    returns: 'number',
    doc: 'LPUSH: the length of the list after the push.',
  },
  rpush: {
    build: (key, ...values) => [['RPUSH', key, ...nonEmpty('rpush', values)]],
    ts: '(key: Arg, ...values: Arg[])',
    returns: 'number',
    doc: 'RPUSH: the length of the list after the push.',
  },
  lpop: {
    build: (key, count) => [count === undefined ? ['LPOP', key] : ['LPOP', key, positiveInt('lpop', 'count', count)]],
    ts: '(key: Arg, count?: number)',
    returns: 'V | V[] | null',
    doc: 'LPOP: the first element (null when empty); with count, an array.',
  },
  rpop: {
    build: (key, count) => [count === undefined ? ['RPOP', key] : ['RPOP', key, positiveInt('rpop', 'count', count)]],
    ts: '(key: Arg, count?: number)',
    returns: 'V | V[] | null',
    doc: 'RPOP: the last element (null when empty); with count, an array.',
  },
  lrange: {
    build: (key, start, stop) => [['LRANGE', key, integer('lrange', 'start', start), integer('lrange', 'stop', stop)]],
    ts: '(key: Arg, start: number, stop: number)',
    returns: 'V[]',
    doc: 'LRANGE: the elements from start to stop (inclusive; negative counts from the end).',
  },
  sadd: {
    build: (key, ...members) => [['SADD', key, ...nonEmpty('sadd', members)]],
    ts: '(key: Arg, ...members: Arg[])',
    returns: 'number',
    doc: 'SADD: how many members were added.',
  },
  srem: {
    build: (key, ...members) => [['SREM', key, ...nonEmpty('srem', members)]],
    ts: '(key: Arg, ...members: Arg[])',
    returns: 'number',
    doc: 'SREM: how many members were removed.',
  },
  smembers: {
    build: (key) => [['SMEMBERS', key]],
    ts: '(key: Arg)',
    returns: 'V[]',
    doc: 'SMEMBERS as an array (in no particular order).',
  },
  zadd: {
    build(key, members, opts) {
      const o = flags('zadd', opts, FLAGS_ZADD);
      const entries = members instanceof Map ? [...members] : members && typeof members === 'object' && !Array.isArray(members) ? Object.entries(members) : null;
      if (!entries) throw new TypeError(`zadd members must be an object {member: score} or a Map, not ${typeName(members)}`);
      if (entries.length === 0) throw new TypeError('zadd members must not be empty');
      const argv = ['ZADD', key, ...FLAGS_ZADD.filter((f) => o[f])];
      for (const [member, score] of entries) {
        if (typeof score !== 'number' || Number.isNaN(score)) {
          throw new TypeError(`zadd score of ${JSON.stringify(String(member))} must be a number, not ${typeName(score)}`);
        }
        argv.push(score, member);
      }
      return [argv];
    },
    ts: '(key: Arg, members: Record<string, number> | Map<Arg, number>, options?: ZaddOptions)',
    returns: 'number',
    doc: 'ZADD of {member: score}: how many were added (changed, with CH).',
  },
  zrange: {
    build(key, start, stop, opts) {
      const o = flags('zrange', opts, FLAGS_ZRANGE);
      const argv = ['ZRANGE', key, integer('zrange', 'start', start), integer('zrange', 'stop', stop)];
      if (o.REV) argv.push('REV');
      if (o.WITHSCORES) argv.push('WITHSCORES');
      return o.WITHSCORES ? [argv, toScored] : [argv];
    },
    ts: '(key: Arg, start: number, stop: number, options?: ZrangeOptions)',
    returns: 'V[] | Array<[V, number]>',
    doc: 'ZRANGE by rank; with WITHSCORES, [member, score] pairs.',
  },
  zscore: {
    build: (key, member) => [['ZSCORE', key, member], toNumber],
    ts: '(key: Arg, member: Arg)',
    returns: 'number | null',
    doc: 'ZSCORE as a number, or null.',
  },
  publish: {
    build: (channel, message) => [['PUBLISH', channel, message]],
    ts: '(channel: Arg, message: Arg)',
    returns: 'number',
    doc: 'PUBLISH: how many subscribers received the message (on the node it went to).',
  },
  eval: {
    build: (script, numKeys, ...keysAndArgs) => [['EVAL', script, integer('eval', 'numKeys', numKeys), ...keysAndArgs]],
    ts: '(script: Arg, numKeys: number, ...keysAndArgs: Arg[])',
    returns: 'Reply<V>',
    doc: "EVAL: the script's reply (its keys must share one slot in a cluster).",
  },
  evalsha: {
    build: (sha, numKeys, ...keysAndArgs) => [['EVALSHA', sha, integer('evalsha', 'numKeys', numKeys), ...keysAndArgs]],
    ts: '(sha: Arg, numKeys: number, ...keysAndArgs: Arg[])',
    returns: 'Reply<V>',
    doc: "EVALSHA: the script's reply.",
  },
};

/**
 * Adds every command method to `cls`, whose instances have `[RUN](argv, parse)` and
 * `[FAIL](error)` (what a method returns when its arguments are wrong).
 */
function install(cls) {
  for (const [name, c] of Object.entries(COMMANDS)) {
    const build = c.build;
    Object.defineProperty(cls.prototype, name, {
      value: {
        [name](...args) {
          let built;
          try {
            built = build(...args);
          } catch (e) {
            return this[FAIL](e);
          }
          return this[RUN](built[0], built[1]);
        },
      }[name],
      writable: true,
      configurable: true,
    });
  }
  return cls;
}

module.exports = { COMMANDS, RUN, FAIL, install, toObject };
