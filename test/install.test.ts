/**
 * Installing the packed package (`npm pack`, prebuilds/ included) into fresh
 * projects, the ways users get it:
 *   - install scripts disabled (`--ignore-scripts`, pnpm's default): the
 *     linux-x64 prebuild loads, native backend; a plain `npm install` uses it
 *     too and compiles nothing;
 *   - no prebuild for the platform (the installed prebuilds/ removed) and no
 *     working compiler: the install (`npm rebuild`, the same hook) succeeds,
 *     the TS backend runs with one warning, and `gatedrnn info` says why and
 *     how to get the fast path;
 *   - `npm install --build-from-source` with OpenBLAS: the addon is built and
 *     the local build wins over the prebuild; a local build that does not load
 *     falls back to the prebuild.
 * Each prints the backend it got. CI makes the prebuild first (`npm run
 * prebuild`); this file makes it if it is missing.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child.js';

const PREBUILD = path.join(ROOT, 'prebuilds', 'linux-x64', 'gatedrnn.node');
let workDir = '';
let tarball = '';

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, GATEDRNN_BACKEND: '', GATEDRNN_ADDON: '', ...env }, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}

const smoke = `
const g = require('gatedrnn');
(async () => {
  const layer = g.layers.gru({ units: 4, seed: 1 });
  const y = await layer.apply(g.tensor(new Float32Array(2 * 3 * 5).fill(0.2), [2, 3, 5]));
  console.log(JSON.stringify({ backend: g.getBackend(), shape: y.shape, addon: g.backendInfo().nativePath }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function project(name: string) {
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  const pkg = path.join(dir, 'node_modules', 'gatedrnn');
  return {
    dir,
    pkg,
    install: (args: string[], env: Record<string, string> = {}) => sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...args, tarball], dir, env),
    run: () => {
      const r = sh(process.execPath, ['-e', smoke], dir);
      const got = r.status === 0 ? (JSON.parse(r.stdout) as { backend: string; shape: number[]; addon: string | null }) : null;
      return { ...r, got, warnings: r.stderr.match(/GATEDRNN_NO_NATIVE/g)?.length ?? 0 };
    },
  };
}

/** The addon path relative to the installed package, for the report. */
const rel = (pkg: string, file: string | null | undefined) => (file ? path.relative(pkg, file) : 'none');

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('installing the packed package', () => {
  beforeAll(() => {
    if (!fs.existsSync(PREBUILD)) {
      const b = sh('npm', ['run', 'prebuild'], ROOT);
      if (b.status !== 0) throw new Error(`npm run prebuild failed:\n${b.out}`);
    }
    // dist/ as `npm test` has just built it (prepack would build it again).
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.cjs'))) throw new Error('dist/ is missing: run `npm run build:ts` first');
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-install-'));
    const r = sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', workDir], ROOT);
    if (r.status !== 0) throw new Error(`npm pack failed:\n${r.out}`);
    const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
    tarball = path.join(workDir, info.filename);
    const prebuilds = info.files.map((f) => f.path).filter((p) => p.startsWith('prebuilds/'));
    console.log(`tarball ${info.filename}: ${(info.size / 1048576).toFixed(1)} MB packed, ${(info.unpackedSize / 1048576).toFixed(1)} MB unpacked, ${info.files.length} files; prebuilds: ${prebuilds.join(', ')}`);
    if (!prebuilds.includes('prebuilds/linux-x64/gatedrnn.node')) throw new Error('the tarball has no linux-x64 prebuild');
  }, 300_000);

  afterAll(() => {
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('install scripts disabled: the prebuild loads, native backend', () => {
    const p = project('ignore-scripts');
    const install = p.install(['--ignore-scripts']);
    expect(install.status, install.out).toBe(0);
    const run = p.run();
    expect(run.status, run.out).toBe(0);
    console.log(`--ignore-scripts: backend ${run.got?.backend}, addon ${rel(p.pkg, run.got?.addon)}`);
    expect(run.got).toEqual({ backend: 'native', shape: [2, 4], addon: path.join(p.pkg, 'prebuilds', 'linux-x64', 'gatedrnn.node') });
    expect(run.warnings).toBe(0);
  }, 300_000);

  it('plain install: the install hook finds the prebuild and compiles nothing', () => {
    const p = project('plain');
    const install = p.install(['--foreground-scripts']);
    expect(install.status, install.out).toBe(0);
    expect(install.out).toMatch(/gatedrnn: native backend ready: prebuilds\/linux-x64\/gatedrnn\.node/);
    expect(fs.existsSync(path.join(p.pkg, 'build'))).toBe(false);
    const run = p.run();
    console.log(`plain npm install: backend ${run.got?.backend}, addon ${rel(p.pkg, run.got?.addon)}`);
    expect(run.got?.backend, run.out).toBe('native');
  }, 300_000);

  it('no prebuild for the platform and no compiler: installs, runs on the TS backend, and `gatedrnn info` says why and how to fix it', () => {
    const p = project('no-prebuild');
    expect(p.install(['--ignore-scripts']).status).toBe(0);
    // What a platform without a prebuild sees: none in the installed package.
    fs.rmSync(path.join(p.pkg, 'prebuilds'), { recursive: true, force: true });

    // Scripts disabled: TS backend, one warning naming the reason and the fix.
    const before = p.run();
    expect(before.got?.backend, before.out).toBe('js');
    expect(before.warnings).toBe(1);
    expect(before.stderr).toMatch(/no prebuilt binary for linux-x64/);
    expect(before.stderr).toMatch(/apt-get install libopenblas-dev && npm rebuild gatedrnn/);

    // The install hook, with OpenBLAS present but no working compiler: the build fails, the install does not.
    const rebuild = sh('npm', ['rebuild', 'gatedrnn', '--foreground-scripts'], p.dir, { CXX: 'false', CC: 'false' });
    expect(rebuild.status, rebuild.out).toBe(0);
    expect(rebuild.out).toMatch(/no prebuilt binary for linux-x64; building the native addon against OpenBLAS/);
    expect(rebuild.out).toMatch(/the native build failed \(see above\): installed with the pure-TypeScript backend/);
    const run = p.run();
    expect(run.status, run.out).toBe(0);
    console.log(`no prebuild, no compiler: backend ${run.got?.backend}`);
    expect(run.got).toMatchObject({ backend: 'js', shape: [2, 4], addon: null });
    expect(run.warnings).toBe(1);

    // gatedrnn info (the package's bin), as JSON and as text.
    const bin = path.join(p.dir, 'node_modules', '.bin', 'gatedrnn');
    expect(fs.existsSync(bin), 'the package has no gatedrnn bin').toBe(true);
    const json = sh(bin, ['info', '--json'], p.dir);
    expect(json.status, json.out).toBe(0);
    const info = JSON.parse(json.stdout);
    expect(info.backend).toBe('js');
    expect(info.why).toMatch(/no prebuilt binary for linux-x64 \(prebuilds\/ has none\); no local build/);
    expect(info.fix).toMatch(/apt-get install libopenblas-dev && npm rebuild gatedrnn/);
    const text = sh(bin, ['info'], p.dir);
    expect(text.status, text.out).toBe(0);
    console.log(`gatedrnn info, no prebuild:\n${text.stdout}`);
    expect(text.stdout).toMatch(/backend\s+js \(pure TypeScript\): the native addon could not be loaded: no prebuilt binary/);
    expect(text.stdout).toMatch(/to get native\s+apt-get install libopenblas-dev && npm rebuild gatedrnn/);
  }, 300_000);

  it('--build-from-source with OpenBLAS: builds, and the local build wins over the prebuild', () => {
    const p = project('from-source');
    const install = p.install(['--build-from-source', '--foreground-scripts']);
    expect(install.status, install.out).toBe(0);
    expect(install.out).toMatch(/building from source, as asked/);
    expect(install.out).toMatch(/native backend built/);
    const local = path.join(p.pkg, 'build', 'Release', 'gatedrnn.node');
    // Linked against the system's libopenblas.so: this is the local build, not the static prebuild.
    expect(spawnSync('ldd', [local], { encoding: 'utf8' }).stdout).toMatch(/libopenblas/);
    const run = p.run();
    console.log(`--build-from-source: backend ${run.got?.backend}, addon ${rel(p.pkg, run.got?.addon)}`);
    expect(run.got).toEqual({ backend: 'native', shape: [2, 4], addon: local });

    // A local build that no longer loads (say, libopenblas removed since): the prebuild takes over.
    fs.writeFileSync(local, 'not an ELF file');
    const fallback = p.run();
    expect(fallback.got, fallback.out).toEqual({ backend: 'native', shape: [2, 4], addon: path.join(p.pkg, 'prebuilds', 'linux-x64', 'gatedrnn.node') });
    expect(fallback.warnings).toBe(0);
  }, 300_000);
});
