/**
 * Metrics: accuracy resolved as tf.keras resolves it, streaming averages
 * equal to the whole-epoch value, sample weights, sequence outputs, and AUC
 * against the exact ROC AUC and an independent threshold-by-threshold
 * implementation of Keras's approximation.
 */
import { describe, expect, it } from 'vitest';
import { getMetric, Mean, metrics, type Metric } from '../lib/training/metrics.js';

function once(m: Metric, yTrue: ArrayLike<number>, yPred: Float32Array, shape: number[], w?: ArrayLike<number>): number {
  m.reset();
  m.update(yTrue, yPred, shape, w);
  return m.result();
}

/** Deterministic pseudo-random numbers in [0, 1). */
function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('accuracy resolution', () => {
  // Two samples, C = 2. Binary (threshold 0.5 per value): sample 0 has both values right, sample 1
  // one of two -> (1 + 0.5) / 2. Categorical (argmax): sample 0 right, sample 1 wrong -> 0.5.
  const yTrue = Float32Array.of(1, 0, 1, 0);
  const yPred = Float32Array.of(0.7, 0.2, 0.4, 0.45);
  const BINARY = (1 + 0.5) / 2;
  const CATEGORICAL = 0.5;

  it('from the loss: binary for binaryCrossentropy, categorical for categoricalCrossentropy', () => {
    expect(once(getMetric('accuracy', { lossName: 'binary_crossentropy' }), yTrue, yPred, [2, 2])).toBe(BINARY);
    expect(once(getMetric('acc', { lossName: 'binaryCrossentropy' }), yTrue, yPred, [2, 2])).toBe(BINARY);
    expect(once(getMetric('accuracy', { lossName: 'categorical_crossentropy', outputShape: [null, 2] }), yTrue, yPred, [2, 2])).toBe(CATEGORICAL);
  });

  it('sparse for sparseCategoricalCrossentropy (ids (B) or (B, T))', () => {
    const m = getMetric('accuracy', { lossName: 'sparse_categorical_crossentropy' });
    expect(once(m, [0, 0], yPred, [2, 2])).toBe(0.5);
    expect(once(m, [0, 1, 2], Float32Array.of(0.9, 0.05, 0.05, 0.1, 0.2, 0.7, 0.3, 0.3, 0.4), [1, 3, 3])).toBeCloseTo(2 / 3, 12);
  });

  it('otherwise from the output shape: last dimension 1 -> binary, else categorical', () => {
    expect(once(getMetric('accuracy', { lossName: 'mse', outputShape: [null, 1] }), [1, 0, 1], Float32Array.of(0.6, 0.6, 0.2), [3, 1])).toBeCloseTo(1 / 3, 12);
    expect(once(getMetric('accuracy', { lossName: 'mse', outputShape: [null, 2] }), yTrue, yPred, [2, 2])).toBe(CATEGORICAL);
    expect(() => getMetric('accuracy')).toThrow(TypeError);
  });

  it('names in logs are the names asked for', () => {
    expect(getMetric('acc', { outputShape: [null, 1] }).name).toBe('acc');
    expect(getMetric('accuracy', { outputShape: [null, 1] }).name).toBe('accuracy');
    expect(getMetric('mae').name).toBe('mae');
    expect(getMetric('mean_squared_error').name).toBe('mean_squared_error');
    expect(metrics.binaryAccuracy().name).toBe('binary_accuracy');
    expect(metrics.rootMeanSquaredError({ name: 'rmse' }).name).toBe('rmse');
  });
});

