/**
 * Losses: values against float64 formulas written here, gradients against
 * the analytic formulas and central finite differences, Keras's reduction
 * (sample weights, sequence outputs), logits stability and bad input.
 */
import { describe, expect, it } from 'vitest';
import { getLoss, logitsActivation, losses, withFromLogits, type Loss } from '../lib/training/losses.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Central differences of loss.value with respect to each yPred value (float32 steps taken as stored). */
function numericGrad(loss: Loss, yTrue: ArrayLike<number>, yPred: Float32Array, shape: number[], w?: ArrayLike<number>, h = 1e-3): number[] {
  const out: number[] = [];
  for (let i = 0; i < yPred.length; i++) {
    const keep = yPred[i];
    yPred[i] = keep + h;
    const up = yPred[i];
    const lUp = loss.compute(yTrue, yPred, shape, w).value;
    yPred[i] = keep - h;
    const down = yPred[i];
    const lDown = loss.compute(yTrue, yPred, shape, w).value;
    yPred[i] = keep;
    out.push((lUp - lDown) / (up - down));
  }
  return out;
}

function expectGradMatchesFiniteDifferences(loss: Loss, yTrue: ArrayLike<number>, yPred: Float32Array, shape: number[], w?: ArrayLike<number>): void {
  const analytic = loss.compute(yTrue, yPred, shape, w).grad;
  const numeric = numericGrad(loss, yTrue, yPred, shape, w);
  numeric.forEach((n, i) => expect(Math.abs(analytic[i] - n), `${loss.name} grad[${i}] analytic ${analytic[i]} numeric ${n}`).toBeLessThanOrEqual(2e-4 + 2e-3 * Math.abs(n)));
}

