/**
 * exportOnnx: the exported file runs in onnxruntime-node (a devDependency,
 * its binary bundled in the npm package) and gives gatedrnn's predictions
 * (1e-5): the real Keras traffic models (Keras 2 hard sigmoid LSTM, tf.keras
 * and Keras 3 reset_after GRUs), GRU in both reset forms, goBackwards,
 * LSTM, SimpleRNN, every Bidirectional merge mode, Embedding, the core
 * layers, activations, an encoder–decoder with initial and returned states.
 * The graph uses ONNX's GRU/LSTM/RNN ops with linear_before_reset and
 * direction set as the layers say. Models ONNX cannot express are refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { input, layers, model, sequential, setSeed, tensor, type LayersModel, type SymbolicTensor, type Tensor } from '../lib/index.js';
import { decodeModel } from '../lib/io/onnx/onnxProto.js';
import { modelToOnnx } from '../lib/io/onnx/exportOnnx.js';
import { loadKerasModel } from '../lib/io/keras/loadKerasModel.js';
import { Random } from '../lib/random.js';
import { maxAbsDiff, TRAFFIC, trafficWindows } from './fixtures/interop/helpers.js';

// onnxruntime-node 1.16.3 (the last release that installs without downloading anything) ships no
// .d.ts of its own: its API is onnxruntime-common's.
type Ort = typeof import('onnxruntime-common');
const ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-onnx-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let count = 0;

function rand(shape: number[], seed: number, scale = 1): Tensor<'float32'> {
  const r = new Random(seed);
  return tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (r.next() * 2 - 1) * scale), shape);
}

/** Runs the model's ONNX export in onnxruntime on `xs`; returns the outputs in model order. */
async function runOnnx(m: LayersModel, xs: Tensor[]): Promise<Float32Array[]> {
  const file = path.join(tmpRoot, `m${count++}.onnx`);
  const written = await m.exportOnnx(file);
  expect(written.bytes).toBe(fs.statSync(file).size);
  const session = await ort.InferenceSession.create(file);
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  session.inputNames.forEach((name, i) => {
    // Fed as the model's input dtype (ids given as int32 to a float32 input are cast by gatedrnn).
    const x = (m.inputs[i].sourceLayer as unknown as { dtype: string }).dtype === 'float32' && xs[i].dtype === 'int32' ? tensor(Float32Array.from(xs[i].dataSync()), [...xs[i].shape]) : xs[i];
    feeds[name] = x.dtype === 'int32' ? new ort.Tensor('int32', x.dataSync() as Int32Array, [...x.shape]) : new ort.Tensor('float32', x.dataSync() as Float32Array, [...x.shape]);
  });
  const out = await session.run(feeds);
  return session.outputNames.map((n) => out[n].data as Float32Array);
}

/** gatedrnn's and onnxruntime's predictions agree to `tol`, output by output (shapes too). */
async function expectSame(m: LayersModel, xs: Tensor[], tol = 1e-5): Promise<void> {
  const ours = await m.predict(xs.length === 1 ? xs[0] : xs);
  const list = Array.isArray(ours) ? ours : [ours];
  const theirs = await runOnnx(m, xs);
  expect(theirs.length).toBe(list.length);
  list.forEach((t, i) => {
    expect(theirs[i].length).toBe(t.size);
    expect(maxAbsDiff(theirs[i], t.dataSync())).toBeLessThan(tol);
  });
}

describe('the real Keras traffic models in onnxruntime', () => {
  const data = trafficWindows();
  const x = tensor(data.x.dataSync().slice(0, 300 * 12), [300, 12, 1]);
  it.each(['keras2.1.4-h5/lstm.h5', 'tfkeras2.4-h5/gru.h5', 'keras3.14-dotkeras/gru.keras', 'keras3.14-dotkeras/lstm.keras'])('%s', async (file) => {
    const m = await loadKerasModel(path.join(TRAFFIC, file), { compile: false });
    await expectSame(m, [x]);
  });
});

