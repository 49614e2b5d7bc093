/**
 * The per-timestep recurrent product (native/kernels/packed_gemm.cpp): the
 * recurrent kernel is packed once into column panels and every step runs a
 * register-tiled kernel over them (gemm_tiles.cpp). Its vector width is
 * chosen once per process (kernel_isa.cpp), so every choice is tested in its
 * own process:
 *
 *  1. here, the addon's `packedGemm` against a float64 reference at every
 *     tile remainder (rows 1..16 around the 8-, 6- and 4-row tiles, columns around the
 *     16- and 32-wide panels, k around the 4-step unroll of one row), both
 *     layouts of B, beta 0 over a NaN-filled C and beta 1, strided A and C,
 *     on 1 and 2 threads;
 *  2. the instruction-set choice: the CPU's best, capped by OPENBLAS_CORETYPE
 *     (a user's setting, honoured as OpenBLAS honours it) or by
 *     GATEDRNN_KERNEL_ISA;
 *  3. this file and test/crossBackend.test.ts (every cell against the TS
 *     backend, forward and backward) again in a child vitest for each other
 *     instruction set this CPU has.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SgemmArgs } from '../lib/backend/types.js';
import { rng, uniform } from './helpers/random.js';

/** sgemm's arguments without transA and alpha: A is read as it is stored, alpha is 1. */
type PackedGemmArgs = Omit<SgemmArgs, 'transA' | 'alpha'>;
interface Addon {
  packedGemm(args: PackedGemmArgs): void;
  setNumThreads(n: number): void;
  info(): { cpuFeatures: string[]; recurrentKernelIsa: string };
}

const root = path.join(__dirname, '..');
const addon = createRequire(import.meta.url)('node-gyp-build')(root) as Addon;
const features = addon.info().cpuFeatures;
const cpuBest = features.includes('avx512f') ? 'avx512' : features.includes('avx2') && features.includes('fma') ? 'avx2' : 'generic';
const ORDER = ['generic', 'avx2', 'avx512'];
const capped = (isa: string, cap: string) => ORDER[Math.min(ORDER.indexOf(isa), ORDER.indexOf(cap))];

const values = (n: number, seed: number): Float32Array => uniform(n, 1, rng(seed));

/** Runs one product through the addon and checks it against float64. */
function check(m: number, k: number, n: number, transB: boolean, beta: 0 | 1, pad = 0): void {
  const lda = k + pad, ldc = n + pad, ldb = (transB ? k : n) + pad;
  const a = values(Math.max(1, m * lda), m * 31 + k);
  const b = values(Math.max(1, (transB ? n : k) * ldb), n * 17 + k);
  const c = beta === 0 ? new Float32Array(Math.max(1, m * ldc)).fill(NaN) : values(Math.max(1, m * ldc), 5);
  const before = c.slice();
  addon.packedGemm({ transB, m, n, k, a, lda, b, ldb, beta, c, ldc });
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let want = beta === 1 ? before[i * ldc + j] : 0;
      for (let p = 0; p < k; p++) want += a[i * lda + p] * (transB ? b[j * ldb + p] : b[p * ldb + j]);
      const err = Math.abs(c[i * ldc + j] - want) / (1e-5 + 1e-5 * Math.sqrt(k) * Math.abs(want) + 2e-7 * k);
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
    }
    // The padding between rows of C is never written.
    for (let j = n; j < ldc && i < m - 1; j++) expect(Object.is(c[i * ldc + j], before[i * ldc + j])).toBe(true);
  }
  expect(worst, `m${m} k${k} n${n} transB=${transB} beta=${beta} pad=${pad}`).toBeLessThanOrEqual(1);
}

