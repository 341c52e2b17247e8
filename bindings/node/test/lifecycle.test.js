'use strict';
// The process lives and dies as a Node user expects: a closed client lets it exit at once, an
// idle unclosed client never holds it open and never crashes it at exit, a pending call holds
// it until the reply arrives. Each case runs in a child node process.

const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { deployment } = require('./helpers.js');

const cluster = deployment('cluster', '--primaries', '3', '--replicas', '0');
const PKG = path.resolve(__dirname, '..');

/** Runs `body` (an async function body with `Client` and `seeds` in scope) in a child. */
function child(body, timeout = 15_000) {
  const src = `
    const { Client } = require(${JSON.stringify(PKG)});
    const seeds = ${JSON.stringify(cluster.info.seeds)};
    (async () => { ${body} })().catch((e) => { console.error('child failed:', e); process.exitCode = 3; });
  `;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', src], { encoding: 'utf8', timeout });
  return { ...r, ms: Date.now() - started };
}

function assertClean(r, code = 0) {
  assert.equal(r.error, undefined, `child did not exit in time (${r.ms} ms): ${r.stdout} ${r.stderr}`);
  assert.equal(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, code, `exit ${r.status}: ${r.stdout} ${r.stderr}`);
}

describe('process lifetime', () => {
  it('exits promptly after close()', () => {
    const r = child(`
      const c = await Client.cluster(seeds);
      c.on('topology', () => {});
      await c.set('life:a', 1);
      c.close();
      console.log('closed');
    `);
    assertClean(r);
    assert.match(r.stdout, /closed/);
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it('an idle client that was never closed neither holds the process nor crashes it', () => {
    const r = child(`
      const c = await Client.cluster(seeds, { addressRemap: (a) => null });
      c.on('nodeFailed', () => {});
      await Promise.all(Array.from({ length: 1000 }, (_, i) => c.set('life:' + i, i)));
      console.log('done');
    `);
    assertClean(r);
    assert.match(r.stdout, /done/);
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it('a pending call holds the process open until its reply', () => {
    const r = child(`
      const c = await Client.cluster(seeds);
      const busy = "local s = redis.call('TIME') while true do local n = redis.call('TIME') if (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 300000 then break end end return 'late'";
      c.eval(busy, 0).then((v) => { console.log('reply', v); c.close(); });
    `);
    assertClean(r);
    assert.match(r.stdout, /reply late/);
  });

  it('process.exit() with calls in flight exits cleanly with its code', () => {
    const r = child(`
      const c = await Client.cluster(seeds);
      for (let i = 0; i < 5000; i++) c.set('life:x' + i, i).catch(() => {});
      setTimeout(() => process.exit(7), 5);
    `);
    assertClean(r, 7);
  });

  it('many clients opened and dropped without close() are collected without a crash', () => {
    const r = child(`
      for (let i = 0; i < 20; i++) {
        const c = await Client.cluster(seeds);
        await c.get('life:a');
      }
      if (global.gc) global.gc();
      await new Promise((r) => setTimeout(r, 200));
      console.log('ok');
    `);
    assertClean(r);
    assert.match(r.stdout, /ok/);
  });
});
