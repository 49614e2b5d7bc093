/**
 * Runs a stack of GRU layers (several layers, one or two directions) through
 * the public layer API, forward and backward, the way the golden cases
 * define it: layer k reads the [forward | backward] outputs of layer k-1; the
 * backward direction reads the sequence reversed.
 */
import { GRU, tensor, type Tensor } from '../../lib/index.js';

export interface StackWeights {
  kernel: Float32Array;
  recurrentKernel: Float32Array;
  bias: Float32Array;
}

export interface StackSpec {
  batch: number;
  steps: number;
  inputSize: number;
  units: number;
  layers: number;
  directions: number;
  resetAfter: boolean;
  activation: 'tanh' | 'relu';
  recurrentActivation: 'sigmoid' | 'hardSigmoid' | 'hardSigmoidKeras3';
  /** Per-sequence lengths (PyTorch packed-sequence semantics), if any. */
  lengths?: Int32Array;
}

/**
 * Reverses each sequence in time; with lengths, only its valid part
 * (PyTorch's backward direction over packed sequences), padding left at 0.
 */
export function reverseTime(x: Float32Array, B: number, T: number, F: number, lengths?: ArrayLike<number>): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) {
    const len = lengths ? lengths[b] : T;
    for (let t = 0; t < len; t++) out.set(x.subarray((b * T + t) * F, (b * T + t + 1) * F), (b * T + (len - 1 - t)) * F);
  }
  return out;
}

/** Column block [d*H, (d+1)*H) of (B, T, D*H) as (B, T, H). */
function takeDirection(x: Float32Array, B: number, T: number, D: number, H: number, d: number): Float32Array {
  const out = new Float32Array(B * T * H);
  for (let r = 0; r < B * T; r++) out.set(x.subarray(r * D * H + d * H, r * D * H + (d + 1) * H), r * H);
  return out;
}

function putDirection(dst: Float32Array, src: Float32Array, B: number, T: number, D: number, H: number, d: number): void {
  for (let r = 0; r < B * T; r++) dst.set(src.subarray(r * H, (r + 1) * H), r * D * H + d * H);
}

export interface StackResult {
  output: Float32Array; // (B, T, D*H) of the top layer
  hN: Float32Array; // (L*D, B, H)
  dx: Float32Array;
  dh0: Float32Array; // (L*D, B, H)
  grads: StackWeights[]; // index k*D + d, Keras layout
}

/** weights[k*D + d], h0 (L*D, B, H), G (B,T,D*H), Gh (L*D,B,H). */
export async function runStack(spec: StackSpec, weights: StackWeights[], x: Float32Array, h0: Float32Array, G: Float32Array, Gh: Float32Array): Promise<StackResult> {
  const { batch: B, steps: T, units: H, layers: L, directions: D } = spec;
  const grus: GRU[] = [];
  const hN = new Float32Array(L * D * B * H);
  let input = x;
  let F = spec.inputSize;
  for (let k = 0; k < L; k++) {
    const out = new Float32Array(B * T * D * H);
    for (let d = 0; d < D; d++) {
      const i = k * D + d;
      const gru = new GRU({
        units: H,
        resetAfter: spec.resetAfter,
        activation: spec.activation,
        recurrentActivation: spec.recurrentActivation,
        returnSequences: true,
        returnState: true,
      });
      const w = weights[i];
      gru.setWeights([tensor(w.kernel, [F, 3 * H]), tensor(w.recurrentKernel, [H, 3 * H]), tensor(w.bias, spec.resetAfter ? [2, 3 * H] : [3 * H])]);
      grus.push(gru);
      const lengths = spec.lengths;
      const xin = d === 0 ? input : reverseTime(input, B, T, F, lengths);
      const [o, h] = (await gru.apply(tensor(xin, [B, T, F]), {
        initialState: [tensor(h0.subarray(i * B * H, (i + 1) * B * H), [B, H])],
        training: true,
        ...(lengths ? { lengths: tensor(lengths, [B], 'int32') } : {}),
      })) as Tensor<'float32'>[];
      const ov = o.dataSync();
      putDirection(out, d === 0 ? ov : reverseTime(ov, B, T, H, lengths), B, T, D, H, d);
      hN.set(h.dataSync(), i * B * H);
    }
    input = out;
    F = D * H;
  }
  const output = input;

  const dh0 = new Float32Array(L * D * B * H);
  const grads: StackWeights[] = new Array(L * D);
  let dOut = G;
  for (let k = L - 1; k >= 0; k--) {
    const Fk = k === 0 ? spec.inputSize : D * H;
    const dIn = new Float32Array(B * T * Fk);
    for (let d = 0; d < D; d++) {
      const i = k * D + d;
      const dd = takeDirection(dOut, B, T, D, H, d);
      const { dx, dInitialState } = await grus[i].backward(tensor(d === 0 ? dd : reverseTime(dd, B, T, H, spec.lengths), [B, T, H]), tensor(Gh.subarray(i * B * H, (i + 1) * B * H), [B, H]));
      const dxv = d === 0 ? dx.dataSync() : reverseTime(dx.dataSync(), B, T, Fk, spec.lengths);
      for (let j = 0; j < dIn.length; j++) dIn[j] += dxv[j];
      dh0.set(dInitialState.dataSync(), i * B * H);
      const [gk, gr, gb] = grus[i].getGradients();
      grads[i] = { kernel: gk.dataSync(), recurrentKernel: gr.dataSync(), bias: gb.dataSync() };
    }
    dOut = dIn;
  }
  return { output, hN, dx: dOut, dh0, grads };
}

