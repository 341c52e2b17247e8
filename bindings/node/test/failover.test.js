'use strict';
// The field reports, from Node: a graceful failover during a workload loses nothing and fires
// events on the JS thread; a killed primary costs at most the writes in flight, each reported
// as may-have-run. This file owns its cluster (it changes the roles).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client, SlotwiseError } = require('..');
const { deployment, harness, redisCli, addr, keys, waitUntil } = require('./helpers.js');

const cluster = deployment('cluster', '--primaries', '3', '--replicas', '1');
const k = keys();

/** 50 async loops doing SET then GET over keys on every shard until stopped. */
class Workload {
  constructor(client, tag, loops = 50) {
    this.client = client;
    this.ok = 0;
    this.failures = [];
    this.stopped = false;
    this.done = Promise.all(Array.from({ length: loops }, (_, i) => this.loop(`${tag}:${i}`)));
  }

  async loop(tag) {
    for (let i = 0; !this.stopped; i++) {
      const key = `${tag}:${i % 100}`;
      try {
        await this.client.set(key, i);
        assert.equal(await this.client.get(key), String(i));
        this.ok += 1;
      } catch (e) {
        if (!(e instanceof SlotwiseError)) throw e;
        this.failures.push(e);
      }
    }
  }

  async progress(more, ms) {
    const target = this.ok + more;
    await waitUntil(() => this.ok >= target, ms, `${more} more operations (at ${this.ok})`);
  }

  async stop() {
    this.stopped = true;
    await this.done;
  }
}

function liveNodes() {
  return harness('info', '--dir', cluster.info.dir, '--live').nodes;
}

function aReplica() {
  const nodes = liveNodes();
  const replica = nodes.find((n) => n.role === 'replica' && n.alive);
  return { replica, primary: nodes.find((n) => n.index === replica.primary_index) };
}

const role = (n) => redisCli(addr(n), 'ROLE').split('\n')[0].trim();

let client;
const seen = [];

before(async () => {
  client = await Client.cluster(cluster.info.seeds, { requestTimeout: 8000 });
  for (const name of ['topology', 'failover', 'nodeFailed', 'nodeRecovered']) {
    client.on(name, (payload) => seen.push({ name, payload, at: Date.now() }));
  }
});
after(() => client?.close());

describe('failover', () => {
  it('CLUSTER FAILOVER during a workload: no failure, failover and topology events', async () => {
    harness('wait-ok', '--dir', cluster.info.dir);
    const { replica, primary } = aReplica();
    const w = new Workload(client, k('graceful'));
    try {
      await w.progress(500, 10_000);
      assert.equal(redisCli(addr(replica), 'CLUSTER', 'FAILOVER'), 'OK');
      await waitUntil(() => role(replica) === 'master', 15_000, 'the replica to take over');
      await waitUntil(
        () => seen.some((e) => e.name === 'failover' && e.payload.newPrimary === addr(replica)),
        15_000,
        'a failover event naming the new primary',
      );
      await w.progress(2000, 20_000);
    } finally {
      await w.stop();
    }
    assert.deepEqual(w.failures.map((e) => `${e.code}: ${e.message}`), []);
    const f = seen.find((e) => e.name === 'failover' && e.payload.newPrimary === addr(replica));
    assert.equal(f.payload.oldPrimary, addr(primary));
    const t = seen.find((e) => e.name === 'topology' && e.payload.failovers.length > 0);
    assert.ok(t, 'a topology event lists the failover');
    assert.ok(t.payload.version >= 2 && t.payload.slotsMoved > 0);
    // The client follows: once the cluster agrees, the promoted node is a primary in its view.
    await waitUntil(
      async () => {
        await client.refreshTopology();
        const primaries = client.topology().shards.map((s) => s.primary.address);
        return primaries.includes(addr(replica)) && !primaries.includes(addr(primary));
      },
      10_000,
      'the topology to show the promoted primary',
    );
  });

  it('a primary killed during a workload: only may-have-run failures, nodeFailed fires', async () => {
    harness('wait-ok', '--dir', cluster.info.dir);
    const { replica, primary } = aReplica();
    const w = new Workload(client, k('kill'));
    try {
      await w.progress(500, 10_000);
      harness('kill-node', '--dir', cluster.info.dir, '--index', String(primary.index));
      await waitUntil(() => role(replica) === 'master', 20_000, 'the replica to take over');
      await w.progress(2000, 30_000);
    } finally {
      await w.stop();
    }
    const bad = w.failures.filter((e) => !e.mayHaveRun);
    assert.deepEqual(bad.map((e) => `${e.code}: ${e.message}`), [], 'every failure says the write may have run');
    assert.ok(w.failures.length <= 60, `${w.failures.length} failures for 50 loops in flight`);
    assert.ok(seen.some((e) => e.name === 'nodeFailed' && e.payload.address === addr(primary)), 'nodeFailed for the killed primary');
    harness('restart-node', '--dir', cluster.info.dir, '--index', String(primary.index));
    harness('wait-ok', '--dir', cluster.info.dir);
    assert.equal((await client.healthCheck()).healthy, true);
  });
});
