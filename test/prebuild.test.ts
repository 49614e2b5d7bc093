/**
 * The prebuilt binaries (`npm run prebuild`, scripts/prebuild.cjs; CI makes
 * the linux-x64 one before the tests, and this file makes it if it is
 * missing): OpenBLAS linked in statically, with its run-time kernel choice
 * (DYNAMIC_ARCH) kept; nothing needed from the system but libc and libgcc_s,
 * glibc 2.34 at most; it loads and reproduces a golden case; the gate math
 * still dispatches on the CPU. The linux-arm64 one (scripts/prebuild-arm64.sh,
 * not run by CI) is checked when it exists: an AArch64 ELF with the same
 * dependencies, and the record of its golden smoke test under qemu-aarch64.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runNode } from './helpers/child.js';

const X64 = path.join(ROOT, 'prebuilds', 'linux-x64', 'gatedrnn.node');
const ARM64 = path.join(ROOT, 'prebuilds', 'linux-arm64', 'gatedrnn.node');
const ARM64_SMOKE = path.join(ROOT, 'build-prebuild', 'arm64-smoke.json');
const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

/** NEEDED libraries, machine, and the highest GLIBC/GLIBCXX symbol versions of an ELF file. */
function elf(file: string) {
  const r = spawnSync('readelf', ['-h', '-d', '--dyn-syms', '-W', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const versions = (prefix: string) =>
    [...new Set([...r.stdout.matchAll(new RegExp(`@${prefix}_([0-9.]+)`, 'g'))].map((m) => m[1]))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return {
    machine: /Machine:\s+(.*)/.exec(r.stdout)?.[1].trim(),
    needed: [...r.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]),
    glibc: versions('GLIBC').pop(),
    glibcxx: versions('GLIBCXX').pop(),
    undefinedFortran: r.stdout.split('\n').filter((l) => /\bUND\b/.test(l) && /_gfortran_/.test(l)),
  };
}

const NOT_NEEDED = /openblas|libblas|lapack|gfortran|quadmath|libstdc\+\+/;

function glibcAtMost(version: string | undefined, max: string): boolean {
  return version === undefined || version.localeCompare(max, 'en', { numeric: true }) <= 0;
}

describe.runIf(onLinuxX64)('the linux-x64 prebuild', () => {
  beforeAll(() => {
    if (fs.existsSync(X64)) return;
    const r = spawnSync('npm', ['run', 'prebuild'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm run prebuild failed:\n${r.stdout}\n${r.stderr}`);
  }, 300_000);

  it('links OpenBLAS (and libstdc++) statically: ldd shows libc and libgcc_s only, glibc 2.34 is enough', () => {
    const ldd = spawnSync('ldd', [X64], { encoding: 'utf8' });
    expect(ldd.status, ldd.stderr).toBe(0);
    expect(ldd.stdout).not.toMatch(/openblas|gfortran|not found/);
    const e = elf(X64);
    expect(e.machine).toMatch(/X86-64/);
    expect(e.needed.filter((n) => NOT_NEEDED.test(n))).toEqual([]);
    expect(e.undefinedFortran).toEqual([]);
    expect(e.glibcxx).toBeUndefined();
    expect(glibcAtMost(e.glibc, '2.34'), `needs GLIBC_${e.glibc}`).toBe(true);
  });

  it('keeps the kernels of many CPU types (DYNAMIC_ARCH) and picks one here; the gate math dispatches too', () => {
    const strings = spawnSync('strings', [X64], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const cores = new Set(strings.stdout.split('\n').filter((s) => /^(Prescott|Core2|Nehalem|Sandybridge|Haswell|SkylakeX|Cooperlake|Excavator)$/.test(s)));
    expect(cores.size).toBeGreaterThanOrEqual(6);
    const r = runNode(
      `const a = require(${JSON.stringify(X64)}); const i = a.info(); console.log(JSON.stringify({ config: i.blasConfig, core: i.blasCore, dispatch: i.gateMathDispatch }));`,
      {},
    );
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.config).toMatch(/DYNAMIC_ARCH/);
    expect(info.core).toBeTruthy();
    expect(info.dispatch).toMatch(/runtime/);
  });

  it('loads through the library and reproduces a golden case', () => {
    const check = `
      const g = require('./dist/index.cjs');
      const c = JSON.parse(require('fs').readFileSync('test/fixtures/golden/rnn/C01_gru_keras_v3_random_h0.json', 'utf8'));
      const v = (t) => Float32Array.from(t.data);
      (async () => {
        g.setBackend('native');
        const layer = g.layers.gru({ units: c.config.hidden_size, returnSequences: true });
        layer.setWeights(['kernel_l0', 'recurrent_kernel_l0', 'bias_l0'].map((n) => g.tensor(v(c.params[n]), c.params[n].shape)));
        const out = await layer.apply(g.tensor(v(c.inputs.x), c.inputs.x.shape), { initialState: [g.tensor(v(c.inputs.h0), c.inputs.h0.shape.slice(1))] });
        const want = v(c.outputs.output), got = out.dataSync();
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        console.log(JSON.stringify({ path: g.backendInfo().nativePath, worst }));
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const r = runNode(check, { GATEDRNN_ADDON: X64, GATEDRNN_BACKEND: undefined });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.path).toBe(X64);
    expect(out.worst).toBeLessThan(1e-5);
  });
});

describe.runIf(process.platform === 'linux' && fs.existsSync(ARM64))('the linux-arm64 prebuild (scripts/prebuild-arm64.sh)', () => {
  it('is an AArch64 ELF with OpenBLAS linked statically', () => {
    const e = elf(ARM64);
    expect(e.machine).toMatch(/AArch64/);
    expect(e.needed.filter((n) => NOT_NEEDED.test(n))).toEqual([]);
    expect(e.undefinedFortran).toEqual([]);
    expect(e.glibcxx).toBeUndefined();
    expect(glibcAtMost(e.glibc, '2.34'), `needs GLIBC_${e.glibc}`).toBe(true);
  });

  it.runIf(fs.existsSync(ARM64_SMOKE))('passed the golden cases under qemu-aarch64 (the record of its smoke test)', () => {
    const smoke = JSON.parse(fs.readFileSync(ARM64_SMOKE, 'utf8'));
    const sha = createHash('sha256').update(fs.readFileSync(ARM64)).digest('hex');
    expect(smoke.sha256, 'the smoke test was run on another build: rerun scripts/prebuild-arm64.sh').toBe(sha);
    expect(smoke).toMatchObject({ status: 0, arch: 'arm64', backend: 'native', failures: [] });
    expect(smoke.cases).toBeGreaterThanOrEqual(25);
    expect(smoke.nativePath).toMatch(/prebuilds[/\\]linux-arm64[/\\]gatedrnn\.node$/);
  });
});
