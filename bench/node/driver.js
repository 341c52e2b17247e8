'use strict';
// One Node client's run for `make bench` (bench/run.py starts one process per run, so peak RSS
// is that client's alone): GET/SET 80/20 on the preloaded keys, C concurrent loops, one JSON
// line out (ops, errors, seconds, ops_per_sec, p50_us, p99_us). Not a test.
//
//   node bench/node/driver.js --client slotwise|ioredis|valkey-glide --seeds H:P,H:P \
//        [--seconds 3] [--concurrency 50] [--size 100]
//
// Peers load from $BENCH_NODE_DEPS/node_modules (default target/bench-node), never from the
// slotwise package's own dependencies.

const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const KEYS = 10_000;
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const deps = process.env.BENCH_NODE_DEPS || path.join(REPO, 'target', 'bench-node');
const peer = (name) => require(require.resolve(name, { paths: [deps] }));
const hostPort = (s) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) });

/** Connects `name`; returns { get, set, close }. */
async function connect(name, seeds) {
  if (name === 'slotwise') {
    const c = await require(path.join(REPO, 'bindings', 'node')).Client.cluster(seeds);
    return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), close: () => c.close() };
  }
  if (name === 'ioredis') {
    const Redis = peer('ioredis');
    const c = new Redis.Cluster(seeds.map(hostPort));
    await c.get('bench:warm');
    return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), close: () => c.disconnect() };
  }
  if (name === 'valkey-glide') {
    const { GlideClusterClient } = peer('@valkey/valkey-glide');
    const c = await GlideClusterClient.createClient({ addresses: seeds.map(hostPort) });
    return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), close: () => c.close() };
  }
  throw new Error(`unknown client ${name}`);
}

async function main() {
  const name = opt('client');
  const seeds = (opt('seeds') || '').split(',').filter(Boolean);
  if (!name || seeds.length === 0) throw new Error('usage: driver.js --client NAME --seeds H:P[,H:P]');
  const seconds = Number(opt('seconds', 3));
  const conc = Math.max(1, Number(opt('concurrency', 1)));
  const size = Number(opt('size', 100));
  const prefix = `bench:${size}:`;
  const value = Buffer.alloc(size, 'x');
  const c = await connect(name, seeds);
  const lat = [];
  let errors = 0;
  let firstError = null;
  const now = process.hrtime.bigint;
  const end = now() + BigInt(Math.round(seconds * 1e9));
  const loop = async (w) => {
    for (let i = w; ; i++) {
      const t = now();
      if (t >= end) return;
      const key = prefix + ((i * 7919) % KEYS);
      try {
        await (i % 5 === 0 ? c.set(key, value) : c.get(key));
        lat.push(Number(now() - t));
      } catch (e) {
        firstError ??= String(e?.message ?? e).slice(0, 200);
        errors += 1;
      }
    }
  };
  const start = now();
  await Promise.all(Array.from({ length: conc }, (_, w) => loop(w)));
  const secs = Number(now() - start) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.round((lat.length - 1) * p)] / 1000 : 0);
  process.stdout.write(`${JSON.stringify({ ops: lat.length, errors, seconds: secs, ops_per_sec: lat.length / secs, p50_us: pct(0.5), p99_us: pct(0.99), first_error: firstError })}\n`);
  await c.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
