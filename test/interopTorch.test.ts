/**
 * PyTorch state dicts and safetensors: real PyTorch nn.GRU / nn.LSTM stacks
 * (test/fixtures/interop/rtneural-json: state dicts dumped by PyTorch with
 * the outputs PyTorch computed) load with fromTorchStateDict and reproduce
 * PyTorch's outputs; real tf.keras GRU/LSTM weights reproduce Keras's and
 * go through toTorchStateDict → .safetensors → fromTorchStateDict
 * bit-for-bit; the safetensors reader and writer follow the format
 * (header, dtypes, offsets, metadata) and refuse corrupt files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { input, layers, model, ModelFileError, sequential, setSeed, tensor, type LayersModel, type SymbolicTensor, type Tensor } from '../lib/index.js';
import { parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors, type TensorMap } from '../lib/io/torch/safetensors.js';
import { fromTorchStateDict, toTorchStateDict, torchSpecOf } from '../lib/io/torch/stateDict.js';
import { Random } from '../lib/random.js';
import { maxAbsDiff, readCsvNumbers, RTNEURAL } from './fixtures/interop/helpers.js';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-torch-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));
let count = 0;
const tmp = (ext: string): string => path.join(tmpRoot, `f${count++}${ext}`);

type Nested = number | Nested[];
function toTensor(value: Nested): Tensor<'float32'> {
  const shape: number[] = [];
  let v: Nested = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return tensor(Float32Array.from((value as Nested[]).flat(Infinity as 1) as number[]), shape);
}

function stateDictFromJson(file: string): TensorMap {
  const raw = JSON.parse(fs.readFileSync(path.join(RTNEURAL, file), 'utf8')) as Record<string, Nested>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, toTensor(v)]));
}

function csvSequence(file: string): { x: Tensor; y: number[] } {
  const rows = readCsvNumbers(path.join(RTNEURAL, file));
  return { x: tensor(Float32Array.from(rows.map((r) => r[0])), [1, rows.length, 1]), y: [] };
}

async function predict(m: LayersModel, x: Tensor): Promise<Float32Array> {
  return ((await m.predict(x)) as Tensor).dataSync() as Float32Array;
}

describe('real PyTorch GRU/LSTM state dicts (RTNeural)', () => {
  it.each([
    ['gru', 'gru_torch.json', 'gru_torch_x_python.csv', 'gru_torch_y_python.csv'],
    ['lstm', 'lstm_torch.json', 'lstm_torch_x_python.csv', 'lstm_torch_y_python.csv'],
  ] as const)('nn.%s(1,8) → 3-layer stack → nn.Linear reproduces PyTorch over 1,000 steps', async (type, json, xcsv, ycsv) => {
    const sd = stateDictFromJson(json);
    const m = fromTorchStateDict(sd, { layers: [{ type, prefix: type }, { type, prefix: `${type}2` }, { type: 'linear', prefix: 'dense' }], returnSequences: true });
    expect(m.layers.filter((l) => l.constructor.name !== 'InputLayer').length).toBe(5);
    const { x } = csvSequence(xcsv);
    const want = readCsvNumbers(path.join(RTNEURAL, ycsv)).map((r) => r[0]);
    const got = await predict(m, x);
    expect(got.length).toBe(1000);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    // Back to a state dict: the GRU's weights come back bit for bit; the LSTM's biases as their sum.
    const back = toTorchStateDict(m);
    const again = fromTorchStateDict(back, torchSpecOf(m));
    expect(maxAbsDiff(await predict(again, x), got)).toBe(0);
    if (type === 'gru') {
      expect(maxAbsDiff(back['gru2_l1.weight_hh_l0'].dataSync(), sd['gru2.weight_hh_l1'].dataSync())).toBe(0);
      expect(maxAbsDiff(back['gru2_l1.bias_hh_l0'].dataSync(), sd['gru2.bias_hh_l1'].dataSync())).toBe(0);
    }
  });

  it('refuses state dict entries the spec does not read, and missing ones, naming them', () => {
    const sd = stateDictFromJson('gru_torch.json');
    expect(() => fromTorchStateDict(sd, { layers: [{ type: 'gru', prefix: 'gru' }, { type: 'linear', prefix: 'dense' }] })).toThrow(/no module of the spec reads: gru2\.weight_ih_l0/);
    expect(fromTorchStateDict(sd, { layers: [{ type: 'gru', prefix: 'gru' }, { type: 'linear', prefix: 'dense' }], strict: false }).outputShape).toEqual([null, 1]);
    expect(() => fromTorchStateDict(sd, { layers: [{ type: 'gru', prefix: 'encoder' }] })).toThrow(ModelFileError);
    expect(() => fromTorchStateDict(sd, { layers: [{ type: 'gru', prefix: 'encoder' }] })).toThrow(/no "encoder\.weight_ih_l0"/);
  });
});

describe('real tf.keras GRU/LSTM weights (RTNeural) through PyTorch layout and safetensors', () => {
  interface KerasJson {
    layers: Array<{ type: string; activation: string; weights: Nested[] }>;
  }
  function kerasModel(file: string): LayersModel {
    const j = JSON.parse(fs.readFileSync(path.join(RTNEURAL, file), 'utf8')) as KerasJson;
    const ls = j.layers.map((l, i) => {
      const units = l.type === 'gru' || l.type === 'lstm' ? (l.weights[1] as Nested[]).length : ((l.weights[0] as Nested[])[0] as Nested[]).length;
      const extra = i === 0 ? { inputShape: [null, 1] } : {};
      if (l.type === 'gru') return layers.gru({ units, returnSequences: true, ...extra });
      if (l.type === 'lstm') return layers.lstm({ units, returnSequences: true, ...extra });
      return layers.dense({ units, activation: (l.activation || 'linear') as 'tanh', ...extra });
    });
    const m = sequential({ layers: ls });
    j.layers.forEach((l, i) => ls[i].setWeights(l.weights.map(toTensor)));
    void m;
    return m;
  }

  it.each([
    ['gru.json', 'gru_x_python.csv', 'gru_y_python.csv'],
    ['lstm.json', 'lstm_x_python.csv', 'lstm_y_python.csv'],
  ])('%s reproduces Keras, and round-trips through a .safetensors state dict bit for bit', async (json, xcsv, ycsv) => {
    const m = kerasModel(json);
    const { x } = csvSequence(xcsv);
    const want = readCsvNumbers(path.join(RTNEURAL, ycsv)).map((r) => r[0]);
    const got = await predict(m, x);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    const file = tmp('.safetensors');
    await writeSafetensors(file, toTorchStateDict(m), { format: 'pt' });
    const back = fromTorchStateDict(await readSafetensors(file), torchSpecOf(m));
    expect(maxAbsDiff(await predict(back, x), got)).toBe(0);
  });
});

describe('toTorchStateDict / torchSpecOf', () => {
  it('names PyTorch keys after the layers: bidirectional _reverse, Linear (out, in), Embedding', async () => {
    setSeed(3);
    const m = sequential({ layers: [layers.embedding({ inputDim: 12, outputDim: 4, inputShape: [6] }), layers.bidirectional({ layer: layers.gru({ units: 5, returnSequences: true }) }), layers.lstm({ units: 3 }), layers.dropout({ rate: 0.3 }), layers.dense({ units: 2, activation: 'softmax' })] });
    const sd = toTorchStateDict(m);
    const names = m.layers.map((l) => l.name);
    const [emb, bi, lstm, , dense] = names;
    expect(Object.keys(sd).sort()).toEqual(
      [`${emb}.weight`, ...['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].flatMap((k) => [`${bi}.${k}`, `${bi}.${k}_reverse`]), ...['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'].map((k) => `${lstm}.${k}`), `${dense}.weight`, `${dense}.bias`].sort(),
    );
    expect(sd[`${bi}.weight_ih_l0`].shape).toEqual([15, 4]);
    expect(sd[`${bi}.weight_hh_l0_reverse`].shape).toEqual([15, 5]);
    expect(sd[`${lstm}.weight_ih_l0`].shape).toEqual([12, 10]);
    expect(sd[`${dense}.weight`].shape).toEqual([2, 3]);
    const spec = torchSpecOf(m);
    expect(spec.layers.map((l) => l.type)).toEqual(['embedding', 'gru', 'lstm', 'linear']);
    const back = fromTorchStateDict(sd, spec);
    const r = new Random(4);
    const ids = tensor(Int32Array.from({ length: 18 }, () => Math.floor(r.next() * 12)), [3, 6], 'int32');
    expect(maxAbsDiff(await predict(back, ids), await predict(m, ids))).toBe(0);
  });

  it('nn.RNN (relu) and bias-free modules', async () => {
    setSeed(5);
    const m = sequential({ layers: [layers.simpleRNN({ units: 4, activation: 'relu', useBias: false, returnSequences: true, inputShape: [null, 3] }), layers.gru({ units: 3, useBias: false }), layers.dense({ units: 1, useBias: false })] });
    const sd = toTorchStateDict(m);
    expect(Object.keys(sd).some((k) => k.includes('bias'))).toBe(false);
    const x = tensor(Float32Array.from({ length: 2 * 5 * 3 }, (_, i) => Math.cos(i)), [2, 5, 3]);
    expect(maxAbsDiff(await predict(fromTorchStateDict(sd, torchSpecOf(m)), x), await predict(m, x))).toBe(0);
  });

  it('refuses what PyTorch modules cannot express, naming the layer and the option', () => {
    setSeed(6);
    const original = sequential({ layers: [layers.gru({ units: 2, resetAfter: false, inputShape: [null, 2] })] });
    expect(() => toTorchStateDict(original)).toThrow(/class GRU\): resetAfter: false/);
    const hard = sequential({ layers: [layers.lstm({ units: 2, recurrentActivation: 'hardSigmoid', inputShape: [null, 2] })] });
    expect(() => toTorchStateDict(hard)).toThrow(/class LSTM\).*hardSigmoid/);
    const sum = sequential({ layers: [layers.bidirectional({ layer: layers.gru({ units: 2 }), mergeMode: 'sum', inputShape: [null, 2] })] });
    expect(() => toTorchStateDict(sum)).toThrow(/mergeMode "sum"/);
    const x = input({ shape: [null, 2] });
    const [, h] = layers.gru({ units: 2, returnState: true }).apply(x) as SymbolicTensor[];
    expect(() => toTorchStateDict(model({ inputs: x, outputs: h }))).toThrow(/toTorchStateDict/);
  });
});

describe('safetensors', () => {
  it('writes the format: 8-byte length, JSON header padded to 8 bytes, packed data in name order, metadata', () => {
    const bytes = serializeSafetensors({ b: tensor([1, 2, 3], [3]), a: tensor(Int32Array.from([7, -8]), [1, 2], 'int32') }, { format: 'pt' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
    expect(header).toEqual({ __metadata__: { format: 'pt' }, a: { dtype: 'I32', shape: [1, 2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [3], data_offsets: [8, 20] } });
    expect(bytes.length).toBe(8 + n + 20);
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.b.dataSync()]).toEqual([1, 2, 3]);
    expect(tensors.a.dtype).toBe('int32');
    expect([...tensors.a.dataSync()]).toEqual([7, -8]);
  });

  it('reads F16, BF16, F64, I64, U8 and BOOL as float32 / int32 / bool', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555]); // 1, -2, 0.333
    const bf16 = new Uint16Array([0x3f80, 0xc040]); // 1, -3
    const f64 = new Float64Array([0.1, -1e30]);
    const i64 = new BigInt64Array([5n, -6n]);
    const u8 = new Uint8Array([255, 0]);
    const bool = new Uint8Array([1, 0, 1]);
    const parts: Array<[string, string, number[], Uint8Array]> = [
      ['f16', 'F16', [3], new Uint8Array(f16.buffer)],
      ['bf16', 'BF16', [2], new Uint8Array(bf16.buffer)],
      ['f64', 'F64', [2], new Uint8Array(f64.buffer)],
      ['i64', 'I64', [2, 1], new Uint8Array(i64.buffer)],
      ['u8', 'U8', [2], u8],
      ['bool', 'BOOL', [3], bool],
    ];
    const header: Record<string, unknown> = {};
    let off = 0;
    for (const [name, dtype, shape, data] of parts) {
      header[name] = { dtype, shape, data_offsets: [off, off + data.length] };
      off += data.length;
    }
    const json = Buffer.from(JSON.stringify(header));
    const bytes = new Uint8Array(8 + json.length + off);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    let o = 8 + json.length;
    for (const [, , , data] of parts) {
      bytes.set(data, o);
      o += data.length;
    }
    const { tensors } = parseSafetensors(bytes);
    expect(maxAbsDiff(tensors.f16.dataSync(), [1, -2, 0.333251953125])).toBe(0);
    expect([...tensors.bf16.dataSync()]).toEqual([1, -3]);
    expect(maxAbsDiff(tensors.f64.dataSync(), [Math.fround(0.1), Math.fround(-1e30)])).toBe(0);
    expect(tensors.i64.dtype).toBe('int32');
    expect(tensors.i64.shape).toEqual([2, 1]);
    expect([...tensors.i64.dataSync()]).toEqual([5, -6]);
    expect([...tensors.u8.dataSync()]).toEqual([255, 0]);
    expect(tensors.bool.dtype).toBe('bool');
  });

  it('refuses truncated and corrupt files, naming the problem', async () => {
    const good = serializeSafetensors({ w: tensor([1, 2, 3, 4], [2, 2]) });
    expect(() => parseSafetensors(good.subarray(0, 5))).toThrow(/too short/);
    expect(() => parseSafetensors(good.subarray(0, good.length - 4))).toThrow(/outside the data/);
    const badJson = good.slice();
    badJson[8] = 0x7a;
    expect(() => parseSafetensors(badJson)).toThrow(/not valid JSON/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => parseSafetensors(huge)).toThrow(/header length/);
    await expect(readSafetensors(path.join(tmpRoot, 'missing.safetensors'))).rejects.toThrow(ModelFileError);
  });
});
