'use strict';
// TLS (rediss:// and the tls option) and password rotation against a real TLS-only server
// with an ACL user; the harness makes the certificates.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');
const { Client, connect, SlotwiseError } = require('..');
const { deployment, redisCli, keys } = require('./helpers.js');

const PASSWORD = 'pw-Old-3d7';
const NEW_PASSWORD = 'pw-New-8b1';
const d = deployment('standalone', '--tls', '--user', `app:${PASSWORD}`);
const k = keys();

const tls = (extra) => ({ caFile: d.info.tls.ca, certFile: d.info.tls.cert, keyFile: d.info.tls.key, ...extra });
const opts = (extra) => ({ username: 'app', password: PASSWORD, connectTimeout: 3000, tls: tls(), ...extra });
const cli = (...args) => {
  const t = d.info.tls;
  return redisCli(d.info.seeds[0], '--tls', '--cacert', t.ca, '--cert', t.cert, '--key', t.key, ...args);
};

let client;
before(async () => {
  client = await Client.standalone(d.info.seeds[0], opts());
});
after(() => client?.close());

describe('tls', () => {
  it('talks over verified TLS, by options and by rediss:// URL', async () => {
    await client.set(k('a'), 'v');
    assert.equal(await client.get(k('a')), 'v');
    const t = d.info.tls;
    const q = new URLSearchParams({ tlsCaFile: t.ca, tlsCertFile: t.cert, tlsKeyFile: t.key, tlsServerName: 'localhost' });
    const u = await connect(`rediss://app:${PASSWORD}@${d.info.seeds[0]}/0?${q}`);
    try {
      assert.equal(await u.get(k('a')), 'v');
    } finally {
      u.close();
    }
  });

  it('a wrong CA or name fails clearly; plain TCP fails', async () => {
    const addr = d.info.seeds[0];
    await assert.rejects(Client.standalone(addr, opts({ tls: tls({ caFile: d.info.tls.untrusted_ca }) })), (e) => {
      assert.ok(e instanceof SlotwiseError);
      assert.equal(e.code, 'CONNECT');
      assert.match(e.message, /certificate/);
      assert.doesNotMatch(e.message, new RegExp(PASSWORD));
      return true;
    });
    await assert.rejects(Client.standalone(addr, opts({ tls: tls({ serverName: 'wrong.invalid' }) })), /not valid for name/);
    await assert.rejects(Client.standalone(addr, opts({ tls: undefined })), (e) => e.code === 'CONNECT');
    await assert.rejects(Client.standalone(addr, { tls: { certFile: 'x' } }), TypeError);
    await assert.rejects(Client.standalone(addr, { tls: { caFile: 1 } }), /option tls.caFile must be a string/);
    await assert.rejects(Client.standalone(addr, { tls: 'yes' }), TypeError);
  });

  it('rotates the password on a live client; secrets stay out of inspect and errors', async () => {
    assert.doesNotMatch(util.inspect(client, { depth: 10, showHidden: true }), new RegExp(PASSWORD));
    assert.equal(cli('ACL', 'SETUSER', 'app', `>${NEW_PASSWORD}`), 'OK');
    client.updateCredentials('app', NEW_PASSWORD);
    assert.equal(cli('ACL', 'SETUSER', 'app', `<${PASSWORD}`), 'OK');
    assert.ok(Number(cli('CLIENT', 'KILL', 'USER', 'app')) >= 1);
    // Reads are resent on a new connection, authenticated with the new password.
    for (let i = 0; i < 20; i++) assert.equal(await client.get(k('a')), 'v');
    await assert.rejects(Client.standalone(d.info.seeds[0], opts()), (e) => {
      assert.equal(e.code, 'AUTH');
      assert.doesNotMatch(e.message, new RegExp(PASSWORD));
      return true;
    });
    assert.throws(() => client.updateCredentials('app', 5), TypeError);
    const c2 = await Client.standalone(d.info.seeds[0], opts({ password: NEW_PASSWORD }));
    c2.close();
    assert.throws(() => c2.updateCredentials('app', NEW_PASSWORD), (e) => e.code === 'CLOSED');
  });
});
