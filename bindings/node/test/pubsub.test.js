'use strict';
// Pub/Sub from Node: the EventEmitter ('message', 'pmessage', 'smessage', 'resubscribed'),
// unsubscribe, close, and a graceful failover of the shard serving a sharded channel: the
// subscription moves by itself, one 'resubscribed' says so, and every message published
// afterwards arrives exactly once. This file owns its cluster (it changes the roles).

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { Client, ClosedError } = require('..');
const { deployment, harness, redisCli, addr, keys, sleep, waitUntil } = require('./helpers.js');

const cluster = deployment('cluster', '--primaries', '3', '--replicas', '1');
const k = keys();

function collect(ps) {
  const got = [];
  for (const ev of ['message', 'pmessage', 'smessage', 'resubscribed', 'subscribe', 'unsubscribe']) {
    ps.on(ev, (...args) => got.push([ev, ...args]));
  }
  return got;
}

describe('pubsub', () => {
  it('emits the three kinds, confirmations, and nothing after unsubscribe', async () => {
    const c = await Client.cluster(cluster.info.seeds);
    const ps = c.pubsub();
    const got = collect(ps);
    const ch = k('ch');
    await ps.subscribe(ch);
    await ps.psubscribe(`${ch}.*`);
    await ps.ssubscribe(`${ch}:s`);
    assert.equal(ps.subscriptionCount, 3);
    await c.publish(ch, 'a');
    await c.publish(`${ch}.x`, 'b');
    assert.equal(await c.execute(['SPUBLISH', `${ch}:s`, 'c']), 1);
    await waitUntil(() => got.filter(([e]) => e.endsWith('message')).length === 3, 5000, 'three messages');
    const msgs = got.filter(([e]) => e.endsWith('message'));
    assert.deepEqual(
      msgs.sort((a, b) => a[0].localeCompare(b[0])),
      [['message', ch, 'a'], ['pmessage', `${ch}.*`, `${ch}.x`, 'b'], ['smessage', `${ch}:s`, 'c']],
    );
    assert.deepEqual(got.filter(([e]) => e === 'subscribe').map(([, p]) => p.kind).sort(), ['channel', 'pattern', 'sharded']);
    await ps.unsubscribe(ch);
    await c.publish(ch, 'gone');
    await sleep(300);
    assert.equal(got.filter(([e, c2, m]) => e === 'message' && m === 'gone').length, 0);
    await assert.rejects(ps.subscribe(42), TypeError);
    ps.close();
    await assert.rejects(ps.subscribe('x'), ClosedError);
    c.close();
  });

  it('a JS thread that falls behind: the pubsubQueue bounds the backlog, one dropped event counts the rest', async () => {
    const c = await Client.cluster(cluster.info.seeds, { pubsubQueue: 10, pubsubHeartbeat: 0 });
    const ps = c.pubsub();
    const got = collect(ps);
    const dropped = [];
    ps.on('dropped', (d) => dropped.push(d.count));
    const ch = k('slow');
    await ps.subscribe(ch);
    const node = c.topology().shards[0].primary.address;
    // redis-cli runs while the JS thread is blocked in execFileSync: 2,000 messages arrive
    // with nobody taking them. The Lua loop publishes them in one go.
    redisCli(node, 'EVAL', `for i=1,2000 do redis.call('PUBLISH', ARGV[1], tostring(i)) end`, '0', ch);
    await waitUntil(() => dropped.length > 0, 5000, "a 'dropped' event");
    await sleep(300);
    const msgs = got.filter(([e]) => e === 'message').map(([, , m]) => Number(m));
    const lost = dropped.reduce((a, b) => a + b, 0);
    // Kept: what the JS thread's queue holds (256) plus the core's queue (10), at most.
    assert.ok(msgs.length <= 256 + 10 + 2, `kept ${msgs.length}`);
    assert.equal(msgs.length + lost, 2000, `received ${msgs.length} + dropped ${lost}`);
    assert.deepEqual(msgs, [...msgs].sort((a, b) => a - b), 'in order');
    // The subscription goes on.
    await c.publish(ch, 'after');
    await waitUntil(() => got.some(([e, , m]) => e === 'message' && m === 'after'), 5000, 'a message after');
    ps.close();
    c.close();
  });

  it('follows a graceful failover: one resubscribed, then every message exactly once', async () => {
    harness('wait-ok', '--dir', cluster.info.dir);
    const nodes = harness('info', '--dir', cluster.info.dir, '--live').nodes;
    const replica = nodes.find((n) => n.role === 'replica' && n.alive);
    const primary = nodes.find((n) => n.index === replica.primary_index);
    const c = await Client.cluster(cluster.info.seeds, { requestTimeout: 10000 });
    const shard = c.topology().shards.find((s) => s.primary.address === addr(primary));
    let ch;
    for (let i = 0; ; i++) {
      const slot = Number(redisCli(addr(primary), 'CLUSTER', 'KEYSLOT', k(`f${i}`)));
      if (shard.slots.some(([a, b]) => a <= slot && slot <= b)) {
        ch = k(`f${i}`);
        break;
      }
    }
    const ps = c.pubsub();
    const got = collect(ps);
    await ps.ssubscribe(ch);
    const t0 = Date.now();
    assert.equal(redisCli(addr(replica), 'CLUSTER', 'FAILOVER'), 'OK');
    await waitUntil(() => got.some(([e]) => e === 'resubscribed'), 15000, 'resubscribed');
    const restored = Date.now() - t0;
    const [, ev] = got.find(([e]) => e === 'resubscribed');
    assert.deepEqual(ev.subscriptions, [{ kind: 'sharded', channel: ch }]);
    assert.ok(ev.interruptedFor >= 0);
    for (let i = 0; i < 50; i++) await c.execute(['SPUBLISH', ch, String(i)]);
    await waitUntil(() => got.filter(([e]) => e === 'smessage').length >= 50, 5000, '50 messages');
    await sleep(300);
    const after = got.filter(([e]) => e === 'smessage').map(([, , m]) => Number(m));
    assert.deepEqual(after.slice(-50).sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
    assert.equal(after.filter((m) => m >= 0).length, new Set(after).size, 'nothing twice');
    assert.equal(got.filter(([e]) => e === 'resubscribed').length, 1);
    console.log(`MEASURE node pubsub graceful failover: resubscribed_after=${restored}ms`);
    ps.close();
    c.close();
    harness('wait-ok', '--dir', cluster.info.dir);
  });
});
