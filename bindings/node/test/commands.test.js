'use strict';
// Every command method, raw execute, value conversion (strings, Buffers, RESP2 and RESP3),
// pipelines across slots, 10,000 concurrent calls, healthCheck, topology, metrics and URLs,
// against a real 3x1 cluster and a real standalone server.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const slotwise = require('..');
const { Client, connect } = slotwise;
const { deployment, keys } = require('./helpers.js');

const cluster = deployment('cluster', '--primaries', '3', '--replicas', '1');
const server = deployment('standalone');
const k = keys();
let c; // cluster client (RESP3, strings)
let c2; // cluster client (RESP2)
let cb; // cluster client (Buffers)

before(async () => {
  const seeds = cluster.info.seeds;
  [c, c2, cb] = await Promise.all([
    Client.cluster(seeds, { requestTimeout: 5000 }),
    Client.cluster(seeds, { protocol: 2 }),
    Client.cluster(seeds[0], { returnBuffers: true }),
  ]);
});

after(() => {
  for (const x of [c, c2, cb]) x?.close();
});

describe('strings and keys', () => {
  it('get / set with EX, PX, NX, XX, GET', async () => {
    assert.equal(await c.get(k('none')), null);
    assert.equal(await c.set(k('s'), 'v1'), 'OK');
    assert.equal(await c.get(k('s')), 'v1');
    assert.equal(await c.set(k('s'), 'v2', { NX: true }), null);
    assert.equal(await c.set(k('s'), 'v3', { XX: true, GET: true }), 'v1');
    assert.equal(await c.set(k('new'), 'v', { XX: true }), null);
    assert.equal(await c.set(k('ex'), 'v', { EX: 100 }), 'OK');
    const ttl = await c.ttl(k('ex'));
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
    assert.equal(await c.set(k('px'), 'v', { PX: 50_000 }), 'OK');
    assert.ok((await c.ttl(k('px'))) > 40);
    assert.equal(await c.ttl(k('s')), -1);
    assert.equal(await c.ttl(k('none')), -2);
  });

  it('del, exists, expire over keys on different nodes', async () => {
    const ks = ['a', 'b', 'c', 'd', 'e', 'f'].map(k);
    await c.mset(Object.fromEntries(ks.map((x) => [x, x])));
    assert.equal(await c.exists(...ks, k('none')), 6);
    assert.equal(await c.exists(ks), 6);
    assert.equal(await c.expire(ks[0], 100), true);
    assert.equal(await c.expire(k('none'), 100), false);
    assert.equal(await c.del(ks.slice(0, 3)), 3);
    assert.equal(await c.del(...ks), 3);
    assert.equal(await c.exists(...ks), 0);
  });

  it('incr, incrBy, decr; numbers and bigints as arguments', async () => {
    assert.equal(await c.incr(k('n')), 1);
    assert.equal(await c.incrBy(k('n'), 41), 42);
    assert.equal(await c.incrBy(k('n'), -2n), 40);
    assert.equal(await c.decr(k('n')), 39);
    await c.set(k('big'), 2n ** 62n);
    assert.equal(await c.incr(k('big')), 2n ** 62n + 1n, 'beyond 2^53 an integer reply is a bigint');
    await c.set(k('f'), 1.5);
    assert.equal(await c.get(k('f')), '1.5');
  });

  it('mget and mset across slots, in order, null for missing', async () => {
    const entries = new Map(Array.from({ length: 20 }, (_, i) => [k(`m${i}`), `v${i}`]));
    assert.equal(await c.mset(entries), 'OK');
    const names = [...entries.keys(), k('missing')];
    assert.deepEqual(await c.mget(names), [...entries.values(), null]);
    assert.deepEqual(await c.mget(...names), [...entries.values(), null]);
  });
});

