'use strict';
// addressRemap (object, Map and function forms) and resolver, against a real cluster whose
// nodes announce ports nobody listens on (as behind a NAT): without the remap the client
// cannot reach a single node it learns about; with it, every shard works.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('..');
const { deployment, keys } = require('./helpers.js');

const OFFSET = 1000;
const cluster = deployment('cluster', '--primaries', '3', '--replicas', '0', '--announce-port-offset', String(OFFSET));
const k = keys();

/** announced 'host:port' -> reachable 'host:port', from the harness's node list. */
function table() {
  return Object.fromEntries(cluster.info.nodes.map((n) => [n.announced, `${n.host}:${n.port}`]));
}

async function everyShardWorks(c) {
  const names = Array.from({ length: 30 }, (_, i) => k(`r${i}`));
  await c.mset(Object.fromEntries(names.map((n) => [n, n])));
  assert.deepEqual(await c.mget(names), names);
  assert.equal(c.topology().coveredSlots, 16384);
  assert.equal((await c.healthCheck()).healthy, true);
}

describe('address remapping', () => {
  it('the announced ports really are unreachable', async () => {
    const announced = cluster.info.nodes[0].announced;
    assert.notEqual(announced, `${cluster.info.nodes[0].host}:${cluster.info.nodes[0].port}`);
    const c = await Client.cluster(cluster.info.seeds, { requestTimeout: 800, connectTimeout: 200 });
    try {
      await assert.rejects(c.set(k('unreached'), 1));
    } finally {
      c.close();
    }
  });

  it('object form', async () => {
    const c = await Client.cluster(cluster.info.seeds, { addressRemap: table() });
    await everyShardWorks(c);
    assert.ok(c.topology().shards.every((s) => s.primary.port === Number(s.primary.address.split(':')[1])));
    c.close();
  });

  it('Map form', async () => {
    const c = await Client.cluster(cluster.info.seeds, { addressRemap: new Map(Object.entries(table())) });
    await everyShardWorks(c);
    c.close();
  });

  it('function form, called from a core thread with the announced address', async () => {
    const seen = new Set();
    const announced = new Set(cluster.info.nodes.map((n) => n.announced));
    // Every address goes through the remap, the seeds too: only the announced ones move.
    const remap = (a) => {
      seen.add(a);
      if (!announced.has(a)) return null;
      const i = a.lastIndexOf(':');
      return `${a.slice(0, i)}:${Number(a.slice(i + 1)) - OFFSET}`;
    };
    const c = await Client.cluster(cluster.info.seeds, { addressRemap: remap });
    await everyShardWorks(c);
    assert.ok([...seen].some((a) => announced.has(a)), `remap saw ${[...seen]}`);
    c.close();
  });

  it('a remap function that throws or answers badly keeps the address (and does not crash)', async () => {
    let calls = 0;
    const c = await Client.cluster(cluster.info.seeds, {
      requestTimeout: 800,
      connectTimeout: 200,
      addressRemap: () => {
        calls += 1;
        if (calls % 2) throw new Error('boom');
        return 42;
      },
    });
    try {
      await assert.rejects(c.set(k('bad-remap'), 1));
      assert.ok(calls > 0);
    } finally {
      c.close();
    }
  });

  it('resolver: a startup name maps to the seeds', async () => {
    const asked = [];
    const c = await Client.cluster(['seeds.slotwise.invalid:7000'], {
      resolver: (a) => {
        asked.push(a);
        return cluster.info.seeds;
      },
      addressRemap: table(),
    });
    assert.deepEqual(asked, ['seeds.slotwise.invalid:7000']);
    await everyShardWorks(c);
    await c.refreshTopology();
    assert.ok(asked.length >= 2, 're-run on every refresh that uses it');
    c.close();
  });

  it('a resolver that throws: the connect error says so', async () => {
    await assert.rejects(
      Client.cluster(['seeds.slotwise.invalid:7000'], {
        connectTimeout: 300,
        resolver: () => {
          throw new Error('no such service');
        },
      }),
      (e) => {
        assert.match(e.message, /resolver/);
        assert.match(e.message, /no such service/);
        return true;
      },
    );
  });
});
