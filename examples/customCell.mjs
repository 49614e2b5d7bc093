/**
 * Writing your own recurrent cell, and training it in a model.
 *
 *   npm run build:ts && node examples/customCell.mjs
 *
 * A cell says what ONE timestep does, for a whole batch, forwards (`step`)
 * and backwards (`stepBackward`); `layers.rnn({cell})` runs it over the
 * sequences (masks, goBackwards, returnSequences/returnState, initialState,
 * stateful) and backpropagates through time, on either backend. Arrays are
 * float32, flat and row-major: x (B, I) is x[b * I + i]. The cell's
 * matrix products go through `matmul` / `matmulAccumulate`, which run on
 * the active backend's sgemm (OpenBLAS on the native backend).
 *
 * In TypeScript the same class is written with types:
 * `class ThreeGateCell extends RNNCell<ThreeGateCache>`, with
 * `step(x: Float32Array, states: Float32Array[], ctx: CellStepContext)`.
 */
import { pathToFileURL } from 'node:url';
import { layers, matmul, matmulAccumulate, registerCell, RNNCell, sequential, setSeed, tensor, train } from 'gatedrnn';

const sigmoid = (v) => 1 / (1 + Math.exp(-v));

/**
 * A three-gate recurrent cell: an update gate u, a forget gate f and an
 * output gate o, a candidate state c̃, an internal state h and an output y.
 * With the previous output y_{t-1} (B, H) and state h_{t-1} (B, H):
 *
 *   z   = x_t W + y_{t-1} U + b            W (I, 4H), U (H, 4H), b (4H); blocks u | f | o | c
 *   u   = σ(z_u)                           update gate: how much of the candidate is written
 *   f   = σ(z_f)                           forget gate: how much of the old state is kept
 *   o   = σ(z_o)                           output gate: how much of the state is shown
 *   c̃   = tanh(z_c)                        candidate
 *   h_t = f ⊙ h_{t-1} + u ⊙ c̃              state
 *   y_t = o ⊙ tanh(h_t)                    output
 *
 * States: [h, y] (stateSize [H, H]); output y (outputSize H). The gates and
 * the candidate read y_{t-1}, not h_{t-1}. This is the gate structure of
 * the LSTM (u is its input gate) that GRU tutorials describe when they
 * compare the two; the forget gate's bias starts at 1, as Keras's
 * unitForgetBias.
 *
 * Backward, from dL/dy_t (output and state y together: gy) and dL/dh_t (gh0):
 *   gh      = gh0 + gy ⊙ o ⊙ (1 − tanh²h_t)
 *   dz_u    = gh ⊙ c̃ ⊙ u(1−u)      dz_f = gh ⊙ h_{t-1} ⊙ f(1−f)
 *   dz_o    = gy ⊙ tanh h_t ⊙ o(1−o)      dz_c = gh ⊙ u ⊙ (1−c̃²)
 *   dW += xᵀ dz, dU += y_{t-1}ᵀ dz, db += Σ_b dz
 *   dx = dz Wᵀ, dy_{t-1} = dz Uᵀ, dh_{t-1} = gh ⊙ f
 */
export class ThreeGateCell extends RNNCell {
  /** @param {{units: number, seed?: number}} config */
  constructor(config) {
    super({ seed: config.seed });
    this.units = config.units;
    this.stateSize = [config.units, config.units];
  }

  get outputSize() {
    return this.units;
  }

  build(inputSize) {
    const H = this.units;
    this.kernel = this.addWeight('kernel', [inputSize, 4 * H]);
    this.recurrentKernel = this.addWeight('recurrent_kernel', [H, 4 * H], 'orthogonal');
    this.bias = this.addWeight('bias', [4 * H], 'zeros');
    this.bias.value.fill(1, H, 2 * H);
  }