describe('hashes, lists, sets, sorted sets', () => {
  it('hset, hget, hgetAll, hdel (RESP3 and RESP2 give the same shapes)', async () => {
    for (const x of [c, c2]) {
      const h = k(`h${x === c ? 3 : 2}`);
      assert.equal(await x.hset(h, 'f1', 'a'), 1);
      assert.equal(await x.hset(h, { f2: 'b', f3: 3 }), 2);
      assert.equal(await x.hset(h, new Map([['f4', Buffer.from('d')]])), 1);
      assert.equal(await x.hget(h, 'f3'), '3');
      assert.equal(await x.hget(h, 'nope'), null);
      assert.deepEqual(await x.hgetAll(h), { f1: 'a', f2: 'b', f3: '3', f4: 'd' });
      assert.equal(await x.hdel(h, 'f1', 'f2', 'nope'), 2);
      assert.deepEqual(await x.hgetAll(k('nohash')), {});
    }
  });

  it('lpush, rpush, lpop, rpop, lrange', async () => {
    const l = k('list');
    assert.equal(await c.rpush(l, 'b', 'c'), 2);
    assert.equal(await c.lpush(l, 'a'), 3);
    assert.deepEqual(await c.lrange(l, 0, -1), ['a', 'b', 'c']);
    assert.equal(await c.lpop(l), 'a');
    assert.equal(await c.rpop(l), 'c');
    await c.rpush(l, 'x', 'y', 'z');
    assert.deepEqual(await c.lpop(l, 2), ['b', 'x']);
    assert.deepEqual(await c.rpop(l, 5), ['z', 'y']);
    assert.equal(await c.lpop(l), null);
  });

  it('sadd, srem, smembers', async () => {
    const s = k('set');
    assert.equal(await c.sadd(s, 'a', 'b', 'c', 'a'), 3);
    assert.equal(await c.srem(s, 'b', 'zz'), 1);
    assert.deepEqual((await c.smembers(s)).sort(), ['a', 'c']);
    assert.deepEqual((await c2.smembers(s)).sort(), ['a', 'c']);
  });

  it('zadd with options, zrange (REV, WITHSCORES), zscore', async () => {
    const z = k('z');
    assert.equal(await c.zadd(z, { a: 1, b: 2.5, c: -Infinity }), 3);
    assert.equal(await c.zadd(z, { a: 5 }, { XX: true, CH: true }), 1);
    assert.equal(await c.zadd(z, { a: 1 }, { GT: true }), 0);
    assert.deepEqual(await c.zrange(z, 0, -1), ['c', 'b', 'a']);
    assert.deepEqual(await c.zrange(z, 0, 0, { REV: true }), ['a']);
    for (const x of [c, c2]) {
      assert.deepEqual(await x.zrange(z, 0, -1, { WITHSCORES: true }), [['c', -Infinity], ['b', 2.5], ['a', 5]]);
      assert.equal(await x.zscore(z, 'b'), 2.5);
      assert.equal(await x.zscore(z, 'nope'), null);
    }
  });

  it('publish, eval, evalsha, ping', async () => {
    assert.equal(await c.publish(k('chan'), 'hello'), 0);
    assert.deepEqual(await c.eval('return {KEYS[1], ARGV[1], 7}', 1, k('e'), 'arg'), [k('e'), 'arg', 7]);
    const sha = await c.execute(['SCRIPT', 'LOAD', 'return redis.call("INCR", KEYS[1])']);
    // SCRIPT LOAD goes to every primary, so EVALSHA works wherever the key lives.
    assert.equal(await c.evalsha(sha, 1, k('es')), 1);
    assert.equal(await c.ping(), 'PONG');
  });
});