describe('recurrent layers', () => {
  it.each([
    ['GRU resetAfter, sequences', { units: 6, returnSequences: true }],
    ['GRU original form (resetAfter false), last output', { units: 6, resetAfter: false }],
    ['GRU goBackwards, sequences', { units: 5, goBackwards: true, returnSequences: true }],
    ['GRU goBackwards, last output, hard sigmoid (Keras 2)', { units: 5, goBackwards: true, recurrentActivation: 'hardSigmoid' }],
    ['GRU hard sigmoid (Keras 3), relu candidate', { units: 4, recurrentActivation: 'hardSigmoidKeras3', activation: 'relu', returnSequences: true }],
    ['GRU linear candidate, no bias', { units: 4, activation: 'linear', useBias: false, returnSequences: true }],
  ])('%s', async (_name, args) => {
    setSeed(1);
    const m = sequential({ layers: [layers.gru({ ...(args as { units: number }), inputShape: [null, 3] }), layers.dense({ units: 2 })] });
    await expectSame(m, [rand([4, 7, 3], 2)]);
  });

  it.each([
    ['LSTM sequences', { units: 6, returnSequences: true }],
    ['LSTM hard sigmoid (Keras 2), goBackwards', { units: 5, recurrentActivation: 'hardSigmoid', goBackwards: true }],
    ['LSTM hard sigmoid (Keras 3), relu', { units: 5, recurrentActivation: 'hardSigmoidKeras3', activation: 'relu', returnSequences: true, goBackwards: true }],
  ])('%s', async (_name, args) => {
    setSeed(3);
    const m = sequential({ layers: [layers.lstm({ ...(args as { units: number }), inputShape: [null, 3] })] });
    await expectSame(m, [rand([4, 7, 3], 4)]);
  });

  it('SimpleRNN (tanh, relu) stacked', async () => {
    setSeed(5);
    const m = sequential({ layers: [layers.simpleRNN({ units: 5, returnSequences: true, inputShape: [null, 2] }), layers.simpleRNN({ units: 3, activation: 'relu' })] });
    await expectSame(m, [rand([3, 6, 2], 6)]);
  });

  it.each(['concat', 'sum', 'ave', 'mul', null] as const)('Bidirectional GRU and LSTM, mergeMode %s, sequences and last output', async (mergeMode) => {
    setSeed(7);
    for (const returnSequences of [true, false]) {
      for (const make of [layers.gru, layers.lstm]) {
        const x = input({ shape: [null, 3] });
        const y = layers.bidirectional({ layer: make({ units: 4, returnSequences }), mergeMode }).apply(x) as SymbolicTensor | SymbolicTensor[];
        const m = model({ inputs: x, outputs: y });
        await expectSame(m, [rand([3, 5, 3], 8)]);
      }
    }
  });

  it('an encoder–decoder: initial states in, states out (GRU, LSTM, Bidirectional)', async () => {
    setSeed(9);
    const enc = input({ shape: [null, 3] });
    const dec = input({ shape: [null, 2] });
    const [, h] = layers.gru({ units: 4, returnState: true }).apply(enc) as SymbolicTensor[];
    const seq = layers.gru({ units: 4, returnSequences: true }).apply(dec, { initialState: [h] }) as SymbolicTensor;
    const [lo, lh, lc] = layers.lstm({ units: 4, returnState: true, returnSequences: true }).apply(enc) as SymbolicTensor[];
    const l2 = layers.lstm({ units: 4 }).apply(dec, { initialState: [lh, lc] }) as SymbolicTensor;
    const [bo, ...bstates] = layers.bidirectional({ layer: layers.gru({ units: 4, returnState: true }) }).apply(enc) as SymbolicTensor[];
    const b2 = layers.bidirectional({ layer: layers.gru({ units: 4 }) }).apply(dec, { initialState: bstates }) as SymbolicTensor;
    const out = layers.timeDistributed({ layer: layers.dense({ units: 2 }) }).apply(seq) as SymbolicTensor;
    const m = model({ inputs: [enc, dec], outputs: [out, l2, b2, bo, lo] });
    await expectSame(m, [rand([3, 6, 3], 10), rand([3, 4, 2], 11)]);
  });
});

