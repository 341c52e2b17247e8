'use strict';
// Argument conversion and exec() reply handling shared by Client, Pipeline and Transaction.

const errors = require('./errors.js');

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

/** One argument as the addon takes it: a string or a Buffer. */
function toArg(a, i, argv) {
  if (typeof a === 'string' || Buffer.isBuffer(a)) return a;
  if (typeof a === 'number') {
    if (Number.isFinite(a)) return String(a);
    if (a === Infinity) return '+inf';
    if (a === -Infinity) return '-inf';
  }
  if (typeof a === 'bigint') return a.toString();
  if (a instanceof Uint8Array) return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const at = i === 0 ? 'the command name' : `${typeof argv[0] === 'string' ? argv[0].toUpperCase() : 'command'} argument ${i}`;
  const what = typeof a === 'number' ? 'NaN' : typeName(a);
  throw new TypeError(`${at} must be a string, Buffer, number or bigint, not ${what}`);
}

function toArgv(argv, what) {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new TypeError(`${what} needs a non-empty array [command, ...args], not ${typeName(argv)}`);
  }
  return argv.map(toArg);
}

/** The `{ raiseOnError }` option of exec(), checked; true by default. */
function execOptions(opts) {
  if (opts === undefined) return true;
  if (opts === null || typeof opts !== 'object') throw new TypeError(`exec options must be an object, not ${typeName(opts)}`);
  for (const k of Object.keys(opts)) {
    if (k !== 'raiseOnError') throw new TypeError(`unknown exec option '${k}'; known: raiseOnError`);
  }
  if (opts.raiseOnError === undefined) return true;
  if (typeof opts.raiseOnError !== 'boolean') throw new TypeError('exec option raiseOnError must be a boolean');
  return opts.raiseOnError;
}

/**
 * Applies each command's parser to its reply; the first failure (an Error reply or a parser
 * error) is thrown with `error.replies` when `raiseOnError`, else left in its place.
 */
function finishReplies(replies, parsers, raiseOnError) {
  let first = null;
  for (let i = 0; i < replies.length; i++) {
    const r = replies[i];
    if (r instanceof errors.SlotwiseError) {
      first ??= r;
    } else if (parsers[i] !== undefined) {
      try {
        replies[i] = parsers[i](r);
      } catch (e) {
        replies[i] = e;
        first ??= e;
      }
    }
  }
  if (raiseOnError && first !== null) {
    first.replies = replies;
    throw first;
  }
  return replies;
}

module.exports = { typeName, toArg, toArgv, execOptions, finishReplies };
