'use strict';
// Client options: checked here, with a TypeError (wrong type, unknown name) or a RangeError
// (a value that cannot work) naming the option, then handed to the addon. Meanings are the
// core's (slotwise::Options); durations are milliseconds.

const READ_FROM = ['primary', 'preferReplica', 'replicasRoundRobin', 'lowestLatency'];

/** Longest accepted duration: anything longer is a unit mistake, not a wish (one day). */
const MAX_MS = 86_400_000;

const KNOWN = [
  'requestTimeout',
  'connectTimeout',
  'readFrom',
  'addressRemap',
  'resolver',
  'username',
  'password',
  'sentinelUsername',
  'sentinelPassword',
  'clientName',
  'db',
  'protocol',
  'returnBuffers',
  'tls',
  'pubsubQueue',
  'pubsubHeartbeat',
];

const TLS_KEYS = ['caFile', 'certFile', 'keyFile', 'serverName', 'insecureSkipVerify'];

/** `tls: true | { caFile, certFile, keyFile, serverName, insecureSkipVerify }`. */
function tlsOption(v) {
  if (v === true) return {};
  if (v === false) return undefined;
  if (!isPlainObject(v)) {
    throw new TypeError(`option tls must be a boolean or an object {caFile, certFile, keyFile, serverName, insecureSkipVerify}, not ${typeName(v)}`);
  }
  const out = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined) continue;
    if (!TLS_KEYS.includes(k)) {
      throw new TypeError(`unknown option 'tls.${k}'; known: ${TLS_KEYS.join(', ')}`);
    }
    if (k === 'insecureSkipVerify') {
      if (typeof x !== 'boolean') throw new TypeError(`option tls.insecureSkipVerify must be a boolean, not ${typeName(x)}`);
      out[k] = x;
    } else {
      out[k] = text(`tls.${k}`, x);
    }
  }
  if ((out.certFile === undefined) !== (out.keyFile === undefined)) {
    throw new TypeError('options tls.certFile and tls.keyFile go together');
  }
  return out;
}

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function duration(name, v) {
  if (typeof v !== 'number') {
    throw new TypeError(`option ${name} must be a number of milliseconds, not ${typeName(v)}`);
  }
  if (!Number.isFinite(v) || v <= 0 || v > MAX_MS) {
    throw new RangeError(`option ${name} must be > 0 and at most ${MAX_MS} ms, got ${v}`);
  }
  return v;
}

function text(name, v) {
  if (typeof v !== 'string') {
    throw new TypeError(`option ${name} must be a string, not ${typeName(v)}`);
  }
  return v;
}

function integer(name, v, min, max) {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`option ${name} must be an integer, not ${typeName(v)}${typeof v === 'number' ? ` (${v})` : ''}`);
  }
  if (v < min || v > max) {
    throw new RangeError(`option ${name} must be from ${min} to ${max}, got ${v}`);
  }
  return v;
}

const ADDRESS = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/;

/** Checks one `host:port` (`[v6]:port`) address; `what` names it in the message. */
function address(what, v) {
  if (typeof v !== 'string') {
    throw new TypeError(`${what} must be a 'host:port' string, not ${typeName(v)}`);
  }
  const m = ADDRESS.exec(v);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    throw new RangeError(`${what} must be 'host:port' with a port from 1 to 65535, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * Checks `opts` for one mode ('cluster' | 'standalone' | 'sentinel'). Returns the addon's
 * options and the two callbacks apart (they cross as functions, not option values).
 */
function parse(opts, mode) {
  if (opts === undefined || opts === null) opts = {};
  if (!isPlainObject(opts)) {
    throw new TypeError(`options must be a plain object, not ${typeName(opts)}`);
  }
  const native = {};
  let addressRemap;
  let resolver;
  for (const [name, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    switch (name) {
      case 'requestTimeout':
      case 'connectTimeout':
        native[name] = duration(name, v);
        break;
      case 'username':
      case 'password':
      case 'sentinelUsername':
      case 'sentinelPassword':
        native[name] = text(name, v);
        break;
      case 'clientName':
        native.clientName = text(name, v);
        if (/\s/.test(v) || v === '') {
          throw new RangeError('option clientName must be non-empty and have no spaces or newlines');
        }
        break;
      case 'db':
        native.db = integer(name, v, 0, 2 ** 32 - 1);
        if (mode === 'cluster' && v !== 0) {
          throw new RangeError('option db must be 0 in cluster mode (Redis Cluster has only database 0)');
        }
        break;
      case 'protocol':
        native.protocol = integer(name, v, 2, 3);
        break;
      case 'pubsubQueue':
        native.pubsubQueue = integer(name, v, 1, 2 ** 30);
        break;
      case 'pubsubHeartbeat':
        // 0 turns the heartbeat off.
        native.pubsubHeartbeat = v === 0 ? 0 : duration(name, v);
        break;
      case 'readFrom':
        if (typeof v !== 'string') {
          throw new TypeError(`option readFrom must be a string, not ${typeName(v)}`);
        }
        if (!READ_FROM.includes(v)) {
          throw new RangeError(`option readFrom must be one of ${READ_FROM.map((r) => `'${r}'`).join(', ')}; got ${JSON.stringify(v)}`);
        }
        native.readFrom = v;
        break;
      case 'tls': {
        const t = tlsOption(v);
        if (t !== undefined) native.tls = t;
        break;
      }
      case 'returnBuffers':
        if (typeof v !== 'boolean') {
          throw new TypeError(`option returnBuffers must be a boolean, not ${typeName(v)}`);
        }
        native.returnBuffers = v;
        break;
      case 'addressRemap':
        if (typeof v === 'function') {
          addressRemap = remapFunction(v);
        } else if (isPlainObject(v) || v instanceof Map) {
          const map = {};
          for (const [from, to] of v instanceof Map ? v : Object.entries(v)) {
            address(`option addressRemap key ${JSON.stringify(from)}`, from);
            map[from] = address(`option addressRemap[${JSON.stringify(from)}]`, to);
          }
          native.addressMap = map;
        } else {
          throw new TypeError(`option addressRemap must be an object {'host:port': 'host:port'}, a Map or a function, not ${typeName(v)}`);
        }
        break;
      case 'resolver':
        if (typeof v !== 'function') {
          throw new TypeError(`option resolver must be a function (addr) => ['host:port', ...], not ${typeName(v)}`);
        }
        resolver = resolverFunction(v);
        break;
      default:
        throw new TypeError(`unknown option '${name}'; known options: ${KNOWN.join(', ')}`);
    }
  }
  return { native, addressRemap, resolver, returnBuffers: native.returnBuffers === true };
}

// The core calls these synchronously from its own thread and waits (at most connectTimeout)
// for the JS thread to answer. A Promise is not an answer: the wrappers say so instead of
// letting the core read it as "keep the address".
function remapFunction(fn) {
  return (addr) => {
    const r = fn(addr);
    if (r === null || r === undefined) return null;
    if (typeof r !== 'string') {
      throw new TypeError(`addressRemap must return 'host:port' or null synchronously, not ${typeName(r)}`);
    }
    return r;
  };
}

function resolverFunction(fn) {
  return (addr) => {
    const r = fn(addr);
    if (!Array.isArray(r) || !r.every((a) => typeof a === 'string')) {
      throw new TypeError(`resolver must return an array of 'host:port' strings synchronously, not ${typeName(r)}`);
    }
    return r;
  };
}

module.exports = { parse, address, typeName, isPlainObject };
