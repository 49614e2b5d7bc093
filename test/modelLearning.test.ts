/**
 * End-to-end learning through the public API, one small task per family
 * (regression, binary and multi-class classification, sequence to
 * sequence): each must reach a stated score within a bounded number of
 * epochs. Seeded, so a failure is reproducible, not flaky.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { layers, sequential, setBackend, setSeed, tensor, train, type Tensor } from '../lib/index.js';
import { Random } from '../lib/random.js';

/** n sequences of T steps of uniform(-1, 1) values, one feature. */
function sequences(n: number, T: number, rng: Random): Float32Array {
  return Float32Array.from({ length: n * T }, () => rng.next() * 2 - 1);
}

function rowSums(x: Float32Array, n: number, T: number): number[] {
  return Array.from({ length: n }, (_, i) => x.subarray(i * T, (i + 1) * T).reduce((a, b) => a + b, 0));
}

async function accuracy(pred: Tensor, labels: number[]): Promise<number> {
  const p = pred.dataSync() as Float32Array;
  const C = pred.shape[1];
  let right = 0;
  labels.forEach((label, i) => {
    let best = 0;
    if (C === 1) best = p[i] > 0.5 ? 1 : 0;
    else for (let k = 1; k < C; k++) if (p[i * C + k] > p[i * C + best]) best = k;
    if (best === label) right++;
  });
  return right / labels.length;
}

describe('models learn', () => {
  beforeAll(() => {
    setBackend('native');
    setSeed(1234);
  });

  it('regression: the mean of a sequence, MSE < 0.005 within 40 epochs', async () => {
    const rng = new Random(1);
    const n = 600, T = 10;
    const x = sequences(n, T, rng);
    const y = rowSums(x, n, T).map((s) => s / T);
    const m = sequential({ layers: [layers.gru({ units: 16, inputShape: [T, 1] }), layers.dense({ units: 1 })] });
    m.compile({ optimizer: train.adam(0.01), loss: 'meanSquaredError' });
    const xs = tensor(x, [n, T, 1]);
    const history = await m.fit(xs.reshape([n, T, 1]), y, { epochs: 40, batchSize: 32, verbose: 0, validationSplit: 0.2 });
    const valLoss = history.history.val_loss;
    expect(valLoss[valLoss.length - 1]).toBeLessThan(0.005);
    expect(valLoss[valLoss.length - 1]).toBeLessThan(valLoss[0] / 5);
  });

  it('binary classification: sign of the sum, accuracy > 0.95 within 30 epochs', async () => {
    const rng = new Random(2);
    const n = 800, T = 8;
    const x = sequences(n, T, rng);
    const labels = rowSums(x, n, T).map((s) => (s > 0 ? 1 : 0));
    const m = sequential({ layers: [layers.gru({ units: 12, inputShape: [T, 1] }), layers.dense({ units: 1, activation: 'sigmoid' })] });
    m.compile({ optimizer: 'adam', loss: 'binaryCrossentropy', metrics: ['accuracy'] });
    const history = await m.fit(tensor(x, [n, T, 1]), labels, { epochs: 30, batchSize: 32, verbose: 0 });
    expect(history.history.accuracy.at(-1)).toBeGreaterThan(0.95);
    const test = sequences(200, T, new Random(3));
    expect(await accuracy((await m.predict(tensor(test, [200, T, 1]))) as Tensor, rowSums(test, 200, T).map((s) => (s > 0 ? 1 : 0)))).toBeGreaterThan(0.95);
  });

  it('multi-class: which third of the sequence has the largest sum, accuracy > 0.9 within 25 epochs', async () => {
    const rng = new Random(4);
    const n = 2400, T = 9;
    const make = (count: number, r: Random) => {
      const x = sequences(count, T, r);
      const labels = Array.from({ length: count }, (_, i) => {
        const thirds = [0, 1, 2].map((k) => x.subarray(i * T + 3 * k, i * T + 3 * k + 3).reduce((a, b) => a + b, 0));
        return thirds.indexOf(Math.max(...thirds));
      });
      return { x, labels };
    };
    const { x, labels } = make(n, rng);
    const m = sequential({ layers: [layers.lstm({ units: 24, inputShape: [T, 1] }), layers.dense({ units: 3, activation: 'softmax' })] });
    m.compile({ optimizer: train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    await m.fit(tensor(x, [n, T, 1]), labels, { epochs: 25, batchSize: 32, verbose: 0 });
    const test = make(300, new Random(5));
    expect(await accuracy((await m.predict(tensor(test.x, [300, T, 1]))) as Tensor, test.labels)).toBeGreaterThan(0.9);
  });

  it('sequence to sequence: the running sum at every step, MSE < 0.01 within 40 epochs', async () => {
    const rng = new Random(6);
    const n = 600, T = 8;
    const x = sequences(n, T, rng).map((v) => v / 2);
    const y = new Float32Array(n * T);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < T; t++) y[i * T + t] = s += x[i * T + t];
    }
    const m = sequential({
      layers: [layers.gru({ units: 16, returnSequences: true, inputShape: [T, 1] }), layers.timeDistributed({ layer: layers.dense({ units: 1 }) })],
    });
    m.compile({ optimizer: train.adam(0.01), loss: 'mse' });
    const history = await m.fit(tensor(x, [n, T, 1]), tensor(y, [n, T, 1]), { epochs: 40, batchSize: 32, verbose: 0 });
    expect(history.history.loss.at(-1)).toBeLessThan(0.01);
  });
});
