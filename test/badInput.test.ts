/**
 * Bad input at every public entry point gives a clear TypeError / RangeError
 * (or one of the library's typed errors) whose message names the argument:
 * never a crash, a hang or a silent wrong answer. After each error the layer
 * must still work, with the same results as before (no state corrupted).
 *
 * Every case runs on both backends.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  DisposedTensorError,
  GRU,
  Tensor,
  getBackend,
  getNumThreads,
  layers,
  setBackend,
  setNumThreads,
  tensor,
  zeros,
} from '../lib/index.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const B = 2;
const T = 3;
const I = 4;
const H = 5;

/** Deterministic values in [-1, 1). */
function values(n: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const goodX = (b = B, t = T, i = I, seed = 7): Tensor => tensor(values(b * t * i, seed), [b, t, i]);
const goodH0 = (b = B, seed = 11): Tensor => tensor(values(b * H, seed), [b, H]);

/**
 * Runs fn (sync or async) and checks that it failed with an error of class
 * `cls` whose message matches `re`.
 */
async function expectError(fn: () => unknown, cls: abstract new (...args: Any[]) => Error, re: RegExp): Promise<void> {
  let err: unknown = undefined;
  let threw = false;
  try {
    await fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  expect(threw, `expected a ${cls.name} matching ${re}, but nothing was thrown`).toBe(true);
  expect(err, `expected a ${cls.name}, got ${String(err)}`).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(re);
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      throw new Error(`element ${i}: got ${got[i]}, want ${want[i]} (tol ${tol})`);
    }
  }
}

/** The output of apply, without the state when returnState. */
const firstOutput = (out: Tensor | Tensor[]): Tensor => (Array.isArray(out) ? out[0] : out);

/** A built layer with seeded weights and the output it gives on goodX(). */
interface Fixture {
  layer: GRU;
  reference: Float32Array;
  weights: Float32Array[];
}

async function fixture(args: Partial<Parameters<typeof layers.gru>[0]> = {}): Promise<Fixture> {
  const layer = layers.gru({ units: H, seed: 42, ...args });
  const out = firstOutput(await layer.apply(goodX(), { initialState: goodH0() }));
  return { layer, reference: out.dataSync() as Float32Array, weights: layer.getWeights().map((w) => w.dataSync() as Float32Array) };
}

/** The layer still computes exactly what it computed before the error, with the same weights. */
async function expectHealthy(f: Fixture): Promise<void> {
  const weights = f.layer.getWeights();
  expect(weights.length).toBe(f.weights.length);
  weights.forEach((w, i) => expectClose(w.dataSync() as Float32Array, f.weights[i], 0));
  const out = firstOutput(await f.layer.apply(goodX(), { initialState: goodH0() }));
  expectClose(out.dataSync() as Float32Array, f.reference);
}