describe('values', () => {
  it('Buffers in and out, binary safe', async () => {
    const bytes = Buffer.from([0, 255, 1, 128, 10, 13]);
    await c.set(k('bin'), bytes);
    const got = await cb.get(k('bin'));
    assert.ok(Buffer.isBuffer(got));
    assert.deepEqual(got, bytes);
    assert.equal(cb.returnBuffers, true);
    assert.equal(await cb.set(k('bin2'), new Uint8Array([1, 2, 3])), 'OK', 'status replies stay strings');
    assert.deepEqual(await cb.get(k('bin2')), Buffer.from([1, 2, 3]));
    await cb.hset(k('hb'), { f: 'v' });
    assert.deepEqual(await cb.hgetAll(k('hb')), { f: Buffer.from('v') });
    assert.deepEqual(await cb.mget(k('bin2'), k('none')), [Buffer.from([1, 2, 3]), null]);
  });

  it('RESP3 types: maps to objects, doubles to numbers, booleans, nil to null, nested errors', async () => {
    await c.zadd(k('zd'), { m: 1.25 });
    assert.equal(await c.execute(['ZSCORE', k('zd'), 'm']), 1.25, 'RESP3 double');
    assert.equal(await c2.execute(['ZSCORE', k('zd'), 'm']), '1.25', 'RESP2 bulk string');
    assert.equal(await c.eval('return true', 0), 1);
    assert.deepEqual(await c.eval("redis.setresp(3); return {map={a=1, b='x'}}", 0), { a: 1, b: 'x' });
    assert.equal(await c.eval("redis.setresp(3); return {double=3.5}", 0), 3.5);
    assert.equal(await c.eval("redis.setresp(3); return true", 0), true);
    assert.equal(await c.eval("redis.setresp(3); return false", 0), false);
    assert.equal(await c.eval("redis.setresp(3); return nil", 0), null);
    const nested = await c.eval("return {1, redis.error_reply('MYERR nested')}", 0);
    assert.equal(nested[0], 1);
    assert.ok(nested[1] instanceof slotwise.ResponseError);
    assert.equal(nested[1].message, 'MYERR nested');
    const cfg = await c.execute(['CONFIG', 'GET', 'maxmemory-policy']);
    assert.deepEqual(Object.keys(cfg), ['maxmemory-policy']);
  });

  it('a map whose keys are not all strings or numbers becomes a Map', async () => {
    // A Lua table keyed by a boolean comes back as a RESP3 map with a boolean key.
    const m = await c.eval("redis.setresp(3); return {map={[true]='x', k='y'}}", 0);
    assert.ok(m instanceof Map, `got ${typeof m}`);
    assert.equal(m.get(true), 'x');
    assert.equal(m.get('k'), 'y');
  });
});

describe('execute', () => {
  it('runs raw commands and routes by key', async () => {
    assert.equal(await c.execute(['SET', k('raw'), 'v']), 'OK');
    assert.equal(await c.execute(['GET', k('raw')]), 'v');
    assert.equal(await c.execute(['get', Buffer.from(k('raw'))]), 'v');
    assert.equal(await c.execute(['DBSIZE']) >= 0, true);
  });
});

describe('pipelines', () => {
  it('commands over every slot come back in order', async () => {
    const p = c.pipeline();
    for (let i = 0; i < 200; i++) p.set(k(`p${i}`), i).incr(k(`p${i}`));
    p.mget(k('p0'), k('p199')).execute(['GET', k('p5')]);
    assert.equal(p.length, 402);
    const replies = await p.exec();
    assert.equal(p.length, 0, 'exec empties the queue');
    for (let i = 0; i < 200; i++) {
      assert.equal(replies[2 * i], 'OK');
      assert.equal(replies[2 * i + 1], i + 1);
    }
    assert.deepEqual(replies[400], ['1', '200']);
    assert.equal(replies[401], '6');
    assert.deepEqual(await c.pipeline().exec(), []);
  });

  it('parsers apply per command; raiseOnError decides what a failure does', async () => {
    await c.set(k('str'), 'x');
    const ok = await c.pipeline().hset(k('ph'), { a: 1 }).hgetAll(k('ph')).expire(k('ph'), 10).zscore(k('pz'), 'm').exec();
    assert.deepEqual(ok, [1, { a: '1' }, true, null]);
    const mixed = await c.pipeline().get(k('str')).hget(k('str'), 'f').incr(k('pc')).exec({ raiseOnError: false });
    assert.equal(mixed[0], 'x');
    assert.ok(mixed[1] instanceof slotwise.ResponseError);
    assert.match(mixed[1].message, /WRONGTYPE/);
    assert.equal(mixed[2], 1);
    await assert.rejects(c.pipeline().get(k('str')).hget(k('str'), 'f').exec(), (e) => {
      assert.ok(e instanceof slotwise.ResponseError);
      assert.equal(e.replies.length, 2);
      assert.equal(e.replies[0], 'x');
      return true;
    });
  });
});

