/**
 * Exact converters between PyTorch's recurrent weight layout and the Keras
 * layout gatedrnn's layers use.
 *
 * GRU: PyTorch `nn.GRU` holds weight_ih (3H, I) and weight_hh (3H, H) with
 * row blocks in gate order r | z | n, and two biases bias_ih, bias_hh (3H).
 * Keras (`resetAfter: true`, the only form PyTorch has) holds kernel (I, 3H)
 * and recurrentKernel (H, 3H) with column blocks z | r | h, and bias (2, 3H)
 * = [input bias; recurrent bias] in the same order. The conversion is a
 * transpose and a swap of the first two blocks: no arithmetic, so exact both
 * ways.
 *
 * LSTM: `nn.LSTM` holds weight_ih (4H, I), weight_hh (4H, H), bias_ih,
 * bias_hh (4H), gate order i | f | g | o, the same as Keras's i | f | c | o.
 * Keras has one bias: bias = bias_ih + bias_hh (one float32 rounding). Going
 * back, the sum goes to bias_ih and bias_hh is zero, which computes the same.
 */
import { float32Tensor, type Tensor } from '../tensor.js';
import { requireFinite, requireShape, requireTensor } from '../validate.js';

/** PyTorch names for one layer and direction (the `_l0` suffix dropped). */
export interface TorchRecurrentWeights {
  weight_ih: Tensor;
  weight_hh: Tensor;
  /** Omitted when the module has `bias=False`. */
  bias_ih?: Tensor;
  bias_hh?: Tensor;
}

/** Keras block k is PyTorch block BLOCK[k]: GRU z <- z (1), r <- r (0), h <- n (2); LSTM in the same order. */
const GRU_TORCH_BLOCK = [1, 0, 2];
const LSTM_TORCH_BLOCK = [0, 1, 2, 3];

function values(t: unknown, name: string, shape: Array<number | null>): { v: Float32Array; shape: readonly number[] } {
  const tt = requireTensor(t, name);
  requireShape(tt, shape, name);
  const v = tt.view() as Float32Array;
  requireFinite(v, name);
  return { v, shape: tt.shape };
}

/** (G*H, cols) with row blocks in PyTorch order -> (cols, G*H) with column blocks in Keras order. */
function torchToKerasMatrix(w: Float32Array, H: number, cols: number, blocks: number[]): Float32Array {
  const G = blocks.length;
  const out = new Float32Array(cols * G * H);
  for (let k = 0; k < G; k++)
    for (let row = 0; row < H; row++)
      for (let c = 0; c < cols; c++) out[c * G * H + k * H + row] = w[(blocks[k] * H + row) * cols + c];
  return out;
}

function kerasToTorchMatrix(m: Float32Array, H: number, rows: number, blocks: number[]): Float32Array {
  const G = blocks.length;
  const out = new Float32Array(G * H * rows);
  for (let k = 0; k < G; k++)
    for (let row = 0; row < H; row++)
      for (let c = 0; c < rows; c++) out[(blocks[k] * H + row) * rows + c] = m[c * G * H + k * H + row];
  return out;
}

function permuteBlocks(b: Float32Array, H: number, blocks: number[], toKeras: boolean): Float32Array {
  const out = new Float32Array(b.length);
  blocks.forEach((torchBlock, k) => {
    if (toKeras) out.set(b.subarray(torchBlock * H, torchBlock * H + H), k * H);
    else out.set(b.subarray(k * H, k * H + H), torchBlock * H);
  });
  return out;
}

function unpackTorch(w: TorchRecurrentWeights, gates: number, what: string) {
  if (w === null || typeof w !== 'object') throw new TypeError(`${what}: expected {weight_ih, weight_hh, bias_ih?, bias_hh?}`);
  const ih = values(w.weight_ih, `${what} weight_ih`, [null, null]);
  const GH = ih.shape[0];
  if (GH % gates !== 0 || GH === 0) throw new RangeError(`${what} weight_ih must have ${gates}*H rows, got ${GH}`);
  const H = GH / gates, I = ih.shape[1];
  const hh = values(w.weight_hh, `${what} weight_hh`, [GH, H]);
  if ((w.bias_ih === undefined) !== (w.bias_hh === undefined)) throw new TypeError(`${what}: give both bias_ih and bias_hh, or neither`);
  const bih = w.bias_ih === undefined ? null : values(w.bias_ih, `${what} bias_ih`, [GH]).v;
  const bhh = w.bias_hh === undefined ? null : values(w.bias_hh, `${what} bias_hh`, [GH]).v;
  return { H, I, ih: ih.v, hh: hh.v, bih, bhh };
}

/**
 * PyTorch `nn.GRU` weights (one layer, one direction) -> the Keras weights
 * of a `GRU({resetAfter: true})`: [kernel (I,3H), recurrentKernel (H,3H), bias (2,3H)]
 * (no bias without the torch biases: a `useBias: false` layer).
 */