export interface LstmStackWeights {
  kernel: Float32Array; // (F, 4H)
  recurrentKernel: Float32Array; // (H, 4H)
  bias: Float32Array; // (4H)
}

export interface LstmStackResult {
  output: Float32Array;
  hN: Float32Array;
  cN: Float32Array;
  dx: Float32Array;
  dh0: Float32Array;
  dc0: Float32Array;
  grads: LstmStackWeights[];
}

/** The LSTM version of runStack: states h and c, upstream G, Gh, Gc. */
export async function runLstmStack(
  spec: Omit<StackSpec, 'resetAfter'>,
  weights: LstmStackWeights[],
  x: Float32Array,
  h0: Float32Array,
  c0: Float32Array,
  G: Float32Array,
  Gh: Float32Array,
  Gc: Float32Array,
): Promise<LstmStackResult> {
  const { batch: B, steps: T, units: H, layers: L, directions: D } = spec;
  const { LSTM } = await import('../../lib/index.js');
  const cells: InstanceType<typeof LSTM>[] = [];
  const hN = new Float32Array(L * D * B * H);
  const cN = new Float32Array(L * D * B * H);
  const slice = (a: Float32Array, i: number) => a.subarray(i * B * H, (i + 1) * B * H);
  let input = x;
  let F = spec.inputSize;
  for (let k = 0; k < L; k++) {
    const out = new Float32Array(B * T * D * H);
    for (let d = 0; d < D; d++) {
      const i = k * D + d;
      const cell = new LSTM({ units: H, activation: spec.activation, recurrentActivation: spec.recurrentActivation, returnSequences: true, returnState: true });
      const w = weights[i];
      cell.setWeights([tensor(w.kernel, [F, 4 * H]), tensor(w.recurrentKernel, [H, 4 * H]), tensor(w.bias, [4 * H])]);
      cells.push(cell);
      const lengths = spec.lengths;
      const xin = d === 0 ? input : reverseTime(input, B, T, F, lengths);
      const [o, h, c] = (await cell.apply(tensor(xin, [B, T, F]), {
        initialState: [tensor(slice(h0, i), [B, H]), tensor(slice(c0, i), [B, H])],
        training: true,
        ...(lengths ? { lengths: tensor(lengths, [B], 'int32') } : {}),
      })) as Tensor<'float32'>[];
      const ov = o.dataSync();
      putDirection(out, d === 0 ? ov : reverseTime(ov, B, T, H, lengths), B, T, D, H, d);
      hN.set(h.dataSync(), i * B * H);
      cN.set(c.dataSync(), i * B * H);
    }
    input = out;
    F = D * H;
  }
  const output = input;
  const dh0 = new Float32Array(L * D * B * H);
  const dc0 = new Float32Array(L * D * B * H);
  const grads: LstmStackWeights[] = new Array(L * D);
  let dOut = G;
  for (let k = L - 1; k >= 0; k--) {
    const Fk = k === 0 ? spec.inputSize : D * H;
    const dIn = new Float32Array(B * T * Fk);
    for (let d = 0; d < D; d++) {
      const i = k * D + d;
      const dd = takeDirection(dOut, B, T, D, H, d);
      const r = await cells[i].backward(tensor(d === 0 ? dd : reverseTime(dd, B, T, H, spec.lengths), [B, T, H]), tensor(slice(Gh, i), [B, H]), tensor(slice(Gc, i), [B, H]));
      const dxv = d === 0 ? r.dx.dataSync() : reverseTime(r.dx.dataSync(), B, T, Fk, spec.lengths);
      for (let j = 0; j < dIn.length; j++) dIn[j] += dxv[j];
      dh0.set(r.dInitialState[0].dataSync(), i * B * H);
      dc0.set(r.dInitialState[1].dataSync(), i * B * H);
      const [gk, gr, gb] = cells[i].getGradients();
      grads[i] = { kernel: gk.dataSync(), recurrentKernel: gr.dataSync(), bias: gb.dataSync() };
    }
    dOut = dIn;
  }
  return { output, hN, cN, dx: dOut, dh0, dc0, grads };
}
