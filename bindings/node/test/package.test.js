'use strict';
// The package as users get it: the committed type declarations match what the build and the
// generator produce and compile under `tsc --strict`; the tarball from `make npm-pack` holds
// the prebuilt addon, installs into an empty project with no Rust toolchain on PATH, and works
// there against a live cluster.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { deployment, REPO } = require('./helpers.js');

const PKG = path.resolve(__dirname, '..');
const cluster = deployment('cluster', '--primaries', '3', '--replicas', '0');

describe('type declarations', () => {
  it('index.d.ts is what scripts/gen-dts.js generates', () => {
    const r = spawnSync(process.execPath, [path.join(PKG, 'scripts', 'gen-dts.js'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('native.d.ts, native.js and index.d.ts as built are the committed ones', (t) => {
    const inGit = spawnSync('git', ['-C', REPO, 'rev-parse', '--git-dir'], { encoding: 'utf8' }).status === 0;
    if (!inGit) return t.skip('not a git checkout');
    // `make test-node` rebuilt them just before this ran (napi build + gen-dts).
    const r = spawnSync('git', ['-C', REPO, 'diff', '--exit-code', '--stat', 'HEAD', '--', 'bindings/node/native.d.ts', 'bindings/node/native.js', 'bindings/node/index.d.ts'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `generated files drifted from the commit; run make node and commit them:\n${r.stdout}`);
  });

  it('index.d.ts compiles with tsc --strict against a usage file', () => {
    const tsc = path.join(PKG, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(
      process.execPath,
      [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--moduleResolution', 'node10', '--types', 'node', '--ignoreDeprecations', '6.0', path.join(PKG, 'test', 'types', 'usage.ts')],
      { encoding: 'utf8', cwd: PKG },
    );
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});

describe('npm tarball', () => {
  let tgz;
  let project;

  before(() => {
    const dir = path.join(REPO, 'target', 'npm');
    const found = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^slotwise-.*\.tgz$/.test(f)) : [];
    assert.equal(found.length, 1, `expected one target/npm/slotwise-<version>.tgz (make npm-pack), found ${found}`);
    tgz = path.join(dir, found[0]);
    project = fs.mkdtempSync(path.join(os.tmpdir(), 'slotwise-install-'));
  });
  after(() => project && fs.rmSync(project, { recursive: true, force: true }));

  it('holds the prebuilt addon, the JS and the types', () => {
    const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n');
    for (const f of ['package/package.json', 'package/index.js', 'package/index.d.ts', 'package/native.js', 'package/lib/client.js']) {
      assert.ok(files.includes(f), `${f} missing from ${files}`);
    }
    assert.ok(files.some((f) => /^package\/slotwise\..+\.node$/.test(f)), 'no prebuilt .node in the tarball');
    assert.ok(!files.some((f) => f.includes('src/') || f.includes('Cargo.toml')), 'Rust sources do not ship');
  });

  it('installs into an empty project with no Rust toolchain and works against a live cluster', () => {
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'empty', version: '1.0.0', private: true }));
    // PATH without cargo/rustc: only where node and the system tools live.
    const env = { ...process.env, PATH: [path.dirname(process.execPath), '/usr/bin', '/bin'].join(':') };
    assert.notEqual(spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env }).status, 0, 'no Rust toolchain on the install PATH');
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--offline', tgz], { cwd: project, env, encoding: 'utf8', timeout: 120_000 });
    assert.equal(npm.status, 0, `${npm.stdout}${npm.stderr}`);
    const smoke = `
      const { Client, version } = require('slotwise');
      (async () => {
        const c = await Client.cluster(${JSON.stringify(cluster.info.seeds)});
        const keys = Array.from({ length: 50 }, (_, i) => 'tarball:' + i);
        await c.mset(Object.fromEntries(keys.map((k) => [k, k])));
        const got = await c.mget(keys);
        const p = await c.pipeline().incr('tarball:n').get('tarball:0').exec();
        const h = await c.healthCheck();
        console.log(JSON.stringify({ version, same: got.every((v, i) => v === keys[i]), p, healthy: h.healthy, from: require.resolve('slotwise') }));
        c.close();
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const r = spawnSync(process.execPath, ['-e', smoke], { cwd: project, env, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.equal(out.same, true);
    assert.equal(out.healthy, true);
    assert.equal(out.p[1], 'tarball:0');
    assert.equal(out.version, require('../package.json').version);
    assert.ok(out.from.startsWith(path.join(project, 'node_modules', 'slotwise')), out.from);
  });
});
