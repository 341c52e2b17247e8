'use strict';
// A Sentinel client follows SENTINEL FAILOVER: writes keep working, the topology names the new
// master, and connect('redis+sentinel://...') reaches the same deployment.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client, connect, SlotwiseError } = require('..');
const { deployment, redisCli, addr, keys, waitUntil } = require('./helpers.js');

const d = deployment('sentinel', '--replicas', '1', '--sentinels', '3');
const k = keys();
let client;

before(async () => {
  client = await Client.sentinel(d.info.seeds, d.info.service, { requestTimeout: 10_000 });
});
after(() => client?.close());

const master = () => client.topology().shards[0].primary.address;

describe('sentinel', () => {
  it('connects to the master the sentinels name, by API and by URL', async () => {
    const primary = d.info.nodes.find((n) => n.role === 'primary');
    assert.equal(master(), addr(primary));
    await client.set(k('a'), 'x');
    const u = await connect(`redis+sentinel://${d.info.seeds.join(',')}/${d.info.service}`);
    try {
      assert.equal(await u.get(k('a')), 'x');
      assert.equal((await u.healthCheck()).healthy, true);
    } finally {
      u.close();
    }
  });

  it('follows SENTINEL FAILOVER during writes', async () => {
    const before = master();
    let ok = 0;
    const failures = [];
    let stopped = false;
    const loops = Array.from({ length: 10 }, async (_, t) => {
      for (let i = 0; !stopped; i++) {
        try {
          await client.set(k(`w${t}`), i);
          ok += 1;
        } catch (e) {
          if (!(e instanceof SlotwiseError)) throw e;
          failures.push(e);
        }
      }
    });
    try {
      await waitUntil(() => ok > 200, 10_000, 'writes before the failover');
      assert.equal(redisCli(d.info.seeds[0], 'SENTINEL', 'FAILOVER', d.info.service), 'OK');
      await waitUntil(() => master() !== before, 30_000, 'the client to follow the new master');
      const after = ok;
      await waitUntil(() => ok > after + 200, 15_000, 'writes on the new master');
    } finally {
      stopped = true;
      await Promise.all(loops);
    }
    // Writes are held during the switch, not failed; any failure must say it may have run.
    assert.deepEqual(failures.filter((e) => !e.mayHaveRun).map((e) => `${e.code}: ${e.message}`), []);
    const now = master();
    assert.notEqual(now, before);
    assert.match(redisCli(now, 'ROLE').split('\n')[0], /master/);
    assert.equal((await client.healthCheck()).healthy, true);
  });
});
