'use strict';
// Transactions (client.multi(): watch, query, exec) and scripts (client.registerScript())
// against a real 3-primary cluster.

const { it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const slotwise = require('..');
const { Client } = slotwise;
const { deployment } = require('./helpers.js');

const cluster = deployment('cluster', '--primaries', '3', '--replicas', '0');
let c;

/** Keys sharing one slot. */
function tagged() {
  const t = crypto.randomBytes(4).toString('hex');
  return (name) => `{${t}}.${name}`;
}

before(async () => {
  c = await Client.cluster(cluster.info.seeds, { requestTimeout: 5000 });
});

after(() => c?.close());

it('runs queued commands as one MULTI/EXEC, errors inside in place', async () => {
  const k = tagged();
  const tx = c.multi();
  tx.set(k('a'), '1').incr(k('b')).execute(['INCRBY', k('b'), '10']).get(k('a'));
  assert.equal(tx.length, 4);
  assert.deepEqual(await tx.exec(), ['OK', 1, 11, '1']);
  await assert.rejects(tx.exec(), slotwise.InvalidArgumentError, 'one use');

  const t2 = c.multi();
  t2.incr(k('a')).hget(k('a'), 'f').incr(k('a'));
  const replies = await t2.exec({ raiseOnError: false });
  assert.equal(replies[0], 2);
  assert.ok(replies[1] instanceof slotwise.ResponseError);
  assert.equal(replies[2], 3);
});

it('watch: a concurrent write rejects exec with WatchError, nothing applied', async () => {
  const k = tagged();
  await c.set(k('balance'), '100');
  const tx = c.multi();
  await tx.watch(k('balance'));
  assert.equal(await tx.query(['GET', k('balance')]), '100');
  await c.set(k('balance'), '5');
  tx.set(k('balance'), '90').set(k('log'), 'paid');
  await assert.rejects(tx.exec(), (e) => e instanceof slotwise.WatchError && e.code === 'WATCH');
  assert.equal(await c.get(k('balance')), '5');
  assert.equal(await c.get(k('log')), null);

  const ok = c.multi();
  await ok.watch(k('balance'));
  ok.incr(k('balance'));
  assert.deepEqual(await ok.exec(), [6]);
});

it('EXECABORT and cross-slot keys apply nothing', async () => {
  const k = tagged();
  const tx = c.multi();
  tx.incr(k('x')).execute(['SET', k('x')]);
  await assert.rejects(tx.exec(), (e) => e instanceof slotwise.ExecAbortError && e.code === 'EXECABORT' && !e.mayHaveRun);
  assert.equal(await c.get(k('x')), null);

  const t2 = c.multi();
  t2.set(k('a'), '1').set('{elsewhere}.b', '1');
  await assert.rejects(t2.exec(), slotwise.CrossSlotError);
  assert.equal(await c.get(k('a')), null);

  const t3 = c.multi();
  t3.set(k('a'), '1');
  await assert.rejects(t3.watch(k('a')), slotwise.InvalidArgumentError);
  t3.discard();
  await assert.rejects(t3.exec(), slotwise.InvalidArgumentError);
});

it('registerScript: EVALSHA, loaded again where NOSCRIPT', async () => {
  const k = tagged();
  const incr = c.registerScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
  assert.equal(await incr.run([k('n')], [5]), 5);
  await c.execute(['SCRIPT', 'FLUSH']); // every node forgets it
  assert.equal(await incr.run([k('n')], ['2']), 7);
  const ro = c.registerScript("return redis.call('GET', KEYS[1])", { readOnly: true });
  assert.equal(await ro.run([k('n')]), '7');
  await assert.rejects(c.registerScript("return redis.call('NOPE')").run([k('n')]), slotwise.ResponseError);
  assert.throws(() => c.registerScript(42), TypeError);
  assert.throws(() => c.registerScript('return 1', { fast: true }), TypeError);
});
