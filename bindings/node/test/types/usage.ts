// Compiled by test/package.test.js with `tsc --noEmit --strict`: index.d.ts must describe the
// API as a TypeScript user writes against it.
import {
  Client,
  ClusterDownError,
  connect,
  HealthReport,
  Options,
  Pipeline,
  PubSub,
  Reply,
  SlotwiseError,
  Topology,
  Transaction,
  WatchError,
  version,
} from '../..';

async function main(): Promise<void> {
  const opts: Options = {
    requestTimeout: 2000,
    readFrom: 'preferReplica',
    addressRemap: (a: string) => (a.startsWith('10.') ? null : a),
    resolver: (a: string) => [a],
  };
  const c: Client<string> = await Client.cluster(['127.0.0.1:7000'], opts);
  const b: Client<Buffer> = await Client.standalone('127.0.0.1:6379', { returnBuffers: true });
  const s = await Client.sentinel(['127.0.0.1:26379'], 'mymaster', { sentinelPassword: 'x' });
  const u = await connect('redis+cluster://127.0.0.1:7000');

  const v: string | null = await c.get('k');
  const buf: Buffer | null = await b.get('k');
  const ok: 'OK' | string | null = await c.set('k', 1, { EX: 10, NX: true });
  const n: number = await c.del('a', 'b');
  const n2: number = await c.del(['a', 'b']);
  const e: boolean = await c.expire('k', 5);
  const m: Array<string | null> = await c.mget('a', 'b');
  await c.mset({ a: 1, b: Buffer.from('x') });
  await c.hset('h', { f: 1 });
  await c.hset('h', 'f', 'v');
  const h: Record<string, string> = await c.hgetAll('h');
  const z = await c.zrange('z', 0, -1, { WITHSCORES: true });
  const score: number | null = await c.zscore('z', 'm');
  const raw: Reply<string> = await c.execute(['GET', 'k']);
  const p: Pipeline<string> = c.pipeline().set('a', 1).incr('a').get('a');
  const replies: Reply<string>[] = await p.exec({ raiseOnError: false });
  const tx: Transaction<string> = c.multi();
  await tx.watch('{t}.a');
  const seen: Reply<string> = await tx.query(['GET', '{t}.a']);
  tx.set('{t}.a', 1).incr('{t}.b');
  try {
    const done: Reply<string>[] = await tx.exec();
    console.log(seen, done);
  } catch (err) {
    if (err instanceof WatchError) console.log('retry');
  }
  const script = c.registerScript("return redis.call('GET', KEYS[1])", { readOnly: true });
  const got: Reply<string> = await script.run(['{t}.a'], []);
  console.log(got);
  const ps: PubSub<string> = c.pubsub();
  ps.on('message', (channel: string, message: string) => void [channel, message]);
  ps.on('pmessage', (pattern: string, channel: string, message: string) => void [pattern, channel, message]);
  ps.on('resubscribed', (e) => void [e.subscriptions[0]?.kind, e.interruptedFor]);
  await ps.subscribe('a', Buffer.from('b'));
  await ps.ssubscribe('orders:{1}');
  await ps.unsubscribe();
  const held: number = ps.subscriptionCount;
  ps.close();
  const bps: PubSub<Buffer> = b.pubsub();
  bps.on('smessage', (channel: Buffer, message: Buffer) => void [channel, message, held]);
  const t: Topology = c.topology();
  const health: HealthReport = await c.healthCheck();
  c.on('failover', (f) => console.log(f.oldPrimary, f.newPrimary));
  c.on('nodeFailed', (x) => console.log(x.address, x.permanent));
  c.on('topology', (x) => console.log(x.version, x.slotsMoved));
  try {
    await c.incr('k');
  } catch (err) {
    if (err instanceof ClusterDownError) console.log(err.code, err.numericCode, err.mayHaveRun);
    if (err instanceof SlotwiseError) console.log(err.replies?.length);
  }
  console.log(v, buf, ok, n, n2, e, m, h, z, score, raw, replies, t.coveredSlots, health.healthy, version, s, u);
  c.close();
}

void main;
