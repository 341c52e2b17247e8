'use strict';
// One Node client through `make bench-recovery`'s bad day; the same workload and output as
// bench/python/recovery_driver.py (read that file's docstring): unique SET + GET, paced, READY
// once connected, stop on a line on stdin, read back every acknowledged write, one JSON line.
//
//   node bench/node/recovery_driver.js --client ioredis|slotwise --variant default|tuned \
//        --mode cluster|sentinel --seeds H:P,H:P [--service mymaster] [--rate 800]

const path = require('node:path');
const readline = require('node:readline');

const REPO = path.resolve(__dirname, '..', '..');
const TAGS = 32;
const WORKERS = TAGS; // worker w always uses hash tag w
const OP_TIMEOUT_MS = 10_000;
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const deps = process.env.BENCH_NODE_DEPS || path.join(REPO, 'target', 'bench-node');
const hostPort = (s) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) });

/** The client with its defaults, or ('tuned') with the options ioredis's README recommends. */
async function connect(name, variant, mode, seeds, service) {
  if (name === 'slotwise') {
    const { Client } = require(path.join(REPO, 'bindings', 'node'));
    const c = mode === 'sentinel' ? await Client.sentinel(seeds, service) : await Client.cluster(seeds);
    return { c, close: () => c.close() };
  }
  const Redis = require(require.resolve('ioredis', { paths: [deps] }));
  const tuned = variant === 'tuned';
  // README: reconnect on READONLY (the master moved), retry on failover / cluster down.
  const readonly = (err) => (err.message.startsWith('READONLY') ? 2 : false);
  if (mode === 'sentinel') {
    const o = { sentinels: seeds.map(hostPort), name: service };
    if (tuned) Object.assign(o, { reconnectOnError: readonly, connectTimeout: 1000, sentinelRetryStrategy: (t) => Math.min(t * 50, 1000) });
    const c = new Redis(o);
    return { c, close: () => c.disconnect() };
  }
  const o = tuned
    ? { retryDelayOnFailover: 100, retryDelayOnClusterDown: 100, retryDelayOnTryAgain: 100, slotsRefreshTimeout: 1000,
        clusterRetryStrategy: (t) => Math.min(100 * t, 1000), redisOptions: { connectTimeout: 1000, reconnectOnError: readonly } }
    : {};
  const c = new Redis.Cluster(seeds.map(hostPort), o);
  return { c, close: () => c.disconnect() };
}

const withTimeout = (p) => {
  let timer;
  return Promise.race([p, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error('bench timeout')), OP_TIMEOUT_MS); })])
    .finally(() => clearTimeout(timer));
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const name = opt('client');
  const variant = opt('variant', 'default');
  const mode = opt('mode', 'cluster');
  const rate = Number(opt('rate', 800));
  const label = opt('label', `${name}-${variant}`);
  const { c, close } = await connect(name, variant, mode, opt('seeds').split(','), opt('service', 'mymaster'));
  const buckets = new Map();
  const tagBuckets = new Map();
  const tagBucket = (tag, t) => {
    const k = `${tag} ${Math.floor(t * 10)}`;
    if (!tagBuckets.has(k)) tagBuckets.set(k, [0, 0]);
    return tagBuckets.get(k);
  };
  const lastErr = new Map();
  const okAfter = new Map();
  const errors = {};
  const acked = [];
  let failed = 0;
  let firstError = null;
  let firstErrT = null;
  let lastErrT = null;
  let stopping = false;
  const bucket = (t) => {
    const k = Math.floor(t * 10);
    if (!buckets.has(k)) buckets.set(k, [0, 0]);
    return buckets.get(k);
  };
  const ok = (tag) => {
    const t = Date.now() / 1000;
    bucket(t)[0] += 1;
    tagBucket(tag, t)[0] += 1;
    if (lastErr.has(tag) && okAfter.get(tag) == null) okAfter.set(tag, t);
  };
  const err = (tag, e) => {
    const t = Date.now() / 1000;
    bucket(t)[1] += 1;
    tagBucket(tag, t)[1] += 1;
    failed += 1;
    const type = e?.name || 'Error';
    errors[type] = (errors[type] || 0) + 1;
    firstError ??= `${type}: ${String(e?.message ?? e)}`.slice(0, 160);
    firstErrT ??= t;
    lastErrT = t;
    lastErr.set(tag, t);
    okAfter.set(tag, null);
  };
  const interval = (WORKERS / rate) * 1000;
  const worker = async (w) => {
    let next = performance.now();
    for (let n = 0; !stopping; n++) {
      const tag = w;
      const key = `rec:${label}:{t${tag}}:${w}:${n}`;
      const value = `${w}:${n}`;
      try {
        await withTimeout(c.set(key, value));
        acked.push([key, value]);
        ok(tag);
        const got = await withTimeout(c.get(key));
        if (got == null || String(got) !== value) throw new Error('read-your-write: wrong value');
        ok(tag);
      } catch (e) {
        err(tag, e);
      }
      next += interval;
      await sleep(Math.max(0, next - performance.now()));
      next = Math.max(next, performance.now() - 1000);
    }
  };
  await c.set(`rec:${label}:ready`, '1');
  process.stdout.write('READY\n');
  const rl = readline.createInterface({ input: process.stdin });
  const stopLine = new Promise((r) => rl.once('line', r));
  const tasks = Array.from({ length: WORKERS }, (_, w) => worker(w));
  await stopLine;
  rl.close();
  stopping = true;
  await Promise.all(tasks);

  let lost = 0;
  let unreadable = 0;
  for (let i = 0; i < acked.length; i += 64) {
    await Promise.all(acked.slice(i, i + 64).map(async ([k, v]) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          const got = await withTimeout(c.get(k));
          if (got == null || String(got) !== v) lost += 1;
          return;
        } catch {
          await sleep(200 * (attempt + 1));
        }
      }
      unreadable += 1;
    }));
  }
  const recovered = [...lastErr.keys()].every((t) => okAfter.get(t) != null);
  const served = [...okAfter.values()].filter((t) => t != null);
  process.stdout.write(`${JSON.stringify({
    label, client: `${name} (node)`, variant, failed, errors_by_type: errors, first_error: firstError,
    first_error_t: firstErrT, last_error_t: lastErrT, served_again_t: lastErr.size && served.length ? Math.max(...served) : null,
    recovered, acked: acked.length, lost, unreadable,
    timeline: [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [k / 10, v[0], v[1]]),
    tag_timeline: [...tagBuckets.entries()].map(([k, v]) => {
      const [tag, b] = k.split(' ').map(Number);
      return [tag, b / 10, v[0], v[1]];
    }),
  })}\n`);
  await close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
