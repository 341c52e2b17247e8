'use strict';
// 50-concurrent GET/SET throughput: slotwise vs ioredis's Cluster client, on the same 3x1
// cluster, in the same run, as a ratio. Not a test: it prints numbers and gates nothing.
//
//   make bench-node            (installs ioredis into target/bench-node, builds the addon)
//   node bench/node/ops.js [--seconds 5] [--concurrency 50] [--rounds 2]
//
// ioredis is loaded from $BENCH_NODE_DEPS/node_modules (default target/bench-node), never
// from the slotwise package's own dependencies.

const path = require('node:path');
const { execFileSync } = require('node:child_process');

const REPO = path.resolve(__dirname, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = opt('seconds', 5);
const CONCURRENCY = opt('concurrency', 50);
const ROUNDS = opt('rounds', 2);

const deps = process.env.BENCH_NODE_DEPS || path.join(REPO, 'target', 'bench-node');
const Redis = require(require.resolve('ioredis', { paths: [deps] }));
const slotwise = require(path.join(REPO, 'bindings', 'node'));
const HARNESS = path.join(REPO, 'tests', 'harness', 'slotwise_harness.py');
process.env.SLOTWISE_HARNESS_ROOT ??= path.join(REPO, 'target', 'slotwise-harness');

const harness = (...a) => JSON.parse(execFileSync('python3', [HARNESS, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));

/** CONCURRENCY loops of SET k v; GET k over 10,000 keys (every slot range) for `seconds`. */
async function run(name, set, get, seconds) {
  let ops = 0;
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const loop = async (w) => {
    for (let i = 0; Date.now() < end; i++) {
      const key = `bench:${(w * 7919 + i) % 10_000}`;
      try {
        await set(key, 'v');
        await get(key);
        ops += 2;
      } catch {
        errors += 1;
      }
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => loop(w)));
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = ops / secs;
  console.log(`${name.padEnd(9)} ${Math.round(rate).toString().padStart(8)} ops/s  (${ops} ops, ${errors} errors, ${secs.toFixed(2)} s)`);
  return rate;
}

async function main() {
  const cluster = harness('start-cluster', '--primaries', '3', '--replicas', '1');
  let sw;
  let io;
  try {
    const seeds = cluster.seeds;
    sw = await slotwise.Client.cluster(seeds);
    io = new Redis.Cluster(seeds.map((s) => ({ host: s.slice(0, s.lastIndexOf(':')), port: Number(s.slice(s.lastIndexOf(':') + 1)) })));
    await io.set('bench:warm', 'v');
    console.log(`node ${process.version}, ioredis ${require(require.resolve('ioredis/package.json', { paths: [deps] })).version}, slotwise ${slotwise.version}; ${CONCURRENCY} concurrent, ${SECONDS} s per run, 3x1 cluster`);
    // Warm both (connections, JIT), then alternate so neither always runs on a cooler machine.
    await run('warm-sw', (k, v) => sw.set(k, v), (k) => sw.get(k), 1);
    await run('warm-io', (k, v) => io.set(k, v), (k) => io.get(k), 1);
    const rates = { slotwise: [], ioredis: [] };
    for (let r = 0; r < ROUNDS; r++) {
      rates.slotwise.push(await run('slotwise', (k, v) => sw.set(k, v), (k) => sw.get(k), SECONDS));
      rates.ioredis.push(await run('ioredis', (k, v) => io.set(k, v), (k) => io.get(k), SECONDS));
    }
    const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [s, i] = [mean(rates.slotwise), mean(rates.ioredis)];
    console.log(`mean: slotwise ${Math.round(s)} ops/s, ioredis ${Math.round(i)} ops/s, ratio slotwise/ioredis = ${(s / i).toFixed(2)}`);
  } finally {
    sw?.close();
    io?.disconnect();
    harness('stop', '--dir', cluster.dir);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
