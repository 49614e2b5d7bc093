/**
 * Installing the packed package into a fresh project, the way users get it:
 *   - with OpenBLAS and a compiler: the install builds the addon, native runs;
 *   - with no working compiler (the same path as no OpenBLAS: no addon can be
 *     built): the install still succeeds, the TS backend runs, and one warning
 *     says how to get the fast path;
 *   - with install scripts disabled (pnpm's default): TS backend, same warning.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/child.js';

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
  console.log(JSON.stringify({ backend: g.getBackend(), shape: y.shape }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function freshProject(name: string, installArgs: string[], env: Record<string, string> = {}) {
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }));
  const install = sh('npm', ['install', '--no-audit', '--no-fund', ...installArgs, tarball], dir, env);
  const run = install.status === 0 ? sh(process.execPath, ['-e', smoke], dir) : null;
  return { install, run };
}

describe('installing the packed package', () => {
  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-install-'));
    const r = sh('npm', ['pack', '--pack-destination', workDir], ROOT);
    if (r.status !== 0) throw new Error(`npm pack failed:\n${r.out}`);
    tarball = path.join(workDir, r.stdout.trim().split('\n').pop() as string);
  }, 300_000);

  afterAll(() => {
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('builds the addon against OpenBLAS and runs native', () => {
    const { install, run } = freshProject('with-openblas', []);
    expect(install.status, install.out).toBe(0);
    expect(run?.status, run?.out).toBe(0);
    expect(JSON.parse(run!.stdout)).toEqual({ backend: 'native', shape: [2, 4] });
    expect(run!.stderr).not.toMatch(/GATEDRNN_NO_NATIVE/);
  }, 300_000);

  it('installs without a working compiler and runs on the TS backend, warning once', () => {
    // npm hides install-script output unless asked; the runtime warning below is what every user sees.
    const { install, run } = freshProject('no-compiler', ['--foreground-scripts'], { CXX: 'false', CC: 'false' });
    expect(install.status, install.out).toBe(0);
    expect(install.out).toMatch(/installed with the pure-TypeScript backend/);
    expect(run?.status, run?.out).toBe(0);
    expect(JSON.parse(run!.stdout)).toEqual({ backend: 'js', shape: [2, 4] });
    expect(run!.stderr.match(/GATEDRNN_NO_NATIVE/g)).toHaveLength(1);
    expect(run!.stderr).toMatch(/apt-get install libopenblas-dev && npm rebuild/);
  }, 300_000);

  it('installs with scripts disabled and runs on the TS backend', () => {
    const { install, run } = freshProject('ignore-scripts', ['--ignore-scripts']);
    expect(install.status, install.out).toBe(0);
    expect(run?.status, run?.out).toBe(0);
    expect(JSON.parse(run!.stdout)).toEqual({ backend: 'js', shape: [2, 4] });
    expect(run!.stderr.match(/GATEDRNN_NO_NATIVE/g)).toHaveLength(1);
  }, 300_000);
});