describe('core layers and activations', () => {
  it('Embedding (int32 ids) → GRU → BatchNormalization → Dense softmax', async () => {
    setSeed(12);
    const m = sequential({ layers: [layers.embedding({ inputDim: 30, outputDim: 6, inputShape: [8] }), layers.gru({ units: 5 }), layers.batchNormalization(), layers.dense({ units: 3, activation: 'softmax' })] });
    const bn = m.layers[2];
    bn.setWeights(bn.getWeights().map((w, i) => tensor(Float32Array.from(w.dataSync(), (_, j) => (i === 3 ? 0.5 + j * 0.1 : 0.1 * (j + i))), [...w.shape])));
    const r = new Random(13);
    await expectSame(m, [tensor(Int32Array.from({ length: 4 * 8 }, () => Math.floor(r.next() * 30)), [4, 8], 'int32')]);
  });

  it('LayerNormalization, TimeDistributed, Flatten, Reshape, Permute, RepeatVector, Concatenate, Dropout, Activation', async () => {
    setSeed(14);
    const x = input({ shape: [5, 4] });
    const a = layers.layerNormalization().apply(x) as SymbolicTensor;
    const b = layers.timeDistributed({ layer: layers.dense({ units: 3, activation: 'tanh' }) }).apply(a) as SymbolicTensor;
    const c = layers.permute({ dims: [2, 1] }).apply(b) as SymbolicTensor;
    const d = layers.flatten().apply(c) as SymbolicTensor;
    const e = layers.dropout({ rate: 0.5 }).apply(d) as SymbolicTensor;
    const f = layers.repeatVector({ n: 2 }).apply(layers.dense({ units: 4 }).apply(e) as SymbolicTensor) as SymbolicTensor;
    const g = layers.reshape({ targetShape: [8] }).apply(f) as SymbolicTensor;
    const h = layers.concatenate().apply([g, d]) as SymbolicTensor;
    const out = layers.activation({ activation: 'selu' }).apply(h) as SymbolicTensor;
    await expectSame(model({ inputs: x, outputs: out }), [rand([3, 5, 4], 15)]);
  });

  it.each(['relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'hardSigmoidKeras3', 'tanh', 'softmax', 'logSoftmax', 'softplus', 'softsign', 'swish', 'silu', 'hardSilu', 'hardSwish', 'mish', 'gelu', 'geluNew', 'exponential', 'linear'] as const)(
    'Dense with activation %s',
    async (activation) => {
      setSeed(16);
      const m = sequential({ layers: [layers.dense({ units: 5, activation, inputShape: [4] })] });
      await expectSame(m, [rand([6, 4], 17, 3)]);
    },
  );
});

describe('the ONNX graph', () => {
  it('uses GRU with linear_before_reset from resetAfter, LSTM, bidirectional direction, opset 17', () => {
    setSeed(18);
    const x = input({ shape: [null, 3] });
    const a = layers.gru({ units: 4, returnSequences: true, resetAfter: false }).apply(x) as SymbolicTensor;
    const b = layers.bidirectional({ layer: layers.lstm({ units: 4 }) }).apply(a) as SymbolicTensor;
    const m = model({ inputs: x, outputs: layers.dense({ units: 1 }).apply(b) as SymbolicTensor });
    const proto = decodeModel(modelToOnnx(m)) as { ir_version: number; opset_import: Array<{ version: number }>; graph: { node: Array<{ op_type: string; attribute: Array<{ name: string; i?: number; s?: number[] }> }>; input: Array<{ name: string }> } };
    expect(proto.ir_version).toBe(8);
    expect(proto.opset_import[0].version).toBe(17);
    const ops = proto.graph.node.map((n) => n.op_type);
    expect(ops).toContain('GRU');
    expect(ops).toContain('LSTM');
    expect(ops).toContain('Gemm');
    const gru = proto.graph.node.find((n) => n.op_type === 'GRU')!;
    expect(gru.attribute.find((a) => a.name === 'linear_before_reset')?.i).toBe(0);
    const lstm = proto.graph.node.find((n) => n.op_type === 'LSTM')!;
    expect(Buffer.from(lstm.attribute.find((a) => a.name === 'direction')!.s!).toString()).toBe('bidirectional');
    expect(proto.graph.input[0].name).toBe(m.inputs[0].sourceLayer.name);
  });

  it('refuses what ONNX cannot express, naming the layer', () => {
    setSeed(19);
    const masked = sequential({ layers: [layers.embedding({ inputDim: 5, outputDim: 2, maskZero: true, inputShape: [4] }), layers.gru({ units: 2 })] });
    expect(() => modelToOnnx(masked)).toThrow(/layer "embedding\w*" \(class Embedding\): maskZero/);
    const masking = sequential({ layers: [layers.masking({ inputShape: [4, 2] }), layers.lstm({ units: 2 })] });
    expect(() => modelToOnnx(masking)).toThrow(/class Masking/);
    const stateful = sequential({ layers: [layers.gru({ units: 2, stateful: true, batchInputShape: [2, 4, 2] })] });
    expect(() => modelToOnnx(stateful)).toThrow(/stateful/);
  });
});
