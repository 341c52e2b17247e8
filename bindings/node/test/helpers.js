'use strict';
// Shared test helpers: real servers from the harness CLI (tests/harness), redis-cli for what
// the client itself refuses to send, unique keys, polling.

const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..', '..');
const HARNESS = path.join(REPO, 'tests', 'harness', 'slotwise_harness.py');
process.env.SLOTWISE_HARNESS_ROOT ??= path.join(REPO, 'target', 'slotwise-harness');

/** Runs one harness command and returns its JSON. */
function harness(...args) {
  const out = execFileSync('python3', [HARNESS, ...args], {
    encoding: 'utf8',
    timeout: 180_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out);
}

/**
 * A deployment for one test file: started in a `before` hook, stopped in an `after` hook
 * (always, pass or fail). Read it as `d.info` inside tests.
 */
function deployment(kind, ...args) {
  const { before, after } = require('node:test');
  const d = { info: null };
  before(() => {
    d.info = harness(`start-${kind}`, ...args);
  });
  after(() => {
    if (d.info) harness('stop', '--dir', d.info.dir);
  });
  return d;
}

function redisCli(address, ...args) {
  const i = address.lastIndexOf(':');
  return execFileSync('redis-cli', ['-h', address.slice(0, i).replace(/^\[|\]$/g, ''), '-p', address.slice(i + 1), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  }).trim();
}

const addr = (n) => `${n.host}:${n.port}`;

/** A function giving unique key names, so tests sharing servers never see each other's data. */
function keys() {
  const tag = crypto.randomBytes(4).toString('hex');
  return (name) => `t:${tag}:${name}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

module.exports = { REPO, harness, deployment, redisCli, addr, keys, sleep, waitUntil };
