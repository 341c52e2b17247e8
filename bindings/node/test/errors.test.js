'use strict';
// Bad input gives clear errors (TypeError/RangeError naming the option or argument, before
// anything is sent); server and client failures arrive as SlotwiseError subclasses with a
// stable code; a closed client rejects with ClosedError.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const slotwise = require('..');
const { Client, connect, SlotwiseError } = slotwise;
const { deployment, keys } = require('./helpers.js');

const server = deployment('standalone');
const k = keys();
let s;

before(async () => {
  s = await Client.standalone(server.info.seeds[0], { requestTimeout: 2000 });
});
after(() => s?.close());

async function rejectsWith(promise, Class, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof Class, `${e?.constructor?.name}: ${e?.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('options', () => {
  const a = '127.0.0.1:1';
  const cases = [
    [{ requestTimeout: '5' }, TypeError, /option requestTimeout must be a number of milliseconds, not string/],
    [{ requestTimeout: 0 }, RangeError, /option requestTimeout must be > 0/],
    [{ connectTimeout: -1 }, RangeError, /option connectTimeout must be > 0/],
    [{ connectTimeout: Infinity }, RangeError, /option connectTimeout/],
    [{ readFrom: 'replica' }, RangeError, /option readFrom must be one of 'primary', 'preferReplica', 'replicasRoundRobin', 'lowestLatency'/],
    [{ readFrom: 1 }, TypeError, /option readFrom must be a string/],
    [{ addressRemap: 'x' }, TypeError, /option addressRemap must be an object/],
    [{ addressRemap: { 'a:1': 'nope' } }, RangeError, /option addressRemap\["a:1"\] must be 'host:port'/],
    [{ addressRemap: { 'no-port': 'b:2' } }, RangeError, /option addressRemap key "no-port"/],
    [{ resolver: {} }, TypeError, /option resolver must be a function/],
    [{ username: 1 }, TypeError, /option username must be a string, not number/],
    [{ password: null }, TypeError, /option password must be a string, not null/],
    [{ sentinelPassword: 5 }, TypeError, /option sentinelPassword must be a string/],
    [{ clientName: 'has space' }, RangeError, /option clientName must be non-empty and have no spaces/],
    [{ db: 1.5 }, TypeError, /option db must be an integer/],
    [{ db: -1 }, RangeError, /option db must be from 0/],
    [{ protocol: 4 }, RangeError, /option protocol must be from 2 to 3, got 4/],
    [{ returnBuffers: 'yes' }, TypeError, /option returnBuffers must be a boolean/],
    [{ pubsubQueue: 0 }, RangeError, /option pubsubQueue must be from 1 to 1073741824, got 0/],
    [{ pubsubQueue: '5' }, TypeError, /option pubsubQueue must be an integer/],
    [{ pubsubHeartbeat: -1 }, RangeError, /option pubsubHeartbeat must be > 0/],
    [{ requestTimout: 5 }, TypeError, /unknown option 'requestTimout'; known options: requestTimeout, /],
  ];
  for (const [opts, Class, pattern] of cases) {
    it(`${JSON.stringify(opts)} -> ${Class.name}`, async () => {
      await rejectsWith(Client.standalone(a, opts), Class, pattern);
    });
  }

  it('options must be an object; db is 0 in a cluster', async () => {
    await rejectsWith(Client.standalone(a, 'x'), TypeError, /options must be a plain object, not string/);
    await rejectsWith(Client.cluster([a], { db: 2 }), RangeError, /option db must be 0 in cluster mode/);
  });

  it('addresses are checked', async () => {
    await rejectsWith(Client.cluster([]), TypeError, /seeds must not be empty/);
    await rejectsWith(Client.cluster(42), TypeError, /seeds must be 'host:port' or an array of them, not number/);
    await rejectsWith(Client.cluster(['localhost']), RangeError, /seeds\[0\] must be 'host:port'/);
    await rejectsWith(Client.cluster(['h:70000']), RangeError, /port from 1 to 65535/);
    await rejectsWith(Client.standalone(['a:1', 'b:2']), TypeError, /address must be a 'host:port' string/);
    await rejectsWith(Client.sentinel(['a:1'], ''), TypeError, /serviceName must be a non-empty string/);
  });

  it('URLs are checked', async () => {
    await rejectsWith(connect('http://x:1'), TypeError, /unsupported URL scheme "http"/);
    await rejectsWith(connect('redis://x:1?tlsCaFile=/ca.pem'), TypeError, /URL option tlsCaFile: TLS options need a rediss:\/\/ URL/);
    await rejectsWith(connect('redis://u:hunter2@a:1/x'), TypeError, /^(?!.*hunter2).*must be a number/);
    await rejectsWith(connect('redis://a:1,b:2'), TypeError, /several hosts need redis\+cluster/);
    await rejectsWith(connect('redis+cluster://a:1/2'), TypeError, /cluster URL takes no database/);
    await rejectsWith(connect('redis://a:1/x'), TypeError, /database in the URL path must be a number/);
    await rejectsWith(connect('redis+sentinel://a:1'), TypeError, /needs the service name/);
    await rejectsWith(connect('redis://a:1?bogus=1'), TypeError, /unknown URL option "bogus"/);
    await rejectsWith(connect('redis://u:secret@a:1?returnBuffers=maybe'), TypeError, /URL option returnBuffers/);
    await rejectsWith(connect(5), TypeError, /url must be a string/);
  });

  it('a server that is not there: ConnectionError with a stable code', async () => {
    await rejectsWith(Client.standalone('127.0.0.1:1', { connectTimeout: 500 }), slotwise.ConnectionError, /./);
    await assert.rejects(Client.standalone('127.0.0.1:1'), (e) => {
      assert.ok(e instanceof SlotwiseError && e instanceof Error);
      assert.equal(e.code, 'CONNECT');
      assert.equal(e.numericCode, 1);
      assert.equal(e.mayHaveRun, false);
      assert.equal(e.name, 'ConnectionError');
      return true;
    });
  });
});

describe('arguments', () => {
  it('execute needs a non-empty array of strings, Buffers, numbers or bigints', async () => {
    await rejectsWith(s.execute('GET x'), TypeError, /execute needs a non-empty array \[command, \.\.\.args\], not string/);
    await rejectsWith(s.execute([]), TypeError, /execute needs a non-empty array/);
    await rejectsWith(s.execute(['SET', 'k', {}]), TypeError, /SET argument 2 must be a string, Buffer, number or bigint, not object/);
    await rejectsWith(s.execute(['SET', 'k', true]), TypeError, /not boolean/);
    await rejectsWith(s.execute(['SET', 'k', NaN]), TypeError, /not NaN/);
    await rejectsWith(s.execute([null]), TypeError, /the command name must be/);
    await rejectsWith(s.set('k', undefined), TypeError, /SET argument 2 must be .* not undefined/);
  });

  it('command methods check their options', async () => {
    await rejectsWith(s.set('k', 'v', { EX: 1, PX: 1 }), TypeError, /pass EX or PX, not both/);
    await rejectsWith(s.set('k', 'v', { NX: true, XX: true }), TypeError, /pass NX or XX, not both/);
    await rejectsWith(s.set('k', 'v', { ex: 1 }), TypeError, /unknown set option 'ex'; known: EX, PX, NX, XX, GET/);
    await rejectsWith(s.set('k', 'v', { EX: 0 }), RangeError, /set EX must be > 0/);
    await rejectsWith(s.set('k', 'v', { EX: 1.5 }), TypeError, /set EX must be an integer/);
    await rejectsWith(s.expire('k', -1), RangeError, /expire seconds must be > 0/);
    await rejectsWith(s.del(), TypeError, /del needs at least one value/);
    await rejectsWith(s.mset({}), TypeError, /mset argument must not be empty/);
    await rejectsWith(s.mset('x'), TypeError, /mset argument must be an object or a Map/);
    await rejectsWith(s.zadd('z', { a: 'high' }), TypeError, /zadd score of "a" must be a number/);
    await rejectsWith(s.zrange('z', 0, -1, { WITHSCORE: true }), TypeError, /unknown zrange option 'WITHSCORE'/);
    await rejectsWith(s.incrBy('k', 1.5), TypeError, /incrBy increment must be an integer/);
    await rejectsWith(s.lpop('k', 0), RangeError, /lpop count must be > 0/);
  });

  it('a pipeline throws at once on a bad command; exec checks its options', async () => {
    const p = s.pipeline();
    assert.throws(() => p.set('k', {}), TypeError);
    assert.throws(() => p.execute([]), TypeError);
    assert.equal(p.length, 0);
    await rejectsWith(p.get('k').exec({ raiseOnErrors: false }), TypeError, /unknown exec option 'raiseOnErrors'/);
  });

  it('the classes cannot be constructed directly', () => {
    assert.throws(() => new Client(), /create a Client with Client.cluster/);
    assert.throws(() => new slotwise.Pipeline(), /create a Pipeline with client.pipeline/);
  });
});

describe('server and client errors', () => {
  it('an error reply is a ResponseError that ran (not may-have-run)', async () => {
    await s.set(k('str'), 'x');
    await assert.rejects(s.lpush(k('str'), 'a'), (e) => {
      assert.ok(e instanceof slotwise.ResponseError);
      assert.equal(e.code, 'SERVER');
      assert.equal(e.numericCode, 5);
      assert.equal(e.mayHaveRun, false);
      assert.match(e.message, /^WRONGTYPE/);
      return true;
    });
    await rejectsWith(s.execute(['NOSUCHCOMMAND']), slotwise.ResponseError, /unknown command/i);
  });

  it('commands the shared connection cannot carry are refused before sending', async () => {
    await assert.rejects(s.execute(['SUBSCRIBE', 'x']), (e) => {
      assert.ok(e instanceof slotwise.InvalidArgumentError);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      return true;
    });
  });

  it('the whole request deadline: a blocked server gives TimeoutError with mayHaveRun', async () => {
    const t = await Client.standalone(server.info.seeds[0], { requestTimeout: 300 });
    try {
      const started = Date.now();
      // A script that keeps the server busy for a second (DEBUG is refused on shared connections).
      const busy = "local s = redis.call('TIME') while true do local n = redis.call('TIME') if (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 1000000 then break end end return 1";
      await assert.rejects(t.eval(busy, 0), (e) => {
        assert.ok(e instanceof slotwise.TimeoutError, e.message);
        assert.equal(e.code, 'TIMEOUT');
        assert.equal(e.mayHaveRun, true);
        return true;
      });
      assert.ok(Date.now() - started < 900, 'the deadline is the request timeout');
    } finally {
      t.close();
    }
  });

  it('a closed client rejects every call with ClosedError; close is idempotent', async () => {
    const t = await Client.standalone(server.info.seeds[0]);
    assert.equal(t.closed, false);
    t.close();
    t.close();
    assert.equal(t.closed, true);
    for (const p of [t.get('k'), t.execute(['PING']), t.pipeline().get('k').exec(), t.healthCheck(), t.refreshTopology()]) {
      await assert.rejects(p, (e) => e instanceof slotwise.ClosedError && e.code === 'CLOSED');
    }
  });

  it('SlotwiseError instances carry their fields when made by hand too', () => {
    const e = new slotwise.ClusterDownError('down', 'CLUSTERDOWN', 6, false);
    assert.ok(e instanceof slotwise.ResponseError && e instanceof SlotwiseError && e instanceof Error);
    assert.equal(e.name, 'ClusterDownError');
    assert.equal(e.code, 'CLUSTERDOWN');
    assert.match(e.stack, /^ClusterDownError: down/);
  });
});
