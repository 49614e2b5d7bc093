/**
 * Weight initializers (Keras definitions), driven by a seeded generator so
 * that a layer built with a `seed` is reproducible.
 */
import { sgemm as sgemmJs } from '../backend/js/gemm.js';
import type { SgemmArgs } from '../backend/types.js';

/** mulberry32: small, fast, good enough for weight initialisation. */
export class Random {
  private state: number;
  constructor(seed?: number) {
    this.state = (seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/** Glorot (Xavier) uniform for a (fanIn, fanOut) matrix: U(-l, l), l = sqrt(6 / (fanIn + fanOut)). */
export function glorotUniform(fanIn: number, fanOut: number, rng: Random): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * limit;
  return out;
}

/**
 * Orthogonal (rows, cols) matrix, as Keras: a normal matrix of shape
 * (max, min) is orthonormalised (QR with a positive diagonal) and transposed
 * when rows < cols, so the result has orthonormal rows or columns, whichever
 * are fewer.
 *
 * The orthonormalisation is block Gram-Schmidt with reorthogonalisation
 * (CGS2): each block of 32 vectors is projected off the vectors before it
 * twice, with GEMMs on the active backend, then orthonormalised within the
 * block. Done vector by vector in JavaScript it took seconds at 1024 units.
 */
export function orthogonal(rows: number, cols: number, rng: Random, gain = 1, gemm: (args: SgemmArgs) => void = sgemmJs): Float32Array {
  const long = Math.max(rows, cols), short = Math.min(rows, cols);
  // v: `short` vectors of length `long`, one per row.
  const v = new Float32Array(short * long);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  const block = 32;
  for (let start = 0; start < short; start += block) {
    const count = Math.min(block, short - start);
    const blk = v.subarray(start * long, (start + count) * long);
    if (start > 0) {
      const done = v.subarray(0, start * long);
      const proj = new Float32Array(count * start);
      for (let pass = 0; pass < 2; pass++) {
        // proj (count, start) = blk @ done^T; blk -= proj @ done
        gemm({ transA: false, transB: true, m: count, n: start, k: long, alpha: 1, a: blk, lda: long, b: done, ldb: long, beta: 0, c: proj, ldc: start });
        gemm({ transA: false, transB: false, m: count, n: long, k: start, alpha: -1, a: proj, lda: start, b: done, ldb: long, beta: 1, c: blk, ldc: long });
      }
    }
    // Within the block: modified Gram-Schmidt, in double precision sums.
    for (let i = 0; i < count; i++) {
      const vi = blk.subarray(i * long, (i + 1) * long);
      for (let pass = 0; pass < 2; pass++) {
        for (let j = 0; j < i; j++) {
          const vj = blk.subarray(j * long, (j + 1) * long);
          let dot = 0;
          for (let k = 0; k < long; k++) dot += vi[k] * vj[k];
          for (let k = 0; k < long; k++) vi[k] -= dot * vj[k];
        }
      }
      let norm = 0;
      for (let k = 0; k < long; k++) norm += vi[k] * vi[k];
      norm = Math.sqrt(norm);
      for (let k = 0; k < long; k++) vi[k] /= norm;
    }
  }
  if (rows < cols) {
    for (let i = 0; i < v.length; i++) v[i] *= gain;
    return v;
  }
  // (short, long) -> (long, short): orthonormal columns.
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < short; i++) for (let k = 0; k < long; k++) out[k * cols + i] = gain * v[i * long + k];
  return out;
}