describe('values', () => {
  const yTrue = Float32Array.of(1, 2, 3, 4);
  const yPred = Float32Array.of(1.5, 1, 3, 6);

  it('mae, mse, rmse per sample over the last axis, then over samples', () => {
    expect(once(getMetric('mae'), yTrue, yPred, [2, 2])).toBeCloseTo((0.5 + 1 + 0 + 2) / 4, 7);
    expect(once(getMetric('mse'), yTrue, yPred, [2, 2])).toBeCloseTo((0.25 + 1 + 0 + 4) / 4, 7);
    expect(once(getMetric('rmse'), yTrue, yPred, [2, 2])).toBeCloseTo(Math.sqrt((0.25 + 1 + 0 + 4) / 4), 7);
    // Keras mape: 100·|y - p| / |y|, averaged.
    expect(once(getMetric('mape'), yTrue, yPred, [2, 2])).toBeCloseTo((100 * (0.5 / 1 + 1 / 2 + 0 / 3 + 2 / 4)) / 4, 4);
  });

  it('sample weights give a weighted mean: Σ w v / Σ w', () => {
    // per-sample mae: 0.75 and 1
    expect(once(getMetric('mae'), yTrue, yPred, [2, 2], [3, 1])).toBeCloseTo((3 * 0.75 + 1) / 4, 7);
    expect(once(getMetric('mae'), yTrue, yPred, [2, 2], [0, 0])).toBe(0);
  });

  it('sequence outputs: mean over T per sample; per-step weights drop padded steps', () => {
    // B = 1, T = 2, C = 2: binary accuracy at t0 = 1, at t1 = 0.5
    const m = metrics.binaryAccuracy();
    expect(once(m, [1, 0, 1, 1], Float32Array.of(0.9, 0.1, 0.8, 0.3), [1, 2, 2])).toBe(0.75);
    expect(once(m, [1, 0, 1, 1], Float32Array.of(0.9, 0.1, 0.8, 0.3), [1, 2, 2], [1, 0])).toBe(1);
  });

  it('categorical accuracy takes the first of tied maxima, as argmax does', () => {
    expect(once(metrics.categoricalAccuracy(), [1, 0, 0], Float32Array.of(0.4, 0.4, 0.2), [1, 3])).toBe(1);
    expect(once(metrics.categoricalAccuracy(), [0, 1, 0], Float32Array.of(0.4, 0.4, 0.2), [1, 3])).toBe(0);
  });

  it('binaryAccuracy threshold: strictly greater than it counts as 1', () => {
    expect(once(metrics.binaryAccuracy(), [0, 1], Float32Array.of(0.5, 0.50001), [2, 1])).toBe(1);
    expect(once(metrics.binaryAccuracy({ threshold: 0.7 }), [0, 1], Float32Array.of(0.6, 0.8), [2, 1])).toBe(1);
  });
});

describe('streaming over batches of different sizes equals the whole epoch', () => {
  const r = rand(7);
  const B = 10;
  const C = 3;
  const probs = Float32Array.from({ length: B * C }, () => r());
  const onehot = new Float32Array(B * C);
  const ids: number[] = [];
  for (let b = 0; b < B; b++) {
    const c = Math.floor(r() * C);
    ids.push(c);
    onehot[b * C + c] = 1;
  }
  const binary = Float32Array.from({ length: B * C }, () => (r() > 0.5 ? 1 : 0));
  const weights = Array.from({ length: B }, () => 0.5 + r());
  const cases: Array<[string, () => Metric, ArrayLike<number>, boolean]> = [
    ['binaryAccuracy', () => metrics.binaryAccuracy(), binary, false],
    ['categoricalAccuracy', () => metrics.categoricalAccuracy(), onehot, false],
    ['sparseCategoricalAccuracy', () => metrics.sparseCategoricalAccuracy(), ids, true],
    ['mae', () => getMetric('mae'), onehot, false],
    ['mse', () => getMetric('mse'), onehot, false],
    ['rmse', () => getMetric('rmse'), onehot, false],
    ['auc', () => getMetric('auc'), binary, false],
  ];
  for (const [name, make, yTrue, sparse] of cases) {
    for (const weighted of [false, true]) {
      it(`${name}${weighted ? ', weighted' : ''}`, () => {
        const whole = make();
        whole.update(yTrue, probs, [B, C], weighted ? weights : undefined);
        const streamed = make();
        let start = 0;
        for (const n of [3, 5, 2]) {
          const t = sparse ? Array.from(yTrue).slice(start, start + n) : Array.from(yTrue).slice(start * C, (start + n) * C);
          streamed.update(t, probs.slice(start * C, (start + n) * C), [n, C], weighted ? weights.slice(start, start + n) : undefined);
          start += n;
        }
        expect(streamed.result()).toBeCloseTo(whole.result(), 12);
        streamed.reset();
        expect(streamed.result()).toBe(0);
      });
    }
  }
});