describe.each(['native', 'js'] as const)('bad input, %s backend', (backendName) => {
  beforeEach(() => {
    setBackend(backendName);
  });

  it('runs on the requested backend', () => {
    expect(getBackend()).toBe(backendName);
  });

  describe('tensor()', () => {
    it('rejects a non-numeric element, naming where it is', async () => {
      await expectError(() => tensor([1, 'a' as Any, 3]), TypeError, /tensor\(\).*element \[1\].*string/);
      await expectError(() => tensor([[1, 2], [3, {} as Any]]), TypeError, /element \[1\]\[1\].*object/);
      await expectError(() => tensor([[1, 2], [3, null as Any]]), TypeError, /element \[1\]\[1\].*null/);
      await expectError(() => tensor([1, undefined as Any]), TypeError, /element \[1\].*undefined/);
      // A hole in a sparse array is an undefined element.
      // eslint-disable-next-line no-sparse-arrays
      await expectError(() => tensor([1, , 3] as Any), TypeError, /element \[1\].*undefined/);
      // A nested array where a number belongs.
      await expectError(() => tensor([1, [2, 3]] as Any), TypeError, /element \[1\]/);
    });

    it('rejects ragged nested arrays', async () => {
      await expectError(() => tensor([[1, 2], [3]]), RangeError, /ragged.*element \[1\].*length 1.*expected 2/);
      await expectError(() => tensor([[1, 2], 3] as Any), RangeError, /ragged.*element \[1\]/);
      await expectError(() => tensor([[[1], [2]], [[3], [4, 5]]]), RangeError, /ragged.*element \[1\]\[1\]/);
    });

    it('rejects values that do not fill the shape', async () => {
      await expectError(() => tensor([1, 2, 3], [2, 2]), RangeError, /3 values.*shape \[2, 2\]/);
      await expectError(() => tensor(new Float32Array(5), [2, 2]), RangeError, /5 values.*shape \[2, 2\]/);
      await expectError(() => tensor([[1, 2], [3, 4]], [3]), RangeError, /4 values.*shape \[3\]/);
      await expectError(() => tensor(5, [2]), RangeError, /single value.*shape \[2\]/);
      await expectError(() => tensor([], [1]), RangeError, /0 values.*shape \[1\]/);
    });

    it('rejects an unknown dtype', async () => {
      await expectError(() => tensor([1, 2], undefined, 'float64' as Any), TypeError, /dtype.*float64/);
      await expectError(() => tensor([1, 2], [2], 'string' as Any), TypeError, /dtype/);
      await expectError(() => tensor([1, 2], [2], 5 as Any), TypeError, /dtype/);
    });

    it('rejects negative, non-integer or non-numeric shape dimensions', async () => {
      await expectError(() => tensor([1, 2], [-2]), TypeError, /shape.*non-negative integers/);
      await expectError(() => tensor([1, 2], [1, -2]), TypeError, /shape/);
      await expectError(() => tensor([1, 2], [1.5]), TypeError, /shape/);
      await expectError(() => tensor([1, 2], [NaN]), TypeError, /shape/);
      await expectError(() => tensor([1, 2], [Infinity]), TypeError, /shape/);
      await expectError(() => tensor([1, 2], ['2'] as Any), TypeError, /shape/);
      await expectError(() => tensor([1, 2], 2 as Any), TypeError, /shape.*number/);
      await expectError(() => tensor([1, 2], 'ab' as Any), TypeError, /shape/);
    });

    it('rejects null, undefined, objects, strings and functions as values', async () => {
      await expectError(() => tensor(null as Any), TypeError, /values/);
      await expectError(() => tensor(undefined as Any), TypeError, /values/);
      await expectError(() => tensor({} as Any), TypeError, /values.*object/);
      await expectError(() => tensor({ length: 2, 0: 1, 1: 2 } as Any), TypeError, /values.*object/);
      await expectError(() => tensor('12' as Any), TypeError, /values.*string/);
      await expectError(() => tensor((() => 1) as Any), TypeError, /values.*function/);
      await expectError(() => tensor(Symbol('x') as Any), TypeError, /values/);
    });

    it('accepts NaN and infinities in tensor() itself (layers reject them later)', async () => {
      const t = tensor([NaN, Infinity, -Infinity, 1]);
      expect(t.shape).toEqual([4]);
      const v = t.dataSync();
      expect(Number.isNaN(v[0])).toBe(true);
      expect(v[1]).toBe(Infinity);
      expect(v[2]).toBe(-Infinity);
      expect(tensor(new Float32Array([NaN]), [1, 1]).shape).toEqual([1, 1]);
    });

    it('rejects NaN and infinities in an int32 tensor, naming the index', async () => {
      await expectError(() => tensor([1, NaN], [2], 'int32'), RangeError, /int32.*index 1.*NaN/);
      await expectError(() => tensor([Infinity], [1], 'int32'), RangeError, /int32.*index 0/);
    });

    it('zeros() rejects bad shapes', async () => {
      await expectError(() => zeros([-1]), TypeError, /zeros\(\): shape/);
      await expectError(() => zeros([2.5]), TypeError, /zeros\(\): shape/);
      await expectError(() => zeros(3 as Any), TypeError, /zeros\(\): shape/);
      await expectError(() => zeros(undefined as Any), TypeError, /zeros\(\): shape/);
    });
  });

  describe('Tensor after dispose()', () => {
    it('every method that reads the values throws DisposedTensorError', async () => {
      const t = tensor([[1, 2], [3, 4]]);
      t.dispose();
      expect(t.isDisposed).toBe(true);
      await expectError(() => t.dataSync(), DisposedTensorError, /shape \[2, 2\].*after dispose/);
      await expectError(() => t.arraySync(), DisposedTensorError, /after dispose/);
      await expectError(() => t.data(), DisposedTensorError, /after dispose/);
      await expectError(() => t.array(), DisposedTensorError, /after dispose/);
      await expectError(() => t.reshape([4]), DisposedTensorError, /after dispose/);
      // Metadata stays readable and a second dispose is harmless.
      expect(t.shape).toEqual([2, 2]);
      expect(t.toString()).toBe('Tensor float32 [2, 2]');
      expect(() => t.dispose()).not.toThrow();
    });

    it('a reshaped copy made before dispose() stays usable', () => {
      const t = tensor([1, 2, 3, 4]);
      const r = t.reshape([2, 2]);
      t.dispose();
      expect(r.arraySync()).toEqual([[1, 2], [3, 4]]);
    });
  });

  describe('Tensor.reshape()', () => {
    it('rejects a shape of the wrong size or a malformed shape, leaving the tensor as it was', async () => {
      const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      await expectError(() => t.reshape([4, 2]), RangeError, /reshape.*\[2, 3\].*6 elements.*\[4, 2\]/);
      await expectError(() => t.reshape([7]), RangeError, /reshape/);
      await expectError(() => t.reshape([]), RangeError, /reshape/);
      await expectError(() => t.reshape([-1, 3]), TypeError, /shape/);
      await expectError(() => t.reshape([1.5, 4]), TypeError, /shape/);
      await expectError(() => t.reshape('6' as Any), TypeError, /shape/);
      await expectError(() => t.reshape(undefined as Any), TypeError, /shape/);
      expect(t.shape).toEqual([2, 3]);
      expect(t.reshape([3, 2]).arraySync()).toEqual([[1, 2], [3, 4], [5, 6]]);
    });
  });

  describe('layers.gru() config', () => {
    it('rejects missing, zero, negative, non-integer, string and absurd units', async () => {
      for (const units of [undefined, 0, -1, 1.5, '4', NaN, Infinity, null, true, 2 ** 21]) {
        await expectError(() => layers.gru({ units } as Any), TypeError, /^units must be an integer >= 1/);
      }
      await expectError(() => layers.gru({} as Any), TypeError, /^units/);
    });

    it('rejects an unknown activation or recurrentActivation', async () => {
      for (const activation of ['softmax', 'Tanh', '', 0, null]) {
        await expectError(() => layers.gru({ units: 2, activation } as Any), TypeError, /^activation must be one of 'tanh', 'relu', 'linear', 'sigmoid'/);
      }
      for (const recurrentActivation of ['hard_sigmoid', 'tanh', 1, null]) {
        await expectError(
          () => layers.gru({ units: 2, recurrentActivation } as Any),
          TypeError,
          /^recurrentActivation must be one of 'sigmoid', 'hardSigmoid', 'hardSigmoidKeras3'/,
        );
      }
    });

    it('rejects non-boolean resetAfter, useBias, returnSequences, returnState', async () => {
      for (const key of ['resetAfter', 'useBias', 'returnSequences', 'returnState']) {
        for (const bad of ['true', 1, 0, null, {}]) {
          await expectError(() => layers.gru({ units: 2, [key]: bad } as Any), TypeError, new RegExp(`^${key} must be a boolean`));
        }
      }
    });

    it('rejects a non-boolean trainable', async () => {
      await expectError(() => layers.gru({ units: 2, trainable: 'no' } as Any), TypeError, /trainable/);
    });

    it('rejects a bad inputShape or batchInputShape', async () => {
      await expectError(() => layers.gru({ units: 2, inputShape: 'abc' } as Any), TypeError, /^inputShape must be an array/);
      await expectError(() => layers.gru({ units: 2, inputShape: 4 } as Any), TypeError, /^inputShape/);
      await expectError(() => layers.gru({ units: 2, inputShape: [null, 0] }), TypeError, /^inputShape must hold positive integers/);
      await expectError(() => layers.gru({ units: 2, inputShape: [null, -4] }), TypeError, /^inputShape/);
      await expectError(() => layers.gru({ units: 2, inputShape: [null, 1.5] }), TypeError, /^inputShape/);
      await expectError(() => layers.gru({ units: 2, inputShape: [null, '4'] } as Any), TypeError, /^inputShape/);
      await expectError(() => layers.gru({ units: 2, inputShape: [4] }), RangeError, /inputShape must be \[timesteps\|null, features\]/);
      await expectError(() => layers.gru({ units: 2, inputShape: [null, 3, 4] }), RangeError, /inputShape/);
      await expectError(() => layers.gru({ units: 2, batchInputShape: [null, 4] }), RangeError, /\[batch, timesteps, features\]/);
      await expectError(() => layers.gru({ units: 2, batchInputShape: [null, null, 0] }), TypeError, /^batchInputShape/);
    });

    it('rejects args that are not an object', async () => {
      for (const args of [undefined, null, 5, 'units', true]) {
        await expectError(() => layers.gru(args as Any), TypeError, /layers\.gru\(args\): args must be an object/);
        await expectError(() => new GRU(args as Any), TypeError, /args must be an object/);
      }
    });

    it('rejects a bad name or seed', async () => {
      await expectError(() => layers.gru({ units: 2, name: '' }), TypeError, /^name must be a non-empty string/);
      await expectError(() => layers.gru({ units: 2, name: 5 } as Any), TypeError, /^name/);
      for (const seed of [-1, 1.5, '1', 2 ** 32, NaN]) {
        await expectError(() => layers.gru({ units: 2, seed } as Any), TypeError, /^seed must be an integer/);
      }
    });
  });

  describe('GRU.build()', () => {
    it('rejects bad input shapes and stays unbuilt', async () => {
      const layer = layers.gru({ units: H, seed: 1 });
      for (const shape of ['abc', undefined, null, 4, [], [null, 4], [1, 2, 3, 4]]) {
        await expectError(() => layer.build(shape as Any), RangeError, /input shape must be \[batch, timesteps, features\]/);
      }
      for (const shape of [
        [null, null, null],
        [null, null, 0],
        [null, null, -3],
        [null, null, 1.5],
        [null, null, '4'],
        [null, null, NaN],
      ]) {
        await expectError(() => layer.build(shape as Any), RangeError, /features dimension of the input must be known|input shape must hold non-negative integers or null/);
      }
      expect(layer.built).toBe(false);
      layer.build([null, null, I]);
      expect(layer.built).toBe(true);
      const out = (await layer.apply(goodX())) as Tensor;
      expect(out.shape).toEqual([B, H]);
    });
  });

  describe('GRU.getWeights(), getGradients() before they exist', () => {
    it('getWeights before build throws, naming the remedy', async () => {
      const layer = layers.gru({ units: H });
      await expectError(() => layer.getWeights(), Error, /getWeights before the layer is built/);
    });

    it('getGradients before backward throws', async () => {
      const layer = layers.gru({ units: H });
      await expectError(() => layer.getGradients(), Error, /no gradients yet.*backward/);
      await layer.apply(goodX(), { training: true });
      await expectError(() => layer.getGradients(), Error, /no gradients yet/);
    });
  });

  describe('GRU.setWeights()', () => {
    const H3 = 3 * H;
    const K = (rows = I, cols = H3) => tensor(values(rows * cols, 3), [rows, cols]);
    const R = (rows = H, cols = H3) => tensor(values(rows * cols, 4), [rows, cols]);

    it('rejects a non-array and a wrong number of tensors', async () => {
      const f = await fixture();
      await expectError(() => f.layer.setWeights(undefined as Any), TypeError, /setWeights expects an array of tensors/);
      await expectError(() => f.layer.setWeights(K() as Any), TypeError, /setWeights expects an array/);
      await expectError(() => f.layer.setWeights([]), RangeError, /setWeights expects 3 tensors \[kernel, recurrentKernel, bias\], got 0/);
      await expectError(() => f.layer.setWeights([K(), R()]), RangeError, /expects 3 tensors.*got 2/);
      await expectError(() => f.layer.setWeights([K(), R(), zeros([2, H3]), zeros([2, H3])]), RangeError, /got 4/);
      await expectHealthy(f);

      const noBias = await fixture({ useBias: false });
      await expectError(() => noBias.layer.setWeights([K(), R(), zeros([2, H3])]), RangeError, /expects 2 tensors \[kernel, recurrentKernel\], got 3/);
      await expectHealthy(noBias);
    });

    it('rejects wrong kernel and recurrentKernel shapes', async () => {
      const f = await fixture();
      const bias = zeros([2, H3]);
      await expectError(() => f.layer.setWeights([K(I + 1), R(), bias]), RangeError, /kernel must have shape \[4, 15\], got \[5, 15\]/);
      await expectError(() => f.layer.setWeights([K(I, H3 - 1), R(), bias]), RangeError, /kernel must have shape/);
      await expectError(() => f.layer.setWeights([tensor(values(I * H3), [I * H3]), R(), bias]), RangeError, /kernel must have shape/);
      await expectError(() => f.layer.setWeights([K(), R(H + 1), bias]), RangeError, /recurrentKernel must have shape \[5, 15\], got \[6, 15\]/);
      await expectError(() => f.layer.setWeights([K(), R(H, 2 * H), bias]), RangeError, /recurrentKernel must have shape/);
      await expectError(() => f.layer.setWeights([K(), tensor(values(H * H3), [1, H, H3]), bias]), RangeError, /recurrentKernel must have shape/);
      await expectHealthy(f);
    });

    it('rejects a (3H) bias when resetAfter needs (2, 3H), and vice versa', async () => {
      const after = await fixture({ resetAfter: true });
      await expectError(() => after.layer.setWeights([K(), R(), zeros([H3])]), RangeError, /bias \(resetAfter: row 0 input bias, row 1 recurrent bias\) must have shape \[2, 15\], got \[15\]/);
      await expectError(() => after.layer.setWeights([K(), R(), zeros([1, H3])]), RangeError, /bias.*must have shape \[2, 15\]/);
      await expectError(() => after.layer.setWeights([K(), R(), zeros([2 * H3])]), RangeError, /bias.*must have shape \[2, 15\]/);
      await expectHealthy(after);

      const before = await fixture({ resetAfter: false });
      await expectError(() => before.layer.setWeights([K(), R(), zeros([2, H3])]), RangeError, /bias must have shape \[15\], got \[2, 15\]/);
      await expectError(() => before.layer.setWeights([K(), R(), zeros([H3 + 1])]), RangeError, /bias must have shape \[15\]/);
      await expectHealthy(before);
    });

    it('rejects things that are not tensors, naming which weight', async () => {
      const f = await fixture();
      const bias = zeros([2, H3]);
      await expectError(() => f.layer.setWeights([values(I * H3) as Any, R(), bias]), TypeError, /kernel must be a Tensor/);
      await expectError(() => f.layer.setWeights([[[1, 2]]] as Any), RangeError, /expects 3 tensors/);
      await expectError(() => f.layer.setWeights([K(), null as Any, bias]), TypeError, /recurrentKernel must be a Tensor.*null/);
      await expectError(() => f.layer.setWeights([K(), R(), [0, 0] as Any]), TypeError, /bias must be a Tensor.*an array/);
      await expectError(() => f.layer.setWeights([K(), R(), undefined as Any]), TypeError, /bias must be a Tensor/);
      await expectHealthy(f);
    });

    it('rejects int32 and bool tensors', async () => {
      const f = await fixture();
      const bias = zeros([2, H3]);
      await expectError(() => f.layer.setWeights([tensor(new Int32Array(I * H3), [I, H3]), R(), bias]), TypeError, /kernel must have dtype float32, got int32/);
      await expectError(() => f.layer.setWeights([K(), tensor(new Int32Array(H * H3), [H, H3]), bias]), TypeError, /recurrentKernel must have dtype float32/);
      await expectError(() => f.layer.setWeights([K(), R(), tensor(new Uint8Array(2 * H3), [2, H3])]), TypeError, /bias must have dtype float32, got bool/);
      await expectHealthy(f);
    });

    it('rejects NaN and Infinity in any weight, and changes nothing', async () => {
      const f = await fixture();
      const withBad = (t: Tensor, at: number, v: number): Tensor => {
        const d = t.dataSync() as Float32Array;
        d[at] = v;
        return tensor(d, [...t.shape]);
      };
      const bias = tensor(values(2 * H3, 5), [2, H3]);
      await expectError(() => f.layer.setWeights([withBad(K(), 3, NaN), R(), bias]), RangeError, /kernel contains NaN at flat index 3/);
      await expectError(() => f.layer.setWeights([K(), withBad(R(), 0, Infinity), bias]), RangeError, /recurrentKernel contains Infinity at flat index 0/);
      await expectError(() => f.layer.setWeights([K(), R(), withBad(bias, 2 * H3 - 1, -Infinity)]), RangeError, /bias contains -Infinity at flat index 29/);
      await expectHealthy(f);
    });

    it('rejects disposed tensors', async () => {
      const f = await fixture();
      const k = K();
      k.dispose();
      await expectError(() => f.layer.setWeights([k, R(), zeros([2, H3])]), TypeError, /kernel was disposed/);
      const b = zeros([2, H3]);
      b.dispose();
      await expectError(() => f.layer.setWeights([K(), R(), b]), TypeError, /bias was disposed/);
      await expectHealthy(f);
    });

    it('a failed setWeights on an unbuilt layer leaves it unbuilt', async () => {
      const layer = layers.gru({ units: H, seed: 3 });
      await expectError(() => layer.setWeights([K(), R(H + 1), zeros([2, H3])]), RangeError, /recurrentKernel/);
      await expectError(() => layer.setWeights([K(), R(), zeros([H3])]), RangeError, /bias/);
      expect(layer.built).toBe(false);
      // It can still be built for any feature count.
      layer.setWeights([K(I + 2), R(), zeros([2, H3])]);
      expect(((await layer.apply(goodX(B, T, I + 2))) as Tensor).shape).toEqual([B, H]);
    });
  });

  describe('GRU.apply()', () => {
    it('rejects inputs that are not tensors', async () => {
      const f = await fixture();
      const cases: Array<[unknown, RegExp]> = [
        [values(B * T * I), /input must be a Tensor.*object/],
        [[[[1, 2, 3, 4]]], /input must be a Tensor.*an array/],
        [null, /input must be a Tensor.*null/],
        [undefined, /input must be a Tensor.*undefined/],
        [5, /input must be a Tensor.*number/],
        [{ shape: [B, T, I], dtype: 'float32' }, /input must be a Tensor/],
      ];
      for (const [x, re] of cases) await expectError(() => f.layer.apply(x as Any), TypeError, re);
      await expectHealthy(f);
    });

    it('rejects the wrong rank', async () => {
      const f = await fixture();
      await expectError(() => f.layer.apply(zeros([B, I])), RangeError, /input must have shape \[batch, timesteps, features\], got \[2, 4\]/);
      await expectError(() => f.layer.apply(zeros([B, T, I, 1])), RangeError, /input must have shape \[batch, timesteps, features\]/);
      await expectError(() => f.layer.apply(tensor(1)), RangeError, /input must have shape/);
      await expectHealthy(f);
    });

    it('rejects the wrong feature count once built', async () => {
      const f = await fixture();
      await expectError(() => f.layer.apply(goodX(B, T, I + 1)), RangeError, /input \(built for 4 features\) must have shape \[null, null, 4\], got \[2, 3, 5\]/);
      await expectError(() => f.layer.apply(goodX(B, T, 1)), RangeError, /built for 4 features/);
      await expectHealthy(f);
    });

    it('rejects an input that does not match a declared inputShape', async () => {
      const layer = layers.gru({ units: H, inputShape: [T, I], seed: 9 });
      await expectError(() => layer.apply(goodX(B, T + 1, I)), RangeError, /input \(declared inputShape\) must have shape \[null, 3, 4\], got \[2, 4, 4\]/);
      await expectError(() => layer.apply(goodX(B, T, I + 1)), RangeError, /input \(declared inputShape\) must have shape \[null, 3, 4\], got \[2, 3, 5\]/);
      expect(layer.built).toBe(false);
      expect(((await layer.apply(goodX())) as Tensor).shape).toEqual([B, H]);
    });

    it('rejects int32 and bool inputs', async () => {
      const f = await fixture();
      await expectError(() => f.layer.apply(tensor(new Int32Array(B * T * I), [B, T, I])), TypeError, /input must have dtype float32, got int32/);
      await expectError(() => f.layer.apply(tensor(new Uint8Array(B * T * I), [B, T, I])), TypeError, /input must have dtype float32, got bool/);
      await expectHealthy(f);
    });

    it('rejects NaN and infinities in x', async () => {
      const f = await fixture();
      const bad = (v: number, at: number): Tensor => {
        const d = values(B * T * I, 7);
        d[at] = v;
        return tensor(d, [B, T, I]);
      };
      await expectError(() => f.layer.apply(bad(NaN, 5)), RangeError, /input contains NaN at flat index 5/);
      await expectError(() => f.layer.apply(bad(Infinity, 0)), RangeError, /input contains Infinity at flat index 0/);
      await expectError(() => f.layer.apply(bad(-Infinity, B * T * I - 1), { training: true }), RangeError, /input contains -Infinity/);
      await expectHealthy(f);
    });

    it('rejects zero timesteps and a zero batch', async () => {
      const f = await fixture();
      await expectError(() => f.layer.apply(zeros([B, 0, I])), RangeError, /at least one sequence, one timestep and one feature, got \[2, 0, 4\]/);
      await expectError(() => f.layer.apply(zeros([0, T, I])), RangeError, /at least one sequence, one timestep and one feature, got \[0, 3, 4\]/);
      await expectError(() => f.layer.apply(zeros([0, 0, I]), { training: true }), RangeError, /at least one/);
      await expectHealthy(f);
    });

    it('rejects a bad initialState: wrong shape, wrong batch, wrong count, NaN, not a tensor, int32, disposed', async () => {
      const f = await fixture();
      const x = goodX();
      await expectError(() => f.layer.apply(x, { initialState: zeros([B, H + 1]) }), RangeError, /initialState\[0\] must have shape \[2, 5\], got \[2, 6\]/);
      await expectError(() => f.layer.apply(x, { initialState: zeros([B + 1, H]) }), RangeError, /initialState\[0\] must have shape \[2, 5\], got \[3, 5\]/);
      await expectError(() => f.layer.apply(x, { initialState: zeros([B * H]) }), RangeError, /initialState\[0\] must have shape/);
      await expectError(() => f.layer.apply(x, { initialState: zeros([1, B, H]) }), RangeError, /initialState\[0\] must have shape/);
      await expectError(() => f.layer.apply(x, { initialState: [] }), RangeError, /initialState must hold one tensor.*got 0/);
      await expectError(() => f.layer.apply(x, { initialState: [goodH0(), goodH0()] }), RangeError, /initialState must hold one tensor.*got 2/);
      const nan = values(B * H, 11);
      nan[7] = NaN;
      await expectError(() => f.layer.apply(x, { initialState: tensor(nan, [B, H]) }), RangeError, /initialState\[0\] contains NaN at flat index 7/);
      await expectError(() => f.layer.apply(x, { initialState: [tensor(nan, [B, H])] }), RangeError, /initialState\[0\] contains NaN/);
      await expectError(() => f.layer.apply(x, { initialState: values(B * H) as Any }), TypeError, /initialState\[0\] must be a Tensor/);
      await expectError(() => f.layer.apply(x, { initialState: 0 as Any }), TypeError, /initialState\[0\] must be a Tensor/);
      await expectError(() => f.layer.apply(x, { initialState: tensor(new Int32Array(B * H), [B, H]) }), TypeError, /initialState\[0\] must have dtype float32/);
      const disposed = goodH0();
      disposed.dispose();
      await expectError(() => f.layer.apply(x, { initialState: disposed }), TypeError, /initialState\[0\] was disposed/);
      await expectHealthy(f);
    });

    it('rejects kwargs that are not an object, and a non-boolean training flag', async () => {
      const f = await fixture();
      for (const kwargs of [null, 5, 'training', true]) {
        await expectError(() => f.layer.apply(goodX(), kwargs as Any), TypeError, /the second argument must be an object/);
      }
      await expectError(() => f.layer.apply(goodX(), { training: 'yes' } as Any), TypeError, /^training must be a boolean/);
      await expectError(() => f.layer.apply(goodX(), { training: 1 } as Any), TypeError, /^training must be a boolean/);
      await expectHealthy(f);
    });

    it('rejects a disposed input', async () => {
      const f = await fixture();
      const x = goodX();
      x.dispose();
      await expectError(() => f.layer.apply(x), TypeError, /input was disposed/);
      await expectHealthy(f);
    });

    it('a failed first apply does not build the layer for the bad input', async () => {
      // Every check runs before the first build: a rejected first call
      // must not leave the layer built for the rejected input's features.
      const layer = layers.gru({ units: H, seed: 5 });
      await expectError(() => layer.apply(zeros([0, T, I + 3])), RangeError, /at least one/);
      expect(layer.built).toBe(false);
      const nan = new Float32Array(B * T * (I + 3)).fill(NaN);
      await expectError(() => layer.apply(tensor(nan, [B, T, I + 3])), RangeError, /contains NaN/);
      expect(layer.built).toBe(false);
      await expectError(() => layer.apply(zeros([B, T, I + 3]), { initialState: zeros([B, H + 1]) }), RangeError, /initialState/);
      expect(layer.built).toBe(false);
      expect(((await layer.apply(goodX())) as Tensor).shape).toEqual([B, H]);
    });
  });

  describe('GRU.call() (the public Keras-style call on a built layer)', () => {
    it('call() before build throws', async () => {
      const layer = layers.gru({ units: H });
      await expectError(() => layer.call(goodX()), Error, /call before the layer is built/);
    });

    // call() runs the same checks as apply(): a non-tensor, bad kwargs or
    // an int32 tensor never reach the kernels.
    it('rejects a non-tensor input like apply()', async () => {
      const f = await fixture();
      await expectError(() => f.layer.call(values(B * T * I) as Any), TypeError, /input must be a Tensor/);
      await expectError(() => f.layer.call(null as Any), TypeError, /input must be a Tensor/);
      await expectHealthy(f);
    });

    it('rejects kwargs that are not an object like apply()', async () => {
      const f = await fixture();
      await expectError(() => f.layer.call(goodX(), null as Any), TypeError, /second argument must be an object/);
      await expectHealthy(f);
    });

    it('rejects an int32 input like apply()', async () => {
      const f = await fixture();
      await expectError(() => f.layer.call(tensor(new Int32Array(B * T * I), [B, T, I]) as Any), TypeError, /input must have dtype float32/);
      await expectHealthy(f);
    });

    it('rejects the wrong shape, NaN and zero sizes', async () => {
      const f = await fixture();
      await expectError(() => f.layer.call(goodX(B, T, I + 1)), RangeError, /built for 4 features/);
      await expectError(() => f.layer.call(zeros([B, I])), RangeError, /must have shape \[batch, timesteps, features\], got \[2, 4\]/);
      await expectError(() => f.layer.call(zeros([0, T, I])), RangeError, /at least one/);
      await expectError(() => f.layer.call(tensor(new Float32Array(B * T * I).fill(NaN), [B, T, I])), RangeError, /contains NaN/);
      await expectHealthy(f);
    });
  });

  describe('GRU.backward()', () => {
    async function trained(args: Partial<Parameters<typeof layers.gru>[0]> = {}) {
      const f = await fixture(args);
      const out = await f.layer.apply(goodX(), { training: true, initialState: goodH0() });
      const outputs = Array.isArray(out) ? out : [out];
      const dOut = tensor(values(outputs[0].size, 13), [...outputs[0].shape]);
      const dState = tensor(values(B * H, 17), [B, H]);
      const withState = args.returnState === true;
      const ref = await f.layer.backward(dOut, withState ? dState : null);
      const refGrads = f.layer.getGradients().map((g) => g.dataSync() as Float32Array);
      /** backward with the good gradients still gives the reference results. */
      const expectBackwardHealthy = async () => {
        const again = await f.layer.backward(dOut, withState ? dState : null);
        expectClose(again.dx.dataSync() as Float32Array, ref.dx.dataSync() as Float32Array);
        expectClose(again.dInitialState.dataSync() as Float32Array, ref.dInitialState.dataSync() as Float32Array);
        f.layer.getGradients().forEach((g, i) => expectClose(g.dataSync() as Float32Array, refGrads[i]));
      };
      return { ...f, dOut, dState, expectBackwardHealthy };
    }

    it('rejects backward before any training apply', async () => {
      const layer = layers.gru({ units: H });
      await expectError(() => layer.backward(zeros([B, H])), Error, /backward needs a preceding apply\(x, \{training: true\}\)/);
      await layer.apply(goodX());
      await expectError(() => layer.backward(zeros([B, H])), Error, /backward needs a preceding apply\(x, \{training: true\}\)/);
    });

    it('rejects backward after an apply without training (which ends the training call)', async () => {
      const t = await trained();
      await t.layer.apply(goodX());
      await expectError(() => t.layer.backward(t.dOut), Error, /training: true/);
      await t.layer.apply(goodX(), { training: false });
      await expectError(() => t.layer.backward(t.dOut), Error, /training: true/);
    });

    it('rejects dOutput of the wrong shape', async () => {
      const t = await trained();
      await expectError(() => t.layer.backward(zeros([B, T, H])), RangeError, /dOutput must have shape \[2, 5\], got \[2, 3, 5\]/);
      await expectError(() => t.layer.backward(zeros([B, H + 1])), RangeError, /dOutput must have shape \[2, 5\]/);
      await expectError(() => t.layer.backward(zeros([B + 1, H])), RangeError, /dOutput must have shape \[2, 5\]/);
      await t.expectBackwardHealthy();

      const seq = await trained({ returnSequences: true });
      await expectError(() => seq.layer.backward(zeros([B, H])), RangeError, /dOutput must have shape \[2, 3, 5\], got \[2, 5\]/);
      await expectError(() => seq.layer.backward(zeros([B, T + 1, H])), RangeError, /dOutput must have shape \[2, 3, 5\]/);
      await seq.expectBackwardHealthy();
    });

    it('rejects dState of the wrong shape', async () => {
      const t = await trained({ returnState: true });
      await expectError(() => t.layer.backward(t.dOut, zeros([B, H + 1])), RangeError, /dState must have shape \[2, 5\], got \[2, 6\]/);
      await expectError(() => t.layer.backward(t.dOut, zeros([B, T, H])), RangeError, /dState must have shape \[2, 5\]/);
      await expectError(() => t.layer.backward(null, zeros([H])), RangeError, /dState must have shape/);
      await t.expectBackwardHealthy();
    });

    it('rejects NaN and Infinity in dOutput and dState', async () => {
      const t = await trained({ returnState: true });
      const bad = (v: number, at: number): Tensor => {
        const d = values(B * H, 13);
        d[at] = v;
        return tensor(d, [B, H]);
      };
      await expectError(() => t.layer.backward(bad(NaN, 4)), RangeError, /dOutput contains NaN at flat index 4/);
      await expectError(() => t.layer.backward(bad(Infinity, 0)), RangeError, /dOutput contains Infinity/);
      await expectError(() => t.layer.backward(t.dOut, bad(NaN, 9)), RangeError, /dState contains NaN at flat index 9/);
      await t.expectBackwardHealthy();
    });

    it('rejects dOutput and dState that are not float32 tensors or are disposed', async () => {
      const t = await trained({ returnState: true });
      await expectError(() => t.layer.backward(values(B * H) as Any), TypeError, /dOutput must be a Tensor/);
      await expectError(() => t.layer.backward(5 as Any), TypeError, /dOutput must be a Tensor/);
      await expectError(() => t.layer.backward(tensor(new Int32Array(B * H), [B, H])), TypeError, /dOutput must have dtype float32/);
      await expectError(() => t.layer.backward(t.dOut, [1, 2] as Any), TypeError, /dState must be a Tensor/);
      const d = zeros([B, H]);
      d.dispose();
      await expectError(() => t.layer.backward(d), TypeError, /dOutput was disposed/);
      await expectError(() => t.layer.backward(t.dOut, d), TypeError, /dState was disposed/);
      await t.expectBackwardHealthy();
    });

    it('a failed apply after a training apply keeps the training call for backward', async () => {
      const t = await trained();
      await expectError(() => t.layer.apply(goodX(B, T, I + 1), { training: true }), RangeError, /built for 4 features/);
      await expectError(() => t.layer.apply(zeros([B, T, I]), { training: true, initialState: zeros([B, H + 1]) }), RangeError, /initialState/);
      await t.expectBackwardHealthy();
    });
  });

  describe('backend and threads', () => {
    it("setBackend rejects unknown names and keeps the current backend", async () => {
      for (const name of ['foo', 'NATIVE', '', undefined, null, 1, {}]) {
        await expectError(() => setBackend(name as Any), TypeError, /^setBackend\(name\) must be 'native' or 'js'/);
        expect(getBackend()).toBe(backendName);
      }
    });

    it('setNumThreads rejects 0, 1.5, strings, huge and non-finite counts and keeps the count', async () => {
      const before = getNumThreads();
      for (const n of [0, -1, 1.5, 'x', '2', 100000, 1025, NaN, Infinity, undefined, null]) {
        await expectError(() => setNumThreads(n as Any), RangeError, /^setNumThreads\(n\): n must be an integer between 1 and 1024/);
      }
      expect(getNumThreads()).toBe(before);
    });

    it('BackendUnavailableError and DisposedTensorError are Error subclasses with their names', () => {
      expect(new BackendUnavailableError('x')).toBeInstanceOf(Error);
      expect(new BackendUnavailableError('x').name).toBe('BackendUnavailableError');
      expect(new DisposedTensorError('x').name).toBe('DisposedTensorError');
    });
  });
});