  step(x, [hPrev, yPrev], { batch, training }) {
    const H = this.units, I = this.inputSize, G = 4 * H;
    // z (B, 4H) = x W + y_{t-1} U; then the activations in place.
    const z = matmul(x, this.kernel.value, batch, I, G);
    matmulAccumulate(z, yPrev, this.recurrentKernel.value, batch, H, G);
    const b_ = this.bias.value;
    const h = new Float32Array(batch * H), y = new Float32Array(batch * H), tanhH = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      const r = b * G;
      for (let j = 0; j < H; j++) {
        const u = (z[r + j] = sigmoid(z[r + j] + b_[j]));
        const f = (z[r + H + j] = sigmoid(z[r + H + j] + b_[H + j]));
        const o = (z[r + 2 * H + j] = sigmoid(z[r + 2 * H + j] + b_[2 * H + j]));
        const c = (z[r + 3 * H + j] = Math.tanh(z[r + 3 * H + j] + b_[3 * H + j]));
        const k = b * H + j;
        h[k] = f * hPrev[k] + u * c;
        tanhH[k] = Math.tanh(h[k]);
        y[k] = o * tanhH[k];
      }
    }
    return { output: y, states: [h, y], cache: training ? { x, hPrev, yPrev, gates: z, tanhH } : undefined };
  }

  stepBackward(dOutput, [dH, dY], { x, hPrev, yPrev, gates, tanhH }, { batch }) {
    const H = this.units, I = this.inputSize, G = 4 * H;
    const dz = new Float32Array(batch * G);
    const dhPrev = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      const r = b * G;
      for (let j = 0; j < H; j++) {
        const k = b * H + j;
        const u = gates[r + j], f = gates[r + H + j], o = gates[r + 2 * H + j], c = gates[r + 3 * H + j];
        const gy = dOutput[k] + dY[k];
        const gh = dH[k] + gy * o * (1 - tanhH[k] * tanhH[k]);
        dz[r + j] = gh * c * u * (1 - u);
        dz[r + H + j] = gh * hPrev[k] * f * (1 - f);
        dz[r + 2 * H + j] = gy * tanhH[k] * o * (1 - o);
        dz[r + 3 * H + j] = gh * u * (1 - c * c);
        dhPrev[k] = gh * f;
      }
    }
    // Weight gradients are ADDED (the RNN zeroes them once per sequence).
    matmulAccumulate(this.kernel.grad, x, dz, I, batch, G, { transA: true });
    matmulAccumulate(this.recurrentKernel.grad, yPrev, dz, H, batch, G, { transA: true });
    const db = this.bias.grad;
    for (let b = 0; b < batch; b++) for (let g = 0; g < G; g++) db[g] += dz[b * G + g];
    const dx = matmul(dz, this.kernel.value, batch, G, I, { transB: true });
    const dyPrev = matmul(dz, this.recurrentKernel.value, batch, G, H, { transB: true });
    return { dx, dStates: [dhPrev, dyPrev] };
  }

  getConfig() {
    return this.seed === undefined ? { units: this.units } : { units: this.units, seed: this.seed };
  }
}

// So that an RNN's getConfig() names it and `new RNN(config)` can make it again.
registerCell('ThreeGateCell', ThreeGateCell);

/** Learns the mean of a sequence of 10 numbers; returns the first and last epoch's loss. */
export async function main(epochs = Number(process.env.EPOCHS ?? 30)) {
  setSeed(42); // reproducible shuffles
  const n = 512, T = 10;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const xs = Float32Array.from({ length: n * T }, rand);
  const ys = Float32Array.from({ length: n }, (_, i) => xs.subarray(i * T, (i + 1) * T).reduce((a, v) => a + v, 0) / T);

  const model = sequential({
    layers: [layers.rnn({ cell: new ThreeGateCell({ units: 16, seed: 1 }), inputShape: [T, 1] }), layers.dense({ units: 1, seed: 2 })],
  });
  model.compile({ optimizer: train.adam(0.01), loss: 'meanSquaredError' });
  const history = await model.fit(tensor(xs, [n, T, 1]), tensor(ys, [n, 1]), { epochs, batchSize: 32, verbose: 0 });
  const loss = history.history.loss;
  console.log(`ThreeGateCell: loss ${loss[0].toFixed(4)} after epoch 1, ${loss[loss.length - 1].toFixed(4)} after epoch ${loss.length}`);
  console.log(`weights: ${model.layers[0].weightNames().join(', ')}`);
  return { first: loss[0], last: loss[loss.length - 1] };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