describe('concurrency', () => {
  it('10,000 concurrent promises all resolve, with the right values', async () => {
    const n = 10_000;
    const sets = await Promise.all(Array.from({ length: n }, (_, i) => c.set(k(`c${i}`), i)));
    assert.ok(sets.every((r) => r === 'OK'));
    const gets = await Promise.all(Array.from({ length: n }, (_, i) => c.get(k(`c${i}`))));
    gets.forEach((v, i) => assert.equal(v, String(i)));
  });
});

describe('introspection', () => {
  it('topology: three shards covering every slot, each with a replica', () => {
    const t = c.topology();
    assert.equal(t.coveredSlots, 16384);
    assert.equal(t.shards.length, 3);
    assert.ok(t.version >= 1);
    for (const s of t.shards) {
      assert.equal(s.primary.role, 'primary');
      assert.equal(s.replicas.length, 1);
      assert.match(s.primary.address, /:\d+$/);
      assert.equal(s.primary.id.length, 40);
      assert.ok(s.slots.every(([a, b]) => a <= b));
    }
  });

  it('healthCheck proves every primary takes a write', async () => {
    const h = await c.healthCheck();
    assert.equal(h.healthy, true);
    assert.equal(h.uncoveredSlots, 0);
    assert.equal(h.nodes.length, 3);
    for (const n of h.nodes) {
      assert.equal(n.error, null);
      assert.ok(n.latencyMs >= 0);
    }
  });

  it('metrics and refreshTopology', async () => {
    assert.equal(await c.refreshTopology(), undefined);
    const m = c.metrics();
    assert.ok(m.refreshes.startup >= 1);
    assert.ok(m.refreshes.explicit >= 1);
    assert.ok(Object.keys(m.connects).length >= 3);
    assert.equal(typeof m.retries, 'number');
  });
});

describe('standalone and URLs', () => {
  it('Client.standalone with db and clientName', async () => {
    const a = server.info.seeds[0];
    const s = await Client.standalone(a, { db: 3, clientName: 'node-test' });
    try {
      await s.set(k('db'), 'three');
      assert.equal(await s.execute(['CLIENT', 'GETNAME']), 'node-test');
      const s0 = await Client.standalone(a);
      assert.equal(await s0.get(k('db')), null, 'db 0 does not see db 3');
      s0.close();
      assert.equal(s.topology().shards.length, 1);
      assert.equal((await s.healthCheck()).healthy, true);
    } finally {
      s.close();
    }
  });

  it('connect(url) for one server and for a cluster', async () => {
    const a = server.info.seeds[0];
    const s = await connect(`redis://${a}/3?clientName=from-url&requestTimeout=2000`);
    assert.equal(await s.get(k('db')), 'three');
    assert.equal(await s.execute(['CLIENT', 'GETNAME']), 'from-url');
    s.close();
    const cl = await connect(`redis+cluster://${cluster.info.seeds.slice(0, 2).join(',')}`, { returnBuffers: true });
    await cl.set(k('u'), 'x');
    assert.deepEqual(await cl.get(k('u')), Buffer.from('x'));
    assert.equal(cl.topology().shards.length, 3);
    cl.close();
  });
});

describe('scanIter', () => {
  it('walks every primary and finds every key', async () => {
    const want = new Set();
    for (let i = 0; i < 300; i++) want.add(k(`scan${i}`));
    await Promise.all([...want].map((key) => c.set(key, '1')));
    const prefix = k('scan');
    const got = new Set();
    for await (const key of c.scanIter({ match: `${prefix}*`, count: 50 })) got.add(key);
    assert.deepEqual(got, want);
    const buffers = [];
    for await (const key of cb.scanIter({ match: `${prefix}1*` })) buffers.push(key);
    assert.ok(buffers.length > 0 && buffers.every((b) => Buffer.isBuffer(b)));
    await assert.rejects(async () => {
      for await (const _ of c.scanIter({ count: 0 })) void _;
    }, RangeError);
    await assert.rejects(async () => {
      for await (const _ of c.scanIter({ match: 5 })) void _;
    }, TypeError);
  });
});