function expectCloseArray(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `[${i}] got ${got[i]} want ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i])));
}

// B = 3 samples, C = 2.
const SHAPE = [3, 2];
const Y = Float32Array.of(1, 0, 0.5, 2, -1, 3);
const P = Float32Array.of(0.8, 0.3, 0.5, 0.5, 1.5, 2.0);
const W = [1, 2, 0.5];

describe('regression losses', () => {
  it('meanSquaredError: per sample mean over the last axis, sum(w l) / B', () => {
    const r = losses.meanSquaredError().compute(Y, P, SHAPE, W);
    const l = [(0.2 ** 2 + 0.3 ** 2) / 2, (0 + 1.5 ** 2) / 2, (2.5 ** 2 + 1 ** 2) / 2];
    expectCloseArray(r.perSample, l);
    expect(r.value).toBeCloseTo((1 * l[0] + 2 * l[1] + 0.5 * l[2]) / 3, 6);
    // dvalue/dp = w_b 2 (p - y) / (C B)
    expectCloseArray(r.grad, [(1 * 2 * -0.2) / 6, (1 * 2 * 0.3) / 6, 0, (2 * 2 * -1.5) / 6, (0.5 * 2 * 2.5) / 6, (0.5 * 2 * -1) / 6]);
    expectGradMatchesFiniteDifferences(losses.meanSquaredError(), Y, P.slice(), SHAPE, W);
  });

  it('meanAbsoluteError', () => {
    const r = getLoss('mae').compute(Y, P, SHAPE);
    expectCloseArray(r.perSample, [(0.2 + 0.3) / 2, 1.5 / 2, (2.5 + 1) / 2]);
    expect(r.value).toBeCloseTo((0.25 + 0.75 + 1.75) / 3, 6);
    expectCloseArray(r.grad, [-1 / 6, 1 / 6, 0, -1 / 6, 1 / 6, -1 / 6]);
  });

  it('huber: quadratic inside delta, linear outside', () => {
    const h = (e: number, d: number) => (Math.abs(e) <= d ? 0.5 * e * e : d * Math.abs(e) - 0.5 * d * d);
    const e = [-0.2, 0.3, 0, -1.5, 2.5, -1];
    for (const delta of [1, 0.5]) {
      const r = losses.huber({ delta }).compute(Y, P, SHAPE);
      const l = [0, 1, 2].map((b) => (h(e[2 * b], delta) + h(e[2 * b + 1], delta)) / 2);
      expectCloseArray(r.perSample, l);
      expect(r.value).toBeCloseTo((l[0] + l[1] + l[2]) / 3, 6);
      expectGradMatchesFiniteDifferences(losses.huber({ delta }), Y, Float32Array.of(0.8, 0.3, 0.5, 0.6, 1.5, 2.0), SHAPE);
    }
  });
});

describe('binary crossentropy', () => {
  const y = Float32Array.of(1, 0, 1, 0, 1, 1);
  const p = Float32Array.of(0.9, 0.2, 0.3, 0.6, 0.55, 0.99);
  const bce = (yv: number, pv: number) => -(yv * Math.log(pv) + (1 - yv) * Math.log(1 - pv));

  it('on probabilities: mean over the last axis of -(y log p + (1-y) log(1-p))', () => {
    const r = getLoss('binary_crossentropy').compute(y, p, SHAPE);
    const l = [0, 1, 2].map((b) => (bce(y[2 * b], p[2 * b]) + bce(y[2 * b + 1], p[2 * b + 1])) / 2);
    expectCloseArray(r.perSample, l);
    expect(r.value).toBeCloseTo((l[0] + l[1] + l[2]) / 3, 6);
    expectGradMatchesFiniteDifferences(losses.binaryCrossentropy(), y, p.slice(), SHAPE, [1, 0.5, 2]);
  });

  it('probabilities of exactly 0 or 1 are clipped to [1e-7, 1 - 1e-7]: finite loss, no gradient there', () => {
    const r = losses.binaryCrossentropy().compute(Float32Array.of(1, 0), Float32Array.of(0, 1), [1, 2]);
    expect(r.value).toBeCloseTo(-Math.log(1e-7), 3);
    expect([...r.grad]).toEqual([0, 0]);
  });

  it('from logits: max(x,0) - x y + log1p(exp(-|x|)), gradient sigmoid(x) - y', () => {
    const x = Float32Array.of(2.2, -1.4, -0.8, 0.4, 0.2, 4.6);
    const r = losses.binaryCrossentropy({ fromLogits: true }).compute(y, x, SHAPE);
    const l = [0, 1, 2].map((b) => (bce(y[2 * b], sigmoid(x[2 * b])) + bce(y[2 * b + 1], sigmoid(x[2 * b + 1]))) / 2);
    expectCloseArray(r.perSample, l);
    expectCloseArray(r.grad, [...x].map((xi, i) => (sigmoid(xi) - y[i]) / 6));
  });

  it('from logits is stable at ±100', () => {
    const r = losses.binaryCrossentropy({ fromLogits: true }).compute(Float32Array.of(0, 1, 1, 0), Float32Array.of(100, -100, 100, -100), [4, 1]);
    expect(r.value).toBeCloseTo((100 + 100 + 0 + 0) / 4, 10);
    expectCloseArray(r.grad, [1 / 4, -1 / 4, 0, 0], 1e-7);
    expect(r.grad.every(Number.isFinite)).toBe(true);
    const huge = losses.binaryCrossentropy({ fromLogits: true }).compute(Float32Array.of(0, 1), Float32Array.of(1000, 1000), [2, 1]);
    expect(huge.value).toBeCloseTo(500, 8);
    expectCloseArray(huge.grad, [0.5, 0], 1e-7);
  });

  it('label smoothing: y (1 - s) + s / 2', () => {
    const s = 0.2;
    const r = losses.binaryCrossentropy({ labelSmoothing: s }).compute(y, p, SHAPE);
    const ys = [...y].map((v) => v * (1 - s) + s / 2);
    const l = [0, 1, 2].map((b) => (bce(ys[2 * b], p[2 * b]) + bce(ys[2 * b + 1], p[2 * b + 1])) / 2);
    expectCloseArray(r.perSample, l);
  });
});

describe('categorical crossentropies', () => {
  // B = 2, C = 3
  const y = Float32Array.of(0, 1, 0, 1, 0, 0);
  const probs = Float32Array.of(0.2, 0.5, 0.3, 0.6, 0.3, 0.1);

  it('on probabilities: -sum y log p over classes, p normalised to sum 1 first (Keras)', () => {
    const r = getLoss('categoricalCrossentropy').compute(y, probs, [2, 3]);
    expectCloseArray(r.perSample, [-Math.log(0.5), -Math.log(0.6)]);
    expect(r.value).toBeCloseTo((-Math.log(0.5) - Math.log(0.6)) / 2, 6);
    const unnormalised = Float32Array.from(probs, (v) => v * 4);
    expectCloseArray(losses.categoricalCrossentropy().compute(y, unnormalised, [2, 3]).perSample, [-Math.log(0.5), -Math.log(0.6)]);
    expectGradMatchesFiniteDifferences(losses.categoricalCrossentropy(), y, unnormalised, [2, 3], [1, 3]);
    expectGradMatchesFiniteDifferences(losses.categoricalCrossentropy({ labelSmoothing: 0.1 }), y, probs.slice(), [2, 3]);
  });

  it('from logits: log-softmax, gradient softmax - y, stable at ±100', () => {
    const x = Float32Array.of(1, 2, 0.5, -1, 0, 3);
    const sm = (o: number) => {
      const e = [0, 1, 2].map((c) => Math.exp(x[o + c]));
      const s = e[0] + e[1] + e[2];
      return e.map((v) => v / s);
    };
    const r = losses.categoricalCrossentropy({ fromLogits: true }).compute(y, x, [2, 3]);
    expectCloseArray(r.perSample, [-Math.log(sm(0)[1]), -Math.log(sm(3)[0])]);
    expectCloseArray(r.grad, [...sm(0), ...sm(3)].map((v, i) => (v - y[i]) / 2));
    const big = losses.categoricalCrossentropy({ fromLogits: true }).compute(Float32Array.of(1, 0, 0, 0, 0, 1), Float32Array.of(-100, 100, 0, 100, -100, 100), [2, 3]);
    expect(big.value).toBeCloseTo((200 + Math.log(2)) / 2, 8);
    expectCloseArray(big.grad, [-1 / 2, 1 / 2, 0, 1 / 4, 0, -1 / 4], 1e-7);
    // ±1000 would overflow exp() even in float64 without the max shift.
    const huge = losses.categoricalCrossentropy({ fromLogits: true }).compute(Float32Array.of(1, 0, 0), Float32Array.of(-1000, 1000, 0), [1, 3]);
    expect(huge.value).toBeCloseTo(2000, 8);
    expectCloseArray(huge.grad, [-1, 1, 0], 1e-7);
  });

  it('label smoothing: y (1 - s) + s / C', () => {
    const s = 0.3;
    const r = losses.categoricalCrossentropy({ labelSmoothing: s }).compute(y, probs, [2, 3]);
    const ys = [...y].map((v) => v * (1 - s) + s / 3);
    const want = [0, 3].map((o) => -[0, 1, 2].reduce((acc, c) => acc + ys[o + c] * Math.log(probs[o + c]), 0));
    expectCloseArray(r.perSample, want);
  });

  it('sparse: class ids (B) or (B, 1) give the one-hot categorical result', () => {
    for (const fromLogits of [false, true]) {
      const dense = losses.categoricalCrossentropy({ fromLogits }).compute(y, probs, [2, 3]);
      const sparse = losses.sparseCategoricalCrossentropy({ fromLogits }).compute(Int32Array.of(1, 0), probs, [2, 3]);
      expectCloseArray(sparse.perSample, dense.perSample, 1e-12);
      expectCloseArray(sparse.grad, dense.grad, 1e-7);
      expect(sparse.value).toBeCloseTo(dense.value, 12);
    }
    expect(getLoss('sparse_categorical_crossentropy').compute([1, 0], probs, [2, 3]).value).toBeCloseTo((-Math.log(0.5) - Math.log(0.6)) / 2, 6);
  });
});

describe('sequence outputs (B, T, C) and sample weights', () => {
  // B = 2, T = 3, C = 2
  const shape = [2, 3, 2];
  const yp = Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2);
  const yt = new Float32Array(12);
  const se = (i: number) => (yp[i] - yt[i]) ** 2;
  const lbt = (b: number, t: number) => (se(b * 6 + t * 2) + se(b * 6 + t * 2 + 1)) / 2;

  it('loss per (b, t), perSample the mean over T, value divides by B·T (Keras sum_over_batch_size)', () => {
    const r = losses.meanSquaredError().compute(yt, yp, shape, [2, 1]);
    const per = [0, 1].map((b) => (lbt(b, 0) + lbt(b, 1) + lbt(b, 2)) / 3);
    expectCloseArray(r.perSample, per);
    let total = 0;
    for (let b = 0; b < 2; b++) for (let t = 0; t < 3; t++) total += [2, 1][b] * lbt(b, t);
    expect(r.value).toBeCloseTo(total / 6, 7);
    expect(r.value).toBeCloseTo((2 * per[0] + per[1]) / 2, 7);
  });

  it('per-timestep weights (B·T values, Keras temporal weights), e.g. 0 on padded steps', () => {
    const w = [1, 1, 0, 1, 0, 0];
    const r = losses.meanSquaredError().compute(yt, yp, shape, w);
    expect(r.value).toBeCloseTo((lbt(0, 0) + lbt(0, 1) + lbt(1, 0)) / 6, 7);
    expect([...r.grad.slice(4, 6)]).toEqual([0, 0]);
    expectGradMatchesFiniteDifferences(losses.meanSquaredError(), yt, yp.slice(), shape, w);
  });

  it('sparse ids of shape (B, T) with yPred (B, T, C)', () => {
    const logits = Float32Array.from(yp, (v, i) => v * (i % 3) - 0.5);
    const ids = Int32Array.of(0, 1, 1, 1, 0, 0);
    const onehot = new Float32Array(12);
    ids.forEach((c, e) => (onehot[e * 2 + c] = 1));
    const sparse = losses.sparseCategoricalCrossentropy({ fromLogits: true }).compute(ids, logits, shape, [1, 3]);
    const dense = losses.categoricalCrossentropy({ fromLogits: true }).compute(onehot, logits, shape, [1, 3]);
    expect(sparse.value).toBeCloseTo(dense.value, 12);
    expectGradMatchesFiniteDifferences(losses.sparseCategoricalCrossentropy({ fromLogits: true }), ids, logits, shape, [1, 3]);
  });

  it('a yPred of shape (B) is read as (B, 1)', () => {
    const r = losses.meanSquaredError().compute([1, 2], Float32Array.of(0, 0), [2]);
    expect(r.value).toBeCloseTo(2.5, 12);
  });
});

describe('fusing the final activation (tf.keras _keras_logits)', () => {
  it('says which activation a loss can take over', () => {
    expect(logitsActivation(getLoss('bce'))).toBe('sigmoid');
    expect(logitsActivation(getLoss('categorical_crossentropy'))).toBe('softmax');
    expect(logitsActivation(getLoss('sparseCategoricalCrossentropy'))).toBe('softmax');
    expect(logitsActivation(getLoss('mse'))).toBeNull();
    expect(logitsActivation(losses.binaryCrossentropy({ fromLogits: true }))).toBeNull();
    expect(() => withFromLogits(getLoss('mse'))).toThrow(TypeError);
  });

  it('the logits variant matches the probability loss (and keeps label smoothing), with the chain-rule gradient', () => {
    const x = Float32Array.of(1.2, -0.7, 0.3, 2.0);
    const y = Float32Array.of(1, 0, 0, 1);
    const probLoss = losses.binaryCrossentropy({ labelSmoothing: 0.1 });
    const fused = withFromLogits(probLoss);
    expect(fused.fromLogits).toBe(true);
    const viaProb = probLoss.compute(y, Float32Array.from(x, sigmoid), [4, 1]);
    const viaLogits = fused.compute(y, x, [4, 1]);
    expect(viaLogits.value).toBeCloseTo(viaProb.value, 6);
    // dL/dx = dL/dp · p (1 - p)
    expectCloseArray(viaLogits.grad, [...viaProb.grad].map((g, i) => g * sigmoid(x[i]) * (1 - sigmoid(x[i]))), 1e-5);
  });
});

describe('names and bad input', () => {
  it('resolves Keras and tfjs names', () => {
    const names: Array<[string, string]> = [
      ['mse', 'meanSquaredError'],
      ['MSE', 'meanSquaredError'],
      ['mean_squared_error', 'meanSquaredError'],
      ['MeanSquaredError', 'meanSquaredError'],
      ['mae', 'meanAbsoluteError'],
      ['mean_absolute_error', 'meanAbsoluteError'],
      ['huber', 'huber'],
      ['huber_loss', 'huber'],
      ['binary_crossentropy', 'binaryCrossentropy'],
      ['categorical_crossentropy', 'categoricalCrossentropy'],
      ['sparseCategoricalCrossentropy', 'sparseCategoricalCrossentropy'],
    ];
    for (const [id, name] of names) expect(getLoss(id).name).toBe(name);
    const custom: Loss = { name: 'zero', compute: (_t, p, shape) => ({ value: 0, perSample: new Float64Array(shape[0]), grad: new Float32Array(p.length) }) };
    expect(getLoss(custom)).toBe(custom);
  });

  it('throws clear errors', () => {
    const bad: Array<[() => unknown, RegExp, ErrorConstructor]> = [
      [() => getLoss('hinge'), /unknown loss "hinge"; use one of 'meanSquaredError', 'mse'/, TypeError],
      [() => getLoss(42 as never), /unknown loss number/, TypeError],
      [() => getLoss('mse').compute([1, 2, 3], P, SHAPE), /meanSquaredError: yTrue has 3 values but yPred has shape \[3, 2\]; yTrue must have shape \[3, 2\] \(6 values\)/, RangeError],
      [() => getLoss('sparse_categorical_crossentropy').compute([0, 1, 2, 0, 1, 1], P, SHAPE), /yTrue must have shape \[3\] \(3 values\) of class ids/, RangeError],
      [() => getLoss('sparse_categorical_crossentropy').compute([0, 2, 1], P, SHAPE), /yTrue\[1\] is 2; class ids must be integers in \[0, 1\]/, RangeError],
      [() => getLoss('mse').compute([1, NaN, 0, 0, 0, 0], P, SHAPE), /yTrue contains NaN at flat index 1/, RangeError],
      [() => getLoss('mse').compute(Y, P, [4, 2]), /yPred has 6 values for shape \[4, 2\]/, RangeError],
      [() => getLoss('mse').compute(Y, [...P] as never, SHAPE), /yPred must be a Float32Array/, TypeError],
      [() => getLoss('mse').compute(Y, P, SHAPE, [1, 2]), /sampleWeight has 2 values; for yPred of shape \[3, 2\] it must have 3/, RangeError],
      [() => getLoss('mse').compute(Y, P, SHAPE, [1, Infinity, 1]), /sampleWeight\[1\] is Infinity/, RangeError],
      [() => losses.binaryCrossentropy({ fromlogits: true } as never), /binaryCrossentropy: unknown option "fromlogits"/, TypeError],
      [() => losses.categoricalCrossentropy({ labelSmoothing: 1.5 }), /labelSmoothing must be a finite number >= 0 and <= 1/, RangeError],
      [() => losses.sparseCategoricalCrossentropy({ labelSmoothing: 0.1 } as never), /unknown option "labelSmoothing"/, TypeError],
      [() => losses.huber({ delta: 0 }), /huber: delta/, RangeError],
    ];
    for (const [make, message, type] of bad) {
      expect(make).toThrow(type);
      expect(make).toThrow(message);
    }
  });
});
