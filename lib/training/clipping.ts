/**
 * Gradient clipping on flat float32 gradients, in place. Norms are summed in
 * float64 so that a large model's norm does not depend on summation order
 * as much as a float32 sum would.
 *
 * Two global-norm forms exist and differ only by a tiny epsilon:
 * - Keras `global_clipnorm` / `tf.clip_by_global_norm`: scale = min(1, max / n);
 * - PyTorch `clip_grad_norm_`: scale = max / (n + 1e-6), applied only when < 1.
 */

function checkGrads(grads: readonly Float32Array[], what: string): void {
  if (!Array.isArray(grads)) throw new TypeError(`${what}: grads must be an array of Float32Array`);
  grads.forEach((g, i) => {
    if (!(g instanceof Float32Array)) throw new TypeError(`${what}: grads[${i}] must be a Float32Array`);
  });
}

function checkPositive(v: unknown, name: string): number {
  if (typeof v !== 'number') throw new TypeError(`${name} must be a finite number > 0, got ${JSON.stringify(v)}`);
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a finite number > 0, got ${v}`);
  return v;
}

/** L2 norm of one array, summed in float64. */
export function l2Norm(g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/** L2 norm of all gradients taken together, `sqrt(Σ g²)` over every array, in float64. */
export function globalNorm(grads: readonly Float32Array[]): number {
  checkGrads(grads, 'globalNorm');
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

function scaleAll(grads: readonly Float32Array[], scale: number): void {
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= scale;
}

/** Clamps every gradient value to [-clipValue, clipValue] (Keras `clipvalue`), in place. */
export function clipByValue(grads: readonly Float32Array[], clipValue: number): void {
  checkGrads(grads, 'clipByValue');
  const c = checkPositive(clipValue, 'clipByValue: clipValue');
  for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = Math.min(c, Math.max(-c, g[i]));
}

/**
 * Keras `clipnorm`: each array scaled separately by `maxNorm / max(norm, maxNorm)`,
 * in place. Returns the arrays' norms before clipping.
 */
export function clipByNorm(grads: readonly Float32Array[], maxNorm: number): number[] {
  checkGrads(grads, 'clipByNorm');
  const c = checkPositive(maxNorm, 'clipByNorm: maxNorm');
  return grads.map((g) => {
    const n = l2Norm(g);
    if (n > c) scaleAll([g], c / n);
    return n;
  });
}

/** Options of {@link clipByGlobalNorm}. */
export interface ClipByGlobalNormOptions {
  /** Added to the norm before dividing (default 0, Keras; PyTorch uses 1e-6). */
  epsilon?: number;
}

/**
 * Scales all gradients together by `c = maxNorm / (n + epsilon)` when
 * `c < 1`, where n is their {@link globalNorm}; in place. With the default
 * epsilon 0 this is Keras's `global_clipnorm`. Returns the raw global norm
 * (before clipping), which is what a training log shows.
 */
export function clipByGlobalNorm(grads: readonly Float32Array[], maxNorm: number, options: ClipByGlobalNormOptions = {}): number {
  const c = checkPositive(maxNorm, 'clipByGlobalNorm: maxNorm');
  const eps = options.epsilon ?? 0;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new RangeError(`clipByGlobalNorm: epsilon must be a finite number >= 0, got ${eps}`);
  const n = globalNorm(grads);
  const scale = c / (n + eps);
  if (scale < 1) scaleAll(grads, scale);
  return n;
}

/**
 * PyTorch's `torch.nn.utils.clip_grad_norm_(params, maxNorm)`: scale by
 * `maxNorm / (n + 1e-6)` when that is < 1, in place. Returns the raw global norm.
 */
export function clipByGlobalNormTorch(grads: readonly Float32Array[], maxNorm: number): number {
  return clipByGlobalNorm(grads, maxNorm, { epsilon: 1e-6 });
}
