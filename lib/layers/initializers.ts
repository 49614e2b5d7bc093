/**
 * Weight initializers (Keras definitions), driven by a seeded generator so
 * that a layer built with a `seed` is reproducible.
 */
import { sgemm as sgemmJs } from '../backend/js/gemm.js';
import type { SgemmArgs } from '../backend/types.js';

export { Random } from '../random.js';
import { Random } from '../random.js';

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

/** Names of the built-in initializers (tfjs spelling; Keras's snake_case is accepted too). */
export type InitializerName =
  | 'zeros'
  | 'ones'
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'heNormal'
  | 'lecunUniform'
  | 'lecunNormal'
  | 'orthogonal'
  | 'randomNormal'
  | 'randomUniform'
  | 'truncatedNormal';

/** An initializer with its options, e.g. `{name: 'randomNormal', mean: 0, stddev: 0.05}`. */
export interface InitializerConfig {
  name: InitializerName;
  /** randomNormal / truncatedNormal */
  mean?: number;
  stddev?: number;
  /** randomUniform */
  minval?: number;
  maxval?: number;
  /** orthogonal */
  gain?: number;
}

/** What the layers' `*Initializer` options take. */
export type InitializerIdentifier = InitializerName | InitializerConfig;

const NAMES: readonly InitializerName[] = [
  'zeros',
  'ones',
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'lecunUniform',
  'lecunNormal',
  'orthogonal',
  'randomNormal',
  'randomUniform',
  'truncatedNormal',
];

const snakeToCamel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Checks an initializer option and returns it in canonical form. */
export function checkInitializer(value: unknown, option: string): InitializerConfig {
  const config = typeof value === 'string' ? { name: value } : value;
  if (config === null || typeof config !== 'object' || typeof (config as { name?: unknown }).name !== 'string') {
    throw new TypeError(`${option} must be an initializer name like 'glorotUniform' or an object like {name: 'randomNormal', stddev: 0.05}, got ${JSON.stringify(value)}`);
  }
  const c = { ...(config as InitializerConfig) };
  c.name = snakeToCamel(c.name) as InitializerName;
  if (!NAMES.includes(c.name)) throw new TypeError(`${option}: unknown initializer ${JSON.stringify((config as { name: string }).name)}; expected one of ${NAMES.join(', ')}`);
  for (const k of ['mean', 'stddev', 'minval', 'maxval', 'gain'] as const) {
    if (c[k] !== undefined && (typeof c[k] !== 'number' || !Number.isFinite(c[k]))) throw new TypeError(`${option}.${k} must be a finite number, got ${JSON.stringify(c[k])}`);
  }
  if (c.stddev !== undefined && c.stddev < 0) throw new RangeError(`${option}.stddev must be >= 0, got ${c.stddev}`);
  return c;
}

/** A normal sample cut at two standard deviations (Keras's truncated normal). */
function truncated(rng: Random): number {
  for (;;) {
    const v = rng.normal();
    if (Math.abs(v) <= 2) return v;
  }
}

/**
 * Values for a (rows, cols) weight matrix; fanIn = rows, fanOut = cols as
 * Keras counts them for a 2-D kernel. `gemm` speeds up orthogonal.
 */
export function initialize(config: InitializerConfig, rows: number, cols: number, rng: Random, gemm?: (args: SgemmArgs) => void): Float32Array {
  const n = rows * cols;
  const out = new Float32Array(n);
  const uniform = (limit: number) => {
    for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * limit;
  };
  // Keras's variance scaling with a truncated normal divides by the stddev
  // of a unit normal truncated at 2.
  const truncatedNormal = (stddev: number, mean = 0) => {
    for (let i = 0; i < n; i++) out[i] = mean + stddev * truncated(rng);
  };
  const TRUNCATED_STD = 0.8796256610342398;
  switch (config.name) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'glorotUniform':
      uniform(Math.sqrt(6 / (rows + cols)));
      break;
    case 'glorotNormal':
      truncatedNormal(Math.sqrt(2 / (rows + cols)) / TRUNCATED_STD);
      break;
    case 'heUniform':
      uniform(Math.sqrt(6 / rows));
      break;
    case 'heNormal':
      truncatedNormal(Math.sqrt(2 / rows) / TRUNCATED_STD);
      break;
    case 'lecunUniform':
      uniform(Math.sqrt(3 / rows));
      break;
    case 'lecunNormal':
      truncatedNormal(Math.sqrt(1 / rows) / TRUNCATED_STD);
      break;
    case 'orthogonal':
      return orthogonal(rows, cols, rng, config.gain ?? 1, gemm);
    case 'randomNormal': {
      const mean = config.mean ?? 0, stddev = config.stddev ?? 0.05;
      for (let i = 0; i < n; i++) out[i] = mean + stddev * rng.normal();
      break;
    }
    case 'truncatedNormal':
      truncatedNormal(config.stddev ?? 0.05, config.mean ?? 0);
      break;
    case 'randomUniform': {
      const lo = config.minval ?? -0.05, hi = config.maxval ?? 0.05;
      for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.next();
      break;
    }
  }
  return out;
}
