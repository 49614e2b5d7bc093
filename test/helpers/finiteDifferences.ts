/** Central finite differences against analytic gradients. */
import { expect } from 'vitest';

/**
 * For about `samples` entries of each array in `perturbed`, compares
 * (loss(+eps) - loss(-eps)) / 2eps with the matching entry of `analytic`
 * (float32 kernels: tolerance 3e-3 + 2e-2 |numeric|). Restores every
 * entry; returns how many were checked.
 */
export async function expectFiniteDifferences(
  perturbed: Float32Array[],
  analytic: ArrayLike<number>[],
  names: string[],
  loss: () => Promise<number>,
  samples = 10,
  eps = 1e-3,
): Promise<number> {
  let checked = 0;
  for (let p = 0; p < perturbed.length; p++) {
    const v = perturbed[p];
    for (let i = 0; i < v.length; i += Math.max(1, Math.floor(v.length / samples))) {
      const keep = v[i];
      v[i] = keep + eps;
      const up = await loss();
      v[i] = keep - eps;
      const down = await loss();
      v[i] = keep;
      const numeric = (up - down) / (2 * eps);
      expect(Math.abs(analytic[p][i] - numeric), `${names[p]}[${i}] analytic ${analytic[p][i]} numeric ${numeric}`).toBeLessThanOrEqual(3e-3 + 2e-2 * Math.abs(numeric));
      checked++;
    }
  }
  return checked;
}
