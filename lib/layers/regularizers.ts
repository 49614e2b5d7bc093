/**
 * Weight regularizers (Keras `l1`, `l2`, `l1_l2`): a penalty
 * l1 * sum|w| + l2 * sum w^2 added to the loss, and its gradient
 * l1 * sign(w) + 2 * l2 * w added to the weight's gradient.
 */

/** `'l1'` and `'l2'` take Keras's default factor 0.01; or give the factors. */
export type RegularizerIdentifier = 'l1' | 'l2' | 'l1l2' | { l1?: number; l2?: number };

export interface Regularizer {
  l1: number;
  l2: number;
}

/** Checks a regularizer option; null when absent. */
export function checkRegularizer(value: unknown, option: string): Regularizer | null {
  if (value === undefined || value === null) return null;
  if (value === 'l1') return { l1: 0.01, l2: 0 };
  if (value === 'l2') return { l1: 0, l2: 0.01 };
  if (value === 'l1l2' || value === 'l1_l2') return { l1: 0.01, l2: 0.01 };
  if (typeof value === 'object' && !Array.isArray(value)) {
    const { l1 = 0, l2 = 0 } = value as { l1?: unknown; l2?: unknown };
    for (const [k, v] of [['l1', l1], ['l2', l2]] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new TypeError(`${option}.${k} must be a finite number >= 0, got ${JSON.stringify(v)}`);
    }
    return { l1: l1 as number, l2: l2 as number };
  }
  throw new TypeError(`${option} must be 'l1', 'l2', 'l1l2' or an object like {l1: 0.001, l2: 0.01}, got ${JSON.stringify(value)}`);
}

/** l1 * sum|w| + l2 * sum w^2, summed in double. */
export function penalty(r: Regularizer, w: Float32Array): number {
  let a = 0, b = 0;
  for (let i = 0; i < w.length; i++) {
    a += Math.abs(w[i]);
    b += w[i] * w[i];
  }
  return r.l1 * a + r.l2 * b;
}

/** grad += l1 * sign(w) + 2 * l2 * w, in place. */
export function addPenaltyGradient(r: Regularizer, w: Float32Array, grad: Float32Array): void {
  for (let i = 0; i < w.length; i++) grad[i] += r.l1 * Math.sign(w[i]) + 2 * r.l2 * w[i];
}