describe(`packed recurrent product (${addon.info().recurrentKernelIsa})`, () => {
  afterAll(() => addon.setNumThreads(2));

  for (const threads of [1, 2]) {
    it(`every tile remainder, both layouts of B, beta 0 and 1, on ${threads} thread(s)`, () => {
      addon.setNumThreads(threads);
      // Around the tile heights: 8 (AVX-512), 6 (AVX2), 4 (portable).
      for (const m of [1, 2, 3, 5, 6, 7, 8, 11, 12, 13, 16]) {
        for (const n of [1, 15, 16, 17, 31, 32, 33, 65]) {
          for (const k of [1, 3, 4, 5, 9]) {
            check(m, k, n, m % 2 === 0, ((m + n) % 2) as 0 | 1, (k + n) % 3);
          }
        }
      }
    });
  }

  it('products big enough to split across threads by panels agree at 1 and 2 threads', () => {
    for (const [m, k, n] of [[1, 1030, 1100], [16, 300, 200], [7, 129, 1000]]) {
      for (const threads of [1, 2]) {
        addon.setNumThreads(threads);
        check(m, k, n, false, 0);
        check(m, k, n, true, 1, 3);
      }
    }
  });

  it('k = 0 leaves C = beta * C; m = 0 or n = 0 writes nothing', () => {
    const c = new Float32Array([NaN, NaN, NaN, NaN]);
    addon.packedGemm({ transB: false, m: 2, n: 2, k: 0, a: new Float32Array(1), lda: 1, b: new Float32Array(1), ldb: 2, beta: 0, c, ldc: 2 });
    expect(Array.from(c)).toEqual([0, 0, 0, 0]);
    const d = new Float32Array([1, 2, 3, 4]);
    addon.packedGemm({ transB: false, m: 2, n: 2, k: 0, a: new Float32Array(1), lda: 1, b: new Float32Array(1), ldb: 2, beta: 1, c: d, ldc: 2 });
    expect(Array.from(d)).toEqual([1, 2, 3, 4]);
    addon.packedGemm({ transB: false, m: 0, n: 2, k: 3, a: new Float32Array(1), lda: 3, b: new Float32Array(6), ldb: 2, beta: 0, c: d, ldc: 2 });
    expect(Array.from(d)).toEqual([1, 2, 3, 4]);
  });

  it('rejects a beta other than 0 or 1 and buffers too short for their shape', () => {
    const args = (): PackedGemmArgs => ({ transB: false, m: 2, n: 3, k: 4, a: new Float32Array(8), lda: 4, b: new Float32Array(12), ldb: 3, beta: 0, c: new Float32Array(6), ldc: 3 });
    expect(() => addon.packedGemm({ ...args(), beta: 0.5 })).toThrow(/beta must be 0 or 1/);
    expect(() => addon.packedGemm({ ...args(), b: new Float32Array(11) })).toThrow(RangeError);
    expect(() => addon.packedGemm({ ...args(), lda: 3 })).toThrow(/leading dimension/);
  });
});

/** recurrentKernelIsa in a fresh process with `env` over a clean environment. */
function isaWith(env: Record<string, string>): string {
  const clean = { ...process.env };
  delete clean.OPENBLAS_CORETYPE;
  delete clean.GATEDRNN_KERNEL_ISA;
  const r = spawnSync(process.execPath, ['-e', `console.log(require('node-gyp-build')(${JSON.stringify(root)}).info().recurrentKernelIsa)`], {
    cwd: root,
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

describe('which instruction set the recurrent kernel uses', () => {
  it("is the CPU's best unless OPENBLAS_CORETYPE or GATEDRNN_KERNEL_ISA caps it", () => {
    expect(isaWith({})).toBe(cpuBest);
    expect(isaWith({ OPENBLAS_CORETYPE: 'Haswell' })).toBe(capped(cpuBest, 'avx2'));
    expect(isaWith({ OPENBLAS_CORETYPE: 'zen' })).toBe(capped(cpuBest, 'avx2'));
    expect(isaWith({ OPENBLAS_CORETYPE: 'SkylakeX' })).toBe(cpuBest);
    expect(isaWith({ OPENBLAS_CORETYPE: 'Sandybridge' })).toBe('generic');
    // An explicit choice for gatedrnn's own kernels wins over OpenBLAS's setting, never over the CPU.
    expect(isaWith({ OPENBLAS_CORETYPE: 'Haswell', GATEDRNN_KERNEL_ISA: 'avx512' })).toBe(cpuBest);
    expect(isaWith({ OPENBLAS_CORETYPE: 'SkylakeX', GATEDRNN_KERNEL_ISA: 'generic' })).toBe('generic');
  });
});

// The child runs skip this block, so the nesting stops at one level.
const others = process.env.GATEDRNN_KERNEL_ISA ? [] : ORDER.filter((isa) => ORDER.indexOf(isa) <= ORDER.indexOf(cpuBest) && isa !== addon.info().recurrentKernelIsa);
describe.skipIf(others.length === 0)('the other instruction sets this CPU has, each in a child vitest', () => {
  it.each(others)('%s: this file and every cell against the TS backend', (isa) => {
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=verbose', 'test/packedGemm.test.ts', 'test/crossBackend.test.ts'], {
      cwd: root,
      env: { ...process.env, GATEDRNN_KERNEL_ISA: isa },
      encoding: 'utf8',
    });
    const summary = r.stdout.split('\n').filter((l) => /Test Files|Tests |FAIL|recurrent product \(/.test(l)).join('\n');
    expect(r.status, `${summary}\n${r.stderr.slice(-2000)}`).toBe(0);
    // The child really ran with the asked-for kernels.
    expect(r.stdout).toContain(`packed recurrent product (${isa})`);
  }, 240_000);
});
