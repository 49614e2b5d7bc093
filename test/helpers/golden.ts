/** Reads the golden reference cases copied from ../shared/golden (README in test/fixtures/golden). */
import fs from 'node:fs';
import path from 'node:path';
import { gruWeightsFromTorch, lstmWeightsFromTorch, tensor } from '../../lib/index.js';

export interface GoldenTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data?: number[];
  b64?: string;
}

export interface GoldenCase {
  name: string;
  convention: 'A' | 'B' | 'C' | 'D';
  config: {
    batch: number;
    timesteps: number;
    input_size: number;
    hidden_size: number;
    num_layers: number;
    bidirectional: boolean;
    num_directions: number;
    cell: 'gru' | 'lstm';
    reset_after: boolean;
    activation: 'tanh' | 'relu';
    recurrent_activation: 'sigmoid' | 'hard_sigmoid' | 'hard_sigmoid_keras3';
    has_lengths: boolean;
  };
  inputs: Record<string, GoldenTensor>;
  params: Record<string, GoldenTensor>;
  outputs: Record<string, GoldenTensor>;
  loss: Record<string, GoldenTensor | number>;
  grads: { x: GoldenTensor; h0: GoldenTensor; params: Record<string, GoldenTensor> };
}

export const GOLDEN_DIR = path.join(__dirname, '..', 'fixtures', 'golden');

export function loadCase(file: string): GoldenCase {
  return JSON.parse(fs.readFileSync(path.join(GOLDEN_DIR, file), 'utf8')) as GoldenCase;
}

export function listCases(dir: string): string[] {
  return fs
    .readdirSync(path.join(GOLDEN_DIR, dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

export function values(t: GoldenTensor): Float32Array {
  if (t.b64 !== undefined) {
    const buf = Buffer.from(t.b64, 'base64');
    const out = new Float32Array(buf.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
    return out;
  }
  return Float32Array.from(t.data ?? []);
}

/**
 * Largest |got - want| / (atol + rtol |want|): at most 1 means within tolerance.
 * Throws on a length mismatch.
 */
export function toleranceRatio(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const r = Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i]));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/** Golden `recurrent_activation` names -> gatedrnn's. */
export const GATE_NAME = { sigmoid: 'sigmoid', hard_sigmoid: 'hardSigmoid', hard_sigmoid_keras3: 'hardSigmoidKeras3' } as const;

/** A case's sizes, options and lengths as the stack runners take them. */
export function stackSpecOf(c: GoldenCase) {
  const cfg = c.config;
  return {
    batch: cfg.batch,
    steps: cfg.timesteps,
    inputSize: cfg.input_size,
    units: cfg.hidden_size,
    layers: cfg.num_layers,
    directions: cfg.num_directions,
    resetAfter: cfg.reset_after,
    activation: cfg.activation,
    recurrentActivation: GATE_NAME[cfg.recurrent_activation],
    lengths: c.inputs.lengths ? Int32Array.from(c.inputs.lengths.data ?? []) : undefined,
  };
}

/**
 * PyTorch layout (convention A) -> Keras layout through the library's public
 * converter, so every PyTorch golden case exercises it.
 */
export function torchToKeras(weightIh: Float32Array, weightHh: Float32Array, biasIh: Float32Array, biasHh: Float32Array, I: number, H: number) {
  const [kernel, recurrentKernel, bias] = gruWeightsFromTorch({
    weight_ih: tensor(weightIh, [3 * H, I]),
    weight_hh: tensor(weightHh, [3 * H, H]),
    bias_ih: tensor(biasIh, [3 * H]),
    bias_hh: tensor(biasHh, [3 * H]),
  }).map((t) => t.dataSync());
  return { kernel, recurrentKernel, bias };
}

/** PyTorch nn.LSTM layout (convention D) -> Keras layout through the public converter. */
export function torchLstmToKeras(weightIh: Float32Array, weightHh: Float32Array, biasIh: Float32Array, biasHh: Float32Array, I: number, H: number) {
  const [kernel, recurrentKernel, bias] = lstmWeightsFromTorch({
    weight_ih: tensor(weightIh, [4 * H, I]),
    weight_hh: tensor(weightHh, [4 * H, H]),
    bias_ih: tensor(biasIh, [4 * H]),
    bias_hh: tensor(biasHh, [4 * H]),
  }).map((t) => t.dataSync());
  return { kernel, recurrentKernel, bias };
}
