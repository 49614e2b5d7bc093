/**
 * Weight initializers (Keras definitions), driven by a seeded generator so
 * that a layer built with a `seed` is reproducible.
 */

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
 * (max, min) is orthonormalised (QR with a positive diagonal, here by
 * modified Gram-Schmidt) and transposed when rows < cols, so the result has
 * orthonormal rows or columns, whichever are fewer.
 */
export function orthogonal(rows: number, cols: number, rng: Random, gain = 1): Float32Array {
  const long = Math.max(rows, cols), short = Math.min(rows, cols);
  // q: `short` column vectors of length `long`, stored column by column.
  const q: Float64Array[] = [];
  for (let c = 0; c < short; c++) {
    const v = new Float64Array(long);
    for (let i = 0; i < long; i++) v[i] = rng.normal();
    for (const u of q) {
      let dot = 0;
      for (let i = 0; i < long; i++) dot += u[i] * v[i];
      for (let i = 0; i < long; i++) v[i] -= dot * u[i];
    }
    let norm = 0;
    for (let i = 0; i < long; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < long; i++) v[i] /= norm;
    q.push(v);
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < long; i++) {
    for (let c = 0; c < short; c++) {
      // (long, short) matrix element (i, c); transposed when rows < cols.
      if (rows >= cols) out[i * cols + c] = gain * q[c][i];
      else out[c * cols + i] = gain * q[c][i];
    }
  }
  return out;
}
