/**
 * Models saved by TensorFlow.js 4.22 itself (test/fixtures/golden/tfjs,
 * copied from shared/golden/tfjs): loadLayersModel reads tfjs's model.json
 * (snake_case config, `gru_GRU2`-style names, `hard_sigmoid` = clip(0.2x +
 * 0.5), GRU without reset_after) and weights.bin, and reproduces the
 * predictions tfjs stored in io.json, on both backends. Saving such a model
 * again gives a file that loads back to the same predictions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { setBackend, tensor, type LayersModel, type Tensor } from '../lib/index.js';
import { loadLayersModel, loadModel } from '../lib/io/loadModel.js';
import { GRU } from '../lib/layers/recurrent/gru.js';

const DIR = path.join(__dirname, 'fixtures', 'golden', 'tfjs');
const CASES = ['tfjs_a_embedding_gru_softmax', 'tfjs_b_gru_stack'];

interface IoJson {
  inputs: { x: { dtype: 'float32' | 'int32'; shape: number[]; data: number[] } };
  predictions_tfjs: { shape: number[]; data: number[] };
}

function io(name: string): IoJson {
  return JSON.parse(fs.readFileSync(path.join(DIR, name, 'io.json'), 'utf8')) as IoJson;
}

function inputOf(name: string): Tensor {
  const x = io(name).inputs.x;
  return tensor(x.dtype === 'int32' ? Int32Array.from(x.data) : Float32Array.from(x.data), x.shape, x.dtype);
}

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'gatedrnn-tfjs-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

describe.each(['native', 'js'] as const)('TensorFlow.js models on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it.each(CASES)('%s loads and reproduces the tfjs predictions (1e-5)', async (name) => {
    const model = await loadLayersModel(`file://${path.join(DIR, name, 'model.json')}`);
    const want = io(name).predictions_tfjs;
    const got = (await model.predict(inputOf(name))) as Tensor;
    expect([...got.shape]).toEqual(want.shape);
    const v = got.dataSync();
    let worst = 0;
    for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(v[i] - want.data[i]));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('keeps the file\'s layer names and reads tfjs\'s GRU as resetAfter=false with the clip hard sigmoid', async () => {
    const model = await loadModel(path.join(DIR, 'tfjs_b_gru_stack'));
    expect(model.name).toBe('sequential_2');
    expect(model.layers.map((l) => l.name)).toEqual(['gru_GRU2', 'gru_GRU3', 'dense_Dense2']);
    const gru = model.layers[0] as GRU;
    expect(gru).toBeInstanceOf(GRU);
    expect(gru.resetAfter).toBe(false);
    expect(gru.recurrentActivation).toBe('hardSigmoid');
    expect(gru.returnSequences).toBe(true);
    expect(gru.getWeights()[2].shape).toEqual([36]);
    expect(model.trainer).toBeNull();
  });

  it('a GRU config without reset_after (older tfjs) is read as resetAfter=false', async () => {
    const dir = path.join(tmpRoot, `${backendName}-no-reset-after`);
    fs.mkdirSync(dir, { recursive: true });
    const json = JSON.parse(fs.readFileSync(path.join(DIR, 'tfjs_b_gru_stack', 'model.json'), 'utf8'));
    for (const l of json.modelTopology.config.layers) delete l.config.reset_after;
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    fs.copyFileSync(path.join(DIR, 'tfjs_b_gru_stack', 'weights.bin'), path.join(dir, 'weights.bin'));
    const model = await loadLayersModel(`file://${dir}/model.json`);
    expect((model.layers[1] as GRU).resetAfter).toBe(false);
    const want = io('tfjs_b_gru_stack').predictions_tfjs.data;
    const got = ((await model.predict(inputOf('tfjs_b_gru_stack'))) as Tensor).dataSync();
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-5));
  });

  it.each(CASES)('%s saved again loads back to the same predictions, bit for bit', async (name) => {
    const model = await loadLayersModel(path.join(DIR, name, 'model.json'));
    const x = inputOf(name);
    const before = ((await model.predict(x)) as Tensor).dataSync();
    const out = path.join(tmpRoot, `${backendName}-${name}`);
    await model.save(`file://${out}`);
    const json = JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8'));
    const original = JSON.parse(fs.readFileSync(path.join(DIR, name, 'model.json'), 'utf8'));
    // Same manifest (names, shapes, order) and same weights bytes as tfjs wrote.
    expect(json.weightsManifest[0].weights).toEqual(original.weightsManifest[0].weights);
    expect(fs.readFileSync(path.join(out, 'weights.bin')).equals(fs.readFileSync(path.join(DIR, name, 'weights.bin')))).toBe(true);
    expect(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(original.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name));
    const gruConfig = json.modelTopology.config.layers.find((l: { class_name: string }) => l.class_name === 'GRU').config;
    expect(gruConfig.recurrent_activation).toBe('hard_sigmoid');
    expect(gruConfig.reset_after).toBe(false);
    const again = (await loadLayersModel(out)) as LayersModel;
    expect(((await again.predict(x)) as Tensor).dataSync()).toEqual(before);
  });
});
