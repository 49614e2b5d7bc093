/**
 * The model API as a tfjs/Keras user drives it: sequential and functional
 * models (an encoder-decoder with the encoder's state feeding the decoder),
 * compile/fit/evaluate/predict/trainOnBatch, weights in Keras order,
 * callbacks, summary, reproducibility, the event loop during fit, and the
 * errors bad input gets — on both backends.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { input, layers, model, sequential, setBackend, setSeed, tensor, train, type LayersModel, type SymbolicTensor, type Tensor } from '../lib/index.js';
import { Random } from '../lib/random.js';

function randomTensor(shape: number[], seed: number, scale = 1): Tensor<'float32'> {
  const r = new Random(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * scale), shape);
}

function encoderDecoder(): LayersModel {
  const enc = input({ shape: [null, 3], name: 'encoder_in' });
  const dec = input({ shape: [null, 2], name: 'decoder_in' });
  const [, state] = layers.gru({ units: 6, returnState: true, name: 'encoder' }).apply(enc) as SymbolicTensor[];
  const seq = layers.gru({ units: 6, returnSequences: true, name: 'decoder' }).apply(dec, { initialState: state }) as SymbolicTensor;
  const out = layers.dense({ units: 2, name: 'head' }).apply(seq) as SymbolicTensor;
  return model({ inputs: [enc, dec], outputs: out });
}

describe.each(['native', 'js'] as const)('models on the %s backend', (backendName) => {
  beforeEach(() => {
    setBackend(backendName);
    setSeed(7);
  });

  it('an encoder-decoder trains end to end: the encoder gets the gradient through the decoder initial state', async () => {
    const m = encoderDecoder();
    expect(m.layers.map((l) => l.name)).toEqual(['encoder_in', 'decoder_in', 'encoder', 'decoder', 'head']);
    const xe = randomTensor([5, 4, 3], 1);
    const xd = randomTensor([5, 3, 2], 2);
    const y = randomTensor([5, 3, 2], 3, 0.5);
    const lr = 1e-3;
    m.compile({ optimizer: train.sgd(lr), loss: 'meanSquaredError' });
    const before = m.getWeights().map((w) => w.dataSync());
    const loss0 = (await m.trainOnBatch([xe, xd], y)) as number;
    const after = m.getWeights().map((w) => w.dataSync());
    // SGD: the step is -lr * gradient. Check the encoder kernel's gradient by finite differences of the loss.
    const probe = [0, 7, 13];
    m.setWeights(before.map((v, i) => tensor(v, m.getWeights()[i].shape)));
    for (const k of probe) {
      const analytic = (before[0][k] - after[0][k]) / lr;
      const eps = 1e-2;
      const lossAt = async (delta: number) => {
        const w = before.map((v) => v.slice());
        w[0][k] += delta;
        m.setWeights(w.map((v, i) => tensor(v, m.getWeights()[i].shape)));
        return (await m.testOnBatch([xe, xd], y)) as number;
      };
      const numeric = ((await lossAt(eps)) - (await lossAt(-eps))) / (2 * eps);
      expect(Math.abs(analytic - numeric)).toBeLessThan(2e-3 + 0.03 * Math.abs(numeric));
      expect(Math.abs(numeric)).toBeGreaterThan(1e-5);
    }
    expect(loss0).toBeGreaterThan(0);
  });

  it('masks flow through a model: Embedding(maskZero) and Masking make them, recurrent layers honour them', async () => {
    // Token ids, left-aligned with 0 padding: a padded sequence must give what its unpadded prefix gives.
    const emb = sequential({
      layers: [layers.embedding({ inputDim: 10, outputDim: 4, maskZero: true, inputShape: [6] }), layers.gru({ units: 5, returnSequences: true }), layers.lstm({ units: 3 }), layers.dense({ units: 2 })],
    });
    const padded = (await emb.predict(tensor([[3, 1, 4, 0, 0, 0], [2, 7, 1, 8, 2, 8]], [2, 6], 'int32'))) as Tensor;
    const shortOut = (await emb.predict(tensor([[3, 1, 4, 0, 0, 0]], [1, 6], 'int32'))) as Tensor;
    const unpadded = sequential({
      layers: [layers.embedding({ inputDim: 10, outputDim: 4, inputShape: [3] }), layers.gru({ units: 5, returnSequences: true }), layers.lstm({ units: 3 }), layers.dense({ units: 2 })],
    });
    unpadded.setWeights(emb.getWeights());
    const want = (await unpadded.predict(tensor([[3, 1, 4]], [1, 3], 'int32'))) as Tensor;
    const got = padded.dataSync().slice(0, 2);
    for (let i = 0; i < 2; i++) {
      expect(got[i]).toBeCloseTo(want.dataSync()[i], 5);
      expect(shortOut.dataSync()[i]).toBeCloseTo(want.dataSync()[i], 5);
    }
    // Without the mask the padding would change the answer.
    const noMask = sequential({
      layers: [layers.embedding({ inputDim: 10, outputDim: 4, inputShape: [6] }), layers.gru({ units: 5, returnSequences: true }), layers.lstm({ units: 3 }), layers.dense({ units: 2 })],
    });
    noMask.setWeights(emb.getWeights());
    const unmasked = ((await noMask.predict(tensor([[3, 1, 4, 0, 0, 0]], [1, 6], 'int32'))) as Tensor).dataSync();
    expect(Math.abs(unmasked[0] - want.dataSync()[0]) + Math.abs(unmasked[1] - want.dataSync()[1])).toBeGreaterThan(1e-4);

    // Masking on float features, into a Bidirectional GRU; training runs with the mask too.
    const x = randomTensor([3, 5, 2], 30).dataSync();
    x.fill(0, 2 * 5 * 2 - 4, 2 * 5 * 2); // last two steps of sample 1 are padding
    const m = sequential({ layers: [layers.masking({ maskValue: 0, inputShape: [5, 2] }), layers.bidirectional({ layer: layers.gru({ units: 3 }) }), layers.dense({ units: 1 })] });
    const full = ((await m.predict(tensor(x, [3, 5, 2]))) as Tensor).dataSync();
    const cut = sequential({ layers: [layers.bidirectional({ layer: layers.gru({ units: 3 }), inputShape: [3, 2] }), layers.dense({ units: 1 })] });
    cut.setWeights(m.getWeights());
    const short = ((await cut.predict(tensor(x.slice(10, 16), [1, 3, 2]))) as Tensor).dataSync();
    expect(full[1]).toBeCloseTo(short[0], 5);
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const h = await m.fit(tensor(x, [3, 5, 2]), [[0.1], [0.2], [0.3]], { epochs: 2, verbose: 0 });
    expect(h.history.loss.every(Number.isFinite)).toBe(true);
  });

  it('predict batches any number of samples and accepts nested arrays', async () => {
    const m = sequential({ layers: [layers.gru({ units: 4, inputShape: [5, 2] }), layers.dense({ units: 3 })] });
    const x = randomTensor([33, 5, 2], 4);
    const all = (await m.predict(x, { batchSize: 8 })) as Tensor;
    const one = (await m.predictOnBatch(x)) as Tensor;
    expect(all.shape).toEqual([33, 3]);
    const a = all.dataSync(), b = one.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 5);
    const nested = (await m.predict(x.arraySync() as number[][][])) as Tensor;
    expect(Array.from(nested.dataSync())).toEqual(Array.from(a));
    const single = (await m.predict(tensor(x.dataSync().slice(0, 10), [1, 5, 2]))) as Tensor;
    expect(single.shape).toEqual([1, 3]);
  });

  it('trainOnBatch resolves to the loss before the update; evaluate gives loss then metrics', async () => {
    const m = sequential({ layers: [layers.gru({ units: 4, inputShape: [5, 2] }), layers.dense({ units: 1 })] });
    m.compile({ optimizer: 'sgd', loss: 'mse', metrics: ['mae'] });
    const x = randomTensor([10, 5, 2], 5);
    const y = randomTensor([10, 1], 6);
    const [evalLoss, evalMae] = (await m.evaluate(x, y)) as Tensor[];
    const [trainLoss, trainMae] = (await m.trainOnBatch(x, y)) as number[];
    expect(trainLoss).toBeCloseTo(evalLoss.dataSync()[0], 5);
    expect(trainMae).toBeCloseTo(evalMae.dataSync()[0], 5);
    const [afterLoss] = (await m.evaluate(x, y)) as Tensor[];
    expect(afterLoss.dataSync()[0]).toBeLessThan(trainLoss);
  });

  it('a multi-output model weighs its losses and names its logs per output', async () => {
    const x = input({ shape: [4, 2] });
    const h = layers.gru({ units: 5 }).apply(x) as SymbolicTensor;
    const a = layers.dense({ units: 1, name: 'reg' }).apply(h) as SymbolicTensor;
    const b = layers.dense({ units: 2, activation: 'softmax', name: 'cls' }).apply(h) as SymbolicTensor;
    const m = model({ inputs: x, outputs: [a, b] });
    m.compile({ optimizer: 'adam', loss: { reg: 'mse', cls: 'sparseCategoricalCrossentropy' }, lossWeights: { reg: 2, cls: 1 }, metrics: { cls: ['accuracy'] } });
    const xs = randomTensor([12, 4, 2], 7);
    const yReg = randomTensor([12, 1], 8);
    const yCls = Array.from({ length: 12 }, (_, i) => i % 2);
    const history = await m.fit(xs, [yReg, yCls], { epochs: 2, verbose: 0 });
    expect(Object.keys(history.history).sort()).toEqual(['cls_accuracy', 'cls_loss', 'loss', 'reg_loss']);
    const h0 = history.history;
    // The total is the weighted sum (means over the same samples in one batch).
    expect(h0.loss[0]).toBeCloseTo(2 * h0.reg_loss[0] + h0.cls_loss[0], 4);
  });

  it('getWeights/setWeights follow Keras order: layer by layer, kernel, recurrent kernel, bias', () => {
    const m = sequential({ layers: [layers.gru({ units: 3, inputShape: [null, 2] }), layers.dense({ units: 1 })] });
    expect(m.getWeights().map((w) => w.shape)).toEqual([[2, 9], [3, 9], [2, 9], [3, 1], [1]]);
    const ws = m.getWeights().map((w, i) => tensor(new Float32Array(w.size).fill(i), w.shape));
    m.setWeights(ws);
    expect(m.getWeights().map((w) => w.dataSync()[0])).toEqual([0, 1, 2, 3, 4]);
    expect(() => m.setWeights(ws.slice(0, 4))).toThrow(/expects 5 tensors/);
    expect(m.countParams()).toBe(18 + 27 + 18 + 4);
  });

  it('callbacks hear every epoch and batch; stopTraining from a callback ends fit after that batch', async () => {
    const m = sequential({ layers: [layers.gru({ units: 3, inputShape: [4, 2] }), layers.dense({ units: 1 })] });
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    const events: string[] = [];
    const x = randomTensor([20, 4, 2], 9), y = randomTensor([20, 1], 10);
    await m.fit(x, y, {
      epochs: 2,
      batchSize: 10,
      verbose: 0,
      callbacks: { onEpochBegin: (e) => void events.push(`e${e}`), onBatchEnd: (b, logs) => void events.push(`b${b}:${typeof logs?.loss}`), onEpochEnd: async (e) => void events.push(`E${e}`) },
    });
    expect(events).toEqual(['e0', 'b0:number', 'b1:number', 'E0', 'e1', 'b0:number', 'b1:number', 'E1']);
    let batches = 0;
    const history = await m.fit(x, y, {
      epochs: 5,
      batchSize: 5,
      verbose: 0,
      callbacks: {
        onBatchEnd: (b) => {
          batches++;
          if (b === 1) m.stopTraining = true;
        },
      },
    });
    expect(batches).toBe(2);
    expect(history.epoch.length).toBeLessThanOrEqual(1);
  });

  it('the same seed gives the same model, data order and dropout', async () => {
    const run = async () => {
      setSeed(99);
      const m = sequential({ layers: [layers.gru({ units: 4, inputShape: [5, 2], dropout: 0.2, recurrentDropout: 0.2 }), layers.dense({ units: 1 })] });
      m.compile({ optimizer: 'adam', loss: 'mse' });
      await m.fit(randomTensor([16, 5, 2], 11), randomTensor([16, 1], 12), { epochs: 2, batchSize: 4, verbose: 0 });
      return m.getWeights().map((w) => Array.from(w.dataSync()));
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    setSeed(100);
    const c = sequential({ layers: [layers.gru({ units: 4, inputShape: [5, 2] })] }).getWeights()[0].dataSync();
    expect(Array.from(c)).not.toEqual(a[0]);
  });

  it('the event loop keeps turning during fit', async () => {
    // Big enough that fit takes a few hundred ms on either backend.
    const [units, T, n] = backendName === 'native' ? [64, 40, 256] : [32, 20, 96];
    const m = sequential({ layers: [layers.gru({ units, inputShape: [T, 16] }), layers.dense({ units: 1 })] });
    m.compile({ optimizer: 'adam', loss: 'mse' });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    await m.fit(randomTensor([n, T, 16], 13), randomTensor([n, 1], 14), { epochs: 2, batchSize: 32, verbose: 0 });
    const elapsed = Date.now() - started;
    clearInterval(timer);
    // A blocked loop would tick about once per fit; a free one about once per slice (15 ms on the TS backend).
    expect(ticks).toBeGreaterThan(Math.min(20, elapsed / 40));
  });

  it('summary prints the Keras table with shapes and parameter counts', () => {
    const m = sequential({ layers: [layers.gru({ units: 8, inputShape: [null, 3], name: 'g' }), layers.dense({ units: 2, name: 'd' })] });
    const lines: string[] = [];
    m.summary(undefined, undefined, (l) => lines.push(l));
    const text = lines.join('\n');
    expect(text).toMatch(/g \(GRU\)\s+\[null,8\]\s+312/);
    expect(text).toMatch(/d \(Dense\)\s+\[null,2\]\s+18/);
    expect(text).toMatch(/Total params: 330/);
    expect(text).toMatch(/Trainable params: 330/);
    const ed = encoderDecoder();
    const l2: string[] = [];
    ed.summary(undefined, undefined, (l) => l2.push(l));
    expect(l2.join('\n')).toMatch(/decoder \(GRU\)\s+\[null,null,6\]\s+\d+\s+decoder_in\[0\]\[0\]\n\s+encoder\[0\]\[1\]/);
  });
});

describe('bad input to the model API gets clear errors', () => {
  const make = () => {
    const m = sequential({ layers: [layers.gru({ units: 3, inputShape: [4, 2] }), layers.dense({ units: 1 })] });
    m.compile({ optimizer: 'sgd', loss: 'mse' });
    return m;
  };
  const x = randomTensor([6, 4, 2], 20);
  const y = randomTensor([6, 1], 21);

  it('x and y with different sample counts', async () => {
    await expect(make().fit(x, randomTensor([5, 1], 1), { verbose: 0 })).rejects.toThrow(/different numbers of samples \(6 and 5/);
  });
  it('wrong rank or feature count', async () => {
    await expect(make().fit(randomTensor([6, 4], 1), y, { verbose: 0 })).rejects.toThrow(/x must have shape \[null, 4, 2\], got \[6, 4\]/);
    await expect(make().predict(randomTensor([6, 4, 3], 1))).rejects.toThrow(/\[null, 4, 2\], got \[6, 4, 3\]/);
    await expect(make().fit(x, randomTensor([6, 2], 1), { verbose: 0 })).rejects.toThrow(/y must have shape \[null, 1\], got \[6, 2\]/);
  });
  it('NaN in x or y', async () => {
    const bad = x.dataSync();
    bad[5] = NaN;
    await expect(make().fit(tensor(bad, x.shape), y, { verbose: 0 })).rejects.toThrow(/x contains NaN at flat index 5/);
    await expect(make().fit(x, [1, 2, Infinity, 4, 5, 6], { verbose: 0 })).rejects.toThrow(/y contains Infinity/);
  });
  it('unknown optimizer, loss, metric, option; fit before compile', async () => {
    const m = sequential({ layers: [layers.gru({ units: 3, inputShape: [4, 2] })] });
    expect(() => m.compile({ optimizer: 'adamm', loss: 'mse' })).toThrow(/adamm/);
    expect(() => m.compile({ optimizer: 'adam', loss: 'mean_squared_errr' })).toThrow(/unknown loss "mean_squared_errr"/);
    expect(() => m.compile({ optimizer: 'adam', loss: 'mse', metrics: ['acuracy'] })).toThrow(/acuracy/);
    await expect(m.fit(x, randomTensor([6, 3], 1))).rejects.toThrow(/compile/);
    const c = make();
    await expect(c.fit(x, y, { epoch: 3 } as never)).rejects.toThrow(/unknown option "epoch"/);
    await expect(c.fit(x, y, { batchSize: 0 })).rejects.toThrow(/batchSize must be an integer >= 1/);
    await expect(c.fit(x, y, { validationSplit: 1.5, verbose: 0 })).rejects.toThrow(/validationSplit/);
  });
  it('graphs that cannot be models', () => {
    const a = input({ shape: [3] });
    const b = input({ shape: [3] });
    const out = layers.dense({ units: 1 }).apply(a) as SymbolicTensor;
    expect(() => model({ inputs: [a, b], outputs: out })).toThrow(/input "input_\d+" is not used by any output/);
    expect(() => model({ inputs: b, outputs: out })).toThrow(/not among the model's inputs/);
    expect(() => sequential({ layers: [layers.gru({ units: 2, inputShape: [3, 1], returnState: true })] })).toThrow(/2 outputs/);
    expect(() => sequential({ layers: [layers.gru({ units: 2, inputShape: [3, 1], name: 'same' }), layers.dense({ units: 1, name: 'same' })] })).toThrow(/already has a layer named "same"/);
  });
  it('a diverging run does not crash: NaN losses, weights kept finite, TerminateOnNaN stops it', async () => {
    const m = sequential({ layers: [layers.gru({ units: 3, inputShape: [4, 2] }), layers.dense({ units: 1 })] });
    m.compile({ optimizer: train.sgd(1e6), loss: 'mse' });
    const big = tensor(Float32Array.from({ length: 6 }, (_, i) => 1e18 * (i + 1)), [6, 1]);
    const h = await m.fit(x, big, { epochs: 3, batchSize: 2, verbose: 0 });
    expect(h.history.loss.some((v) => Number.isNaN(v) || !Number.isFinite(v))).toBe(true);
    for (const w of m.getWeights()) expect(Array.from(w.dataSync()).every(Number.isFinite)).toBe(true);
    const { callbacks } = await import('../lib/index.js');
    const stopped = await m.fit(x, big, { epochs: 5, batchSize: 2, verbose: 0, callbacks: [callbacks.terminateOnNaN()] });
    expect(stopped.epoch.length).toBeLessThan(5);
  });

  it('two fits at once on one model', async () => {
    const m = make();
    const first = m.fit(x, y, { epochs: 2, verbose: 0 });
    await expect(m.fit(x, y, { verbose: 0 })).rejects.toThrow(/still running/);
    await first;
  });
  it('a Dense layer on the wrong feature count fails when the model is built', () => {
    const a = input({ shape: [5] });
    const d = layers.dense({ units: 2 });
    d.apply(a);
    expect(() => d.apply(input({ shape: [4] }))).toThrow(/built for 5 input features, cannot take \[null, 4\]/);
  });
});