/** Keras's AUC by its definition: confusion counts at each of 200 thresholds, trapezoids over (fpr, tpr). */
function kerasAucReference(y: number[], p: number[]): number {
  const n = 200;
  const th = [-1e-7, ...Array.from({ length: n - 2 }, (_, i) => (i + 1) / (n - 1)), 1 + 1e-7];
  const tpr: number[] = [];
  const fpr: number[] = [];
  for (const t of th) {
    let tp = 0, fp = 0, fn = 0, tn = 0;
    y.forEach((yi, i) => {
      if (p[i] > t) yi ? tp++ : fp++;
      else yi ? fn++ : tn++;
    });
    tpr.push(tp + fn === 0 ? 0 : tp / (tp + fn));
    fpr.push(fp + tn === 0 ? 0 : fp / (fp + tn));
  }
  let auc = 0;
  for (let i = 0; i < n - 1; i++) auc += (fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2;
  return auc;
}

/** Exact ROC AUC: the share of (positive, negative) pairs ranked right, ties counting 1/2. */
function exactAuc(y: number[], p: number[]): number {
  let s = 0, pairs = 0;
  y.forEach((yi, i) => y.forEach((yj, j) => {
    if (yi === 1 && yj === 0) {
      pairs++;
      s += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }));
  return s / pairs;
}

describe('AUC', () => {
  it('the classic example: y = [0, 0, 1, 1], p = [0.1, 0.4, 0.35, 0.8] -> 0.75', () => {
    expect(once(getMetric('auc'), [0, 0, 1, 1], Float32Array.of(0.1, 0.4, 0.35, 0.8), [4, 1])).toBeCloseTo(0.75, 12);
  });

  it('perfect ranking 1, reversed 0, constant predictions 0.5', () => {
    expect(once(getMetric('auc'), [0, 1], Float32Array.of(0.2, 0.9), [2, 1])).toBeCloseTo(1, 12);
    expect(once(getMetric('auc'), [0, 1], Float32Array.of(0.9, 0.2), [2, 1])).toBeCloseTo(0, 12);
    expect(once(getMetric('auc'), [0, 1, 0, 1], Float32Array.of(0.3, 0.3, 0.3, 0.3), [4, 1])).toBeCloseTo(0.5, 12);
  });

  it("equals Keras's 200-threshold approximation computed threshold by threshold, and is close to the exact AUC", () => {
    const r = rand(11);
    const y: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < 300; i++) {
      const yi = r() < 0.4 ? 1 : 0;
      y.push(yi);
      p.push(Math.fround(Math.min(1, Math.max(0, 0.5 + (yi ? 0.2 : -0.2) + (r() - 0.5) * 0.9))));
    }
    const got = once(getMetric('auc'), y, Float32Array.from(p), [300, 1]);
    expect(got).toBeCloseTo(kerasAucReference(y, p), 10);
    expect(Math.abs(got - exactAuc(y, p))).toBeLessThan(2e-3);
  });

  it('sample weights count a sample that many times', () => {
    const got = once(getMetric('auc'), [0, 0, 1, 1], Float32Array.of(0.1, 0.4, 0.35, 0.8), [4, 1], [1, 2, 1, 1]);
    // The same as sample 1 (a negative at 0.4) appearing twice.
    expect(got).toBeCloseTo(exactAuc([0, 0, 0, 1, 1], [0.1, 0.4, 0.4, 0.35, 0.8]), 12);
    expect(() => once(getMetric('auc'), [0, 2], Float32Array.of(0.1, 0.4), [2, 1])).toThrow(/AUC labels must be in \[0, 1\]/);
  });
});

describe('Mean, names and bad input', () => {
  it('Mean is a weighted running mean (the loss averaged with batch sizes as weights)', () => {
    const m = new Mean('loss');
    expect(m.result()).toBe(0);
    m.update(2, 3);
    m.update(4, 1);
    expect(m.result()).toBe(2.5);
    m.reset();
    m.update(1);
    expect(m.result()).toBe(1);
    expect(() => m.update(1, -1)).toThrow(RangeError);
  });

  it('resolves names in camelCase or snake_case; metric objects pass through', () => {
    for (const id of ['binaryAccuracy', 'binary_accuracy', 'categorical_accuracy', 'sparseCategoricalAccuracy', 'meanAbsoluteError', 'root_mean_squared_error', 'AUC']) {
      expect(getMetric(id).name).toBe(id);
    }
    const m = metrics.auc();
    expect(getMetric(m)).toBe(m);
  });

  it('throws clear errors', () => {
    expect(() => getMetric('f1')).toThrow(/unknown metric "f1"; use one of 'accuracy', 'acc', 'binaryAccuracy'/);
    expect(() => getMetric('mae').update([1, 2], Float32Array.of(1, 2, 3), [3, 1])).toThrow(/metric mae: yTrue has 2 values but yPred has shape \[3, 1\]/);
    expect(() => getMetric('mae').update([1, 2, 3], Float32Array.of(1, 2, 3), [3, 1], [1])).toThrow(/metric mae: sampleWeight has 1 values/);
    expect(() => metrics.binaryAccuracy({ threshold: 'x' as never })).toThrow(TypeError);
    expect(() => metrics.auc({ numThresholds: 1 })).toThrow(RangeError);
    expect(() => metrics.auc({ curve: 'PR' } as never)).toThrow(/auc: unknown option "curve"/);
  });
});
