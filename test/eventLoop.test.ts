/**
 * Long kernels do not block the event loop: a timer keeps firing while a
 * large forward and backward run (native: N-API async workers on another
 * thread; TS: the kernels hand the loop a turn between timesteps).
 */
import { describe, expect, it } from 'vitest';
import { GRU, setBackend, tensor } from '../lib/index.js';
import { rng, uniform } from './helpers/random.js';

describe.each([
  ['native', { B: 64, T: 200, I: 128, H: 256 }],
  ['js', { B: 16, T: 100, I: 32, H: 96 }],
] as const)('event loop on the %s backend', (backendName, shape) => {
  it('a timer keeps ticking during forward and backward', async () => {
    setBackend(backendName);
    const { B, T, I, H } = shape;
    const next = rng(3);
    const layer = new GRU({ units: H, returnSequences: true, seed: 1 });
    const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await layer.apply(x, { training: true });
      const forwardTicks = ticks;
      await layer.backward(tensor(uniform(B * T * H, 1, next), [B, T, H]));
      // A kernel that held the main thread would leave both counts at zero.
      expect(forwardTicks).toBeGreaterThanOrEqual(2);
      expect(ticks - forwardTicks).toBeGreaterThanOrEqual(2);
    } finally {
      clearInterval(timer);
    }
  });
});