export function gruWeightsFromTorch(w: TorchRecurrentWeights): Tensor<'float32'>[] {
  const { H, I, ih, hh, bih, bhh } = unpackTorch(w, 3, 'gruWeightsFromTorch');
  const out = [float32Tensor(torchToKerasMatrix(ih, H, I, GRU_TORCH_BLOCK), [I, 3 * H]), float32Tensor(torchToKerasMatrix(hh, H, H, GRU_TORCH_BLOCK), [H, 3 * H])];
  if (bih && bhh) {
    const bias = new Float32Array(6 * H);
    bias.set(permuteBlocks(bih, H, GRU_TORCH_BLOCK, true));
    bias.set(permuteBlocks(bhh, H, GRU_TORCH_BLOCK, true), 3 * H);
    out.push(float32Tensor(bias, [2, 3 * H]));
  }
  return out;
}

/**
 * Keras weights of a `GRU({resetAfter: true})` ([kernel, recurrentKernel,
 * bias (2,3H)], or without bias) -> PyTorch `nn.GRU` weights. Only that
 * form exists in PyTorch: a `resetAfter: false` GRU with a bias (3H) is
 * refused, but one without bias has the same two weights as a
 * `resetAfter: true` one, so do not pass it (it would compute differently).
 */
export function gruWeightsToTorch(weights: Tensor[]): TorchRecurrentWeights {
  const what = 'gruWeightsToTorch';
  if (!Array.isArray(weights) || (weights.length !== 2 && weights.length !== 3)) throw new TypeError(`${what}: expected [kernel, recurrentKernel, bias?]`);
  const k = values(weights[0], `${what} kernel`, [null, null]);
  const I = k.shape[0], H3 = k.shape[1];
  if (H3 % 3 !== 0 || H3 === 0) throw new RangeError(`${what} kernel must have 3*H columns, got ${H3}`);
  const H = H3 / 3;
  const r = values(weights[1], `${what} recurrentKernel`, [H, 3 * H]);
  const out: TorchRecurrentWeights = {
    weight_ih: float32Tensor(kerasToTorchMatrix(k.v, H, I, GRU_TORCH_BLOCK), [3 * H, I]),
    weight_hh: float32Tensor(kerasToTorchMatrix(r.v, H, H, GRU_TORCH_BLOCK), [3 * H, H]),
  };
  if (weights.length === 3) {
    const t = requireTensor(weights[2], `${what} bias`);
    if (t.rank === 1) throw new RangeError(`${what}: a bias of shape [${3 * H}] is a resetAfter: false GRU, which PyTorch's nn.GRU cannot express`);
    const b = values(t, `${what} bias`, [2, 3 * H]).v;
    out.bias_ih = float32Tensor(permuteBlocks(b.subarray(0, 3 * H), H, GRU_TORCH_BLOCK, false), [3 * H]);
    out.bias_hh = float32Tensor(permuteBlocks(b.subarray(3 * H), H, GRU_TORCH_BLOCK, false), [3 * H]);
  }
  return out;
}

/**
 * PyTorch `nn.LSTM` weights (one layer, one direction) -> Keras LSTM weights
 * [kernel (I,4H), recurrentKernel (H,4H), bias (4H) = bias_ih + bias_hh].
 */
export function lstmWeightsFromTorch(w: TorchRecurrentWeights): Tensor<'float32'>[] {
  const { H, I, ih, hh, bih, bhh } = unpackTorch(w, 4, 'lstmWeightsFromTorch');
  const out = [float32Tensor(torchToKerasMatrix(ih, H, I, LSTM_TORCH_BLOCK), [I, 4 * H]), float32Tensor(torchToKerasMatrix(hh, H, H, LSTM_TORCH_BLOCK), [H, 4 * H])];
  if (bih && bhh) out.push(float32Tensor(bih.map((v, j) => v + bhh[j]), [4 * H]));
  return out;
}

/**
 * Keras LSTM weights [kernel (I,4H), recurrentKernel (H,4H), bias (4H)?] ->
 * PyTorch `nn.LSTM` weights, the bias in bias_ih and zeros in bias_hh.
 */
export function lstmWeightsToTorch(weights: Tensor[]): TorchRecurrentWeights {
  const what = 'lstmWeightsToTorch';
  if (!Array.isArray(weights) || (weights.length !== 2 && weights.length !== 3)) throw new TypeError(`${what}: expected [kernel, recurrentKernel, bias?]`);
  const k = values(weights[0], `${what} kernel`, [null, null]);
  const I = k.shape[0], H4 = k.shape[1];
  if (H4 % 4 !== 0 || H4 === 0) throw new RangeError(`${what} kernel must have 4*H columns, got ${H4}`);
  const H = H4 / 4;
  const r = values(weights[1], `${what} recurrentKernel`, [H, 4 * H]);
  const out: TorchRecurrentWeights = {
    weight_ih: float32Tensor(kerasToTorchMatrix(k.v, H, I, LSTM_TORCH_BLOCK), [4 * H, I]),
    weight_hh: float32Tensor(kerasToTorchMatrix(r.v, H, H, LSTM_TORCH_BLOCK), [4 * H, H]),
  };
  if (weights.length === 3) {
    out.bias_ih = float32Tensor(values(weights[2], `${what} bias`, [4 * H]).v.slice(), [4 * H]);
    out.bias_hh = float32Tensor(new Float32Array(4 * H), [4 * H]);
  }
  return out;
}
