/**
 * A cell written in TypeScript run by layers.rnn: the three-gate cell of
 * examples/customCell.mjs (here with types) against an independent float64
 * step-by-step implementation, finite differences of every gradient (dx,
 * initial states, weights) with masks and goBackwards, equality with the
 * LSTM it is a relabelling of, stacking with built-in cells, stateful
 * calls, training in a Sequential model, registerCell, bad input; on both
 * backends.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { layers, sequential, setBackend, tensor, train, type Tensor } from '../lib/index.js';
import { Dense } from '../lib/layers/core/dense.js';
import { registerCell } from '../lib/layers/recurrent/cells.js';
import { RNN } from '../lib/layers/recurrent/rnn.js';
import { matmul, matmulAccumulate, RNNCell, type CellBackwardResult, type CellStepContext, type CellStepResult, type CellWeight } from '../lib/layers/recurrent/rnnCell.js';
import { expectFiniteDifferences } from './helpers/finiteDifferences.js';
import { rng, uniform } from './helpers/random.js';
import { runNode } from './helpers/child.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

interface ThreeGateCache {
  x: Float32Array;
  hPrev: Float32Array;
  yPrev: Float32Array;
  /** (B, 4H): u | f | o | c̃ activations. */
  gates: Float32Array;
  tanhH: Float32Array;
}

/**
 * The three-gate cell of examples/customCell.mjs: gates u, f, o =
 * σ(x W_g + y_{t-1} U_g + b_g), candidate c̃ = tanh(x W_c + y_{t-1} U_c + b_c),
 * h_t = f ⊙ h_{t-1} + u ⊙ c̃, y_t = o ⊙ tanh(h_t); states [h, y], output y;
 * kernel blocks u | f | o | c.
 */
class ThreeGateCell extends RNNCell<ThreeGateCache> {
  readonly units: number;
  readonly stateSize: number[];
  private kernel!: CellWeight;
  private recurrentKernel!: CellWeight;
  private bias!: CellWeight;

  constructor(config: { units: number; seed?: number }) {
    super({ seed: config.seed });
    this.units = config.units;
    this.stateSize = [config.units, config.units];
  }

  override get outputSize(): number {
    return this.units;
  }

  build(inputSize: number): void {
    const H = this.units;
    this.kernel = this.addWeight('kernel', [inputSize, 4 * H]);
    this.recurrentKernel = this.addWeight('recurrent_kernel', [H, 4 * H], 'orthogonal');
    this.bias = this.addWeight('bias', [4 * H], 'zeros');
    this.bias.value.fill(1, H, 2 * H);
  }

  step(x: Float32Array, [hPrev, yPrev]: Float32Array[], { batch, training }: CellStepContext): CellStepResult<ThreeGateCache> {
    const H = this.units, I = this.inputSize, G = 4 * H;
    const z = matmul(x, this.kernel.value, batch, I, G);
    matmulAccumulate(z, yPrev, this.recurrentKernel.value, batch, H, G);
    const bias = this.bias.value;
    const h = new Float32Array(batch * H), y = new Float32Array(batch * H), tanhH = new Float32Array(batch * H);
    for (let b = 0; b < batch; b++) {
      const r = b * G;
      for (let j = 0; j < H; j++) {
        const u = (z[r + j] = sigmoid(z[r + j] + bias[j]));
        const f = (z[r + H + j] = sigmoid(z[r + H + j] + bias[H + j]));
        const o = (z[r + 2 * H + j] = sigmoid(z[r + 2 * H + j] + bias[2 * H + j]));
        const c = (z[r + 3 * H + j] = Math.tanh(z[r + 3 * H + j] + bias[3 * H + j]));
        const k = b * H + j;
        h[k] = f * hPrev[k] + u * c;
        tanhH[k] = Math.tanh(h[k]);
        y[k] = o * tanhH[k];
      }
    }
    return { output: y, states: [h, y], cache: training ? { x, hPrev, yPrev, gates: z, tanhH } : undefined };
  }

  stepBackward(dOutput: Float32Array, [dH, dY]: Float32Array[], cache: ThreeGateCache, { batch }: CellStepContext): CellBackwardResult {
    const { x, hPrev, yPrev, gates, tanhH } = cache;
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
    matmulAccumulate(this.kernel.grad, x, dz, I, batch, G, { transA: true });
    matmulAccumulate(this.recurrentKernel.grad, yPrev, dz, H, batch, G, { transA: true });
    const db = this.bias.grad;
    for (let b = 0; b < batch; b++) for (let g = 0; g < G; g++) db[g] += dz[b * G + g];
    const dx = matmul(dz, this.kernel.value, batch, G, I, { transB: true });
    const dyPrev = matmul(dz, this.recurrentKernel.value, batch, G, H, { transB: true });
    return { dx, dStates: [dhPrev, dyPrev] };
  }

  override getConfig(): Record<string, unknown> {
    return this.seed === undefined ? { units: this.units } : { units: this.units, seed: this.seed };
  }
}

/**
 * Independent float64 reference, one sequence and one step at a time, with
 * Keras mask semantics (masked step: states carried, output repeats the
 * last output, 0 before the first valid step) and goBackwards (reversed
 * reading, outputs in computed order).
 */
function reference(
  x: Float32Array, B: number, T: number, I: number, H: number,
  W: Float32Array, U: Float32Array, bias: Float32Array,
  h0: Float32Array | null, y0: Float32Array | null, mask: Float32Array | null, goBackwards: boolean,
): { seq: Float64Array; h: Float64Array; y: Float64Array } {
  const G = 4 * H;
  const seq = new Float64Array(B * T * H);
  const hOut = new Float64Array(B * H), yOut = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = Array.from({ length: H }, (_, j) => (h0 ? h0[b * H + j] : 0));
    let y = Array.from({ length: H }, (_, j) => (y0 ? y0[b * H + j] : 0));
    let out = new Array<number>(H).fill(0);
    for (let s = 0; s < T; s++) {
      const t = goBackwards ? T - 1 - s : s;
      if (!mask || mask[b * T + t] !== 0) {
        const z = new Array<number>(G).fill(0);
        for (let g = 0; g < G; g++) {
          let acc = bias[g];
          for (let i = 0; i < I; i++) acc += x[(b * T + t) * I + i] * W[i * G + g];
          for (let j = 0; j < H; j++) acc += y[j] * U[j * G + g];
          z[g] = acc;
        }
        const hNew = h.map((hp, j) => sigmoid(z[H + j]) * hp + sigmoid(z[j]) * Math.tanh(z[3 * H + j]));
        y = hNew.map((hv, j) => sigmoid(z[2 * H + j]) * Math.tanh(hv));
        h = hNew;
        out = y;
      }
      for (let j = 0; j < H; j++) seq[(b * T + s) * H + j] = out[j];
    }
    for (let j = 0; j < H; j++) {
      hOut[b * H + j] = h[j];
      yOut[b * H + j] = y[j];
    }
  }
  return { seq, h: hOut, y: yOut };
}

const B = 3, T = 5, I = 4, H = 3;

function someMask(): Float32Array {
  const m = new Float32Array(B * T).fill(1);
  m[0 * T + 3] = 0;
  m[0 * T + 4] = 0;
  m[1 * T + 0] = 0;
  m[1 * T + 2] = 0;
  return m;
}

function list(out: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(out) ? out : [out];
}

function values(ts: Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.dataSync() as Float32Array));
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length, what).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst, what).toBeLessThan(tol);
}

describe.each(['native', 'js'] as const)('a cell written in TypeScript on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  it('matmul and matmulAccumulate with transposes match a plain loop', () => {
    const next = rng(2);
    const m = 3, k = 5, n = 4;
    const a = uniform(m * k, 1, next), b = uniform(k * n, 1, next);
    const at = new Float32Array(k * m), bt = new Float32Array(n * k);
    for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) at[p * m + i] = a[i * k + p];
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bt[j * k + p] = b[p * n + j];
    const want = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) want[i * n + j] += a[i * k + p] * b[p * n + j];
    expectClose(matmul(a, b, m, k, n), want, 1e-5, 'plain');
    expectClose(matmul(at, bt, m, k, n, { transA: true, transB: true }), want, 1e-5, 'both transposed');
    const c = new Float32Array(m * n).fill(1);
    matmulAccumulate(c, at, b, m, k, n, { transA: true });
    expectClose(c, want.map((v) => v + 1), 1e-5, 'accumulate');
    expect(() => matmul(a, b, m, k + 1, n)).toThrow(/must hold/);
  });

  it.each([
    { goBackwards: false, mask: false, init: false },
    { goBackwards: false, mask: true, init: true },
    { goBackwards: true, mask: true, init: true },
    { goBackwards: true, mask: false, init: false },
  ])('forward equals a float64 step-by-step reference: goBackwards=$goBackwards mask=$mask initialState=$init', async (c) => {
    const next = rng(13);
    const r = layers.rnn({ cell: new ThreeGateCell({ units: H, seed: 4 }), returnSequences: true, returnState: true, goBackwards: c.goBackwards });
    const params = [uniform(I * 4 * H, 0.8, next), uniform(H * 4 * H, 0.8, next), uniform(4 * H, 0.5, next)];
    r.build([null, null, I]);
    r.setWeights([tensor(params[0], [I, 4 * H]), tensor(params[1], [H, 4 * H]), tensor(params[2], [4 * H])]);
    const x = uniform(B * T * I, 1, next);
    const h0 = c.init ? uniform(B * H, 0.5, next) : null;
    const y0 = c.init ? uniform(B * H, 0.5, next) : null;
    const mask = c.mask ? someMask() : null;
    const [seq, h, y] = list(
      await r.apply(tensor(x, [B, T, I]), {
        initialState: c.init ? [tensor(h0 as Float32Array, [B, H]), tensor(y0 as Float32Array, [B, H])] : undefined,
        mask: mask ? tensor(mask, [B, T]) : undefined,
      }),
    );
    const want = reference(x, B, T, I, H, params[0], params[1], params[2], h0, y0, mask, c.goBackwards);
    expect(seq.shape).toEqual([B, T, H]);
    expectClose(seq.dataSync(), want.seq, 2e-6, 'sequence');
    expectClose(h.dataSync(), want.h, 2e-6, 'h');
    expectClose(y.dataSync(), want.y, 2e-6, 'y');
    // Without returnSequences: the last output, i.e. the last valid one.
    const last = layers.rnn({ cell: new ThreeGateCell({ units: H }), goBackwards: c.goBackwards });
    last.build([null, null, I]);
    last.setWeights(r.getWeights());
    const o = (await last.apply(tensor(x, [B, T, I]), { mask: mask ? tensor(mask, [B, T]) : undefined, initialState: c.init ? [tensor(h0 as Float32Array, [B, H]), tensor(y0 as Float32Array, [B, H])] : undefined })) as Tensor;
    expectClose(o.dataSync(), want.seq.filter((_, i) => Math.floor(i / H) % T === T - 1), 2e-6, 'last output');
  });

  it.each([
    { goBackwards: false, mask: true },
    { goBackwards: true, mask: true },
    { goBackwards: false, mask: false },
  ])('finite differences: dx, d(initial states) and every weight (goBackwards=$goBackwards mask=$mask)', async (c) => {
    const next = rng(29);
    const r = layers.rnn({ cell: new ThreeGateCell({ units: H }), returnSequences: true, returnState: true, goBackwards: c.goBackwards });
    r.build([null, null, I]);
    const shapes = [[I, 4 * H], [H, 4 * H], [4 * H]];
    const params = [uniform(I * 4 * H, 0.8, next), uniform(H * 4 * H, 0.8, next), uniform(4 * H, 0.5, next)];
    const x = uniform(B * T * I, 1, next);
    const h0 = uniform(B * H, 0.5, next), y0 = uniform(B * H, 0.5, next);
    const G = uniform(B * T * H, 1, next), Gh = uniform(B * H, 1, next), Gy = uniform(B * H, 1, next);
    const mask = c.mask ? tensor(someMask(), [B, T]) : undefined;
    const call = (training: boolean) => {
      r.setWeights(params.map((p, k) => tensor(p, shapes[k])));
      return r.apply(tensor(x, [B, T, I]), { initialState: [tensor(h0, [B, H]), tensor(y0, [B, H])], mask, training });
    };
    const loss = async (): Promise<number> => {
      const outs = list(await call(false));
      let l = 0;
      outs.forEach((t, k) => {
        const v = t.dataSync(), w = [G, Gh, Gy][k];
        for (let i = 0; i < v.length; i++) l += v[i] * w[i];
      });
      return l;
    };
    await call(true);
    const g = await r.backward(tensor(G, [B, T, H]), tensor(Gh, [B, H]), tensor(Gy, [B, H]));
    const analytic = [...r.getGradients().map((t) => t.dataSync()), g.dx.dataSync(), g.dInitialState[0].dataSync(), g.dInitialState[1].dataSync()];
    const checked = await expectFiniteDifferences([...params, x, h0, y0], analytic, ['kernel', 'recurrent_kernel', 'bias', 'x', 'h0', 'y0'], loss);
    expect(checked).toBeGreaterThan(55);
    if (c.mask) {
      // A masked step reads nothing: no gradient reaches its input.
      const dx = g.dx.dataSync();
      for (let i = 0; i < I; i++) expect(dx[(0 * T + 3) * I + i]).toBe(0);
    }
  });

  it('lengths (PyTorch semantics): the mask\'s states, zero outputs past each length; goBackwards reverses the valid part', async () => {
    const next = rng(19);
    const lengths = [5, 2, 0];
    const mask = new Float32Array(B * T);
    lengths.forEach((len, b) => mask.fill(1, b * T, b * T + len));
    for (const goBackwards of [false, true]) {
      const r = layers.rnn({ cell: new ThreeGateCell({ units: H }), returnSequences: true, returnState: true, goBackwards });
      r.build([null, null, I]);
      const w = r.getWeights().map((t) => t.dataSync() as Float32Array);
      const x = uniform(B * T * I, 1, next);
      const [seq, h, y] = list(await r.apply(tensor(x, [B, T, I]), { lengths }));
      // goBackwards with lengths = the valid part reversed, read forwards.
      const xr = x.slice();
      if (goBackwards) lengths.forEach((len, b) => {
        for (let t = 0; t < len; t++) xr.set(x.subarray((b * T + t) * I, (b * T + t + 1) * I), (b * T + len - 1 - t) * I);
      });
      const want = reference(xr, B, T, I, H, w[0], w[1], w[2], null, null, mask, false);
      const wantSeq = want.seq.map((v, i) => (mask[Math.floor(i / H)] ? v : 0));
      expectClose(seq.dataSync(), wantSeq, 2e-6, `sequence goBackwards=${goBackwards}`);
      expectClose(h.dataSync(), want.h, 2e-6, 'h');
      expectClose(y.dataSync(), want.y, 2e-6, 'y');
    }
  });

  it('is the LSTM relabelled: u = i, blocks permuted, states [h, y] = LSTM [c, h]', async () => {
    const next = rng(37);
    const lstm = layers.lstm({ units: H, returnSequences: true, returnState: true });
    lstm.build([null, null, I]);
    const [k, rk, b] = lstm.getWeights().map((t) => t.dataSync() as Float32Array);
    // LSTM blocks i | f | c | o -> u | f | o | c.
    const permute = (w: Float32Array, rows: number) => {
      const out = new Float32Array(w.length);
      const from = [0, 1, 3, 2];
      for (let r = 0; r < rows; r++) for (let blk = 0; blk < 4; blk++) out.set(w.subarray(r * 4 * H + from[blk] * H, r * 4 * H + (from[blk] + 1) * H), r * 4 * H + blk * H);
      return out;
    };
    const r = layers.rnn({ cell: new ThreeGateCell({ units: H }), returnSequences: true, returnState: true });
    r.build([null, null, I]);
    r.setWeights([tensor(permute(k, I), [I, 4 * H]), tensor(permute(rk, H), [H, 4 * H]), tensor(permute(b, 1), [4 * H])]);
    const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
    const hc = [tensor(uniform(B * H, 0.5, next), [B, H]), tensor(uniform(B * H, 0.5, next), [B, H])];
    const mask = tensor(someMask(), [B, T]);
    const [seqL, hL, cL] = list(await lstm.apply(x, { initialState: hc, mask, training: true }));
    const [seqR, hR, yR] = list(await r.apply(x, { initialState: [hc[1], hc[0]], mask, training: true }));
    expectClose(seqR.dataSync(), seqL.dataSync(), 1e-5, 'sequence');
    expectClose(yR.dataSync(), hL.dataSync(), 1e-5, 'y = h');
    expectClose(hR.dataSync(), cL.dataSync(), 1e-5, 'h = c');
    const dSeq = tensor(uniform(B * T * H, 1, next), [B, T, H]);
    const gL = await lstm.backward(dSeq);
    const gR = await r.backward(dSeq);
    expectClose(gR.dx.dataSync(), gL.dx.dataSync(), 1e-5, 'dx');
    expectClose(gR.dInitialState[0].dataSync(), gL.dInitialState[1].dataSync(), 1e-5, 'dh0 = dc0');
    const [dk, drk, db] = lstm.getGradients().map((t) => t.dataSync() as Float32Array);
    const mine = r.getGradients().map((t) => t.dataSync());
    expectClose(mine[0], permute(dk, I), 1e-5, 'dKernel');
    expectClose(mine[1], permute(drk, H), 1e-5, 'dRecurrentKernel');
    expectClose(mine[2], permute(db, 1), 1e-5, 'dBias');
  });

  it('stacks with a built-in cell: equals a GRU layer then an RNN of the cell', async () => {
    const next = rng(47);
    const stack = layers.rnn({ cell: [layers.gruCell({ units: 5 }), new ThreeGateCell({ units: H })], returnSequences: true, returnState: true });
    expect(stack.stateSize).toEqual([5, H, H]);
    stack.build([null, null, I]);
    expect(stack.weightNames()).toEqual(['RNNCell_0/kernel', 'RNNCell_0/recurrent_kernel', 'RNNCell_0/bias', 'RNNCell_1/kernel', 'RNNCell_1/recurrent_kernel', 'RNNCell_1/bias']);
    const w = stack.getWeights();
    const gru = layers.gru({ units: 5, returnSequences: true, returnState: true });
    gru.setWeights(w.slice(0, 3));
    const top = layers.rnn({ cell: new ThreeGateCell({ units: H }), returnSequences: true, returnState: true });
    top.build([null, null, 5]);
    top.setWeights(w.slice(3));
    const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
    const mask = tensor(someMask(), [B, T]);
    const o1 = list(await gru.apply(x, { mask, training: true }));
    const o2 = list(await top.apply(o1[0], { mask, training: true }));
    const got = list(await stack.apply(x, { mask, training: true }));
    expect(values(got)).toEqual(values([o2[0], o1[1], ...o2.slice(1)]));
    const d = tensor(uniform(B * T * H, 1, next), [B, T, H]);
    const dh1 = tensor(uniform(B * 5, 1, next), [B, 5]);
    const g2 = await top.backward(d);
    const g1 = await gru.backward(g2.dx, dh1);
    const g = await stack.backward(d, dh1);
    expect(values([g.dx])).toEqual(values([g1.dx]));
    expect(values(stack.getGradients())).toEqual(values([...gru.getGradients(), ...top.getGradients()]));
  });

  it('stateful: two calls continue one sequence; resetStates starts afresh', async () => {
    const next = rng(53);
    const whole = layers.rnn({ cell: new ThreeGateCell({ units: H, seed: 1 }), returnState: true });
    const parts = layers.rnn({ cell: new ThreeGateCell({ units: H, seed: 1 }), returnState: true, stateful: true });
    const xv = uniform(B * 6 * I, 1, next);
    const slice = (from: number, to: number) => {
      const out = new Float32Array(B * (to - from) * I);
      for (let b = 0; b < B; b++) out.set(xv.subarray((b * 6 + from) * I, (b * 6 + to) * I), b * (to - from) * I);
      return tensor(out, [B, to - from, I]);
    };
    const full = values(list(await whole.apply(tensor(xv, [B, 6, I]))));
    await parts.apply(slice(0, 2));
    const cont = values(list(await parts.apply(slice(2, 6))));
    cont.forEach((v, k) => expectClose(v, full[k], 1e-6, `output ${k}`));
    parts.resetStates();
    const fresh = values(list(await parts.apply(slice(2, 6))));
    const again = values(list(await whole.apply(slice(2, 6))));
    fresh.forEach((v, k) => expectClose(v, again[k], 1e-6, `after reset ${k}`));
    await expect(parts.apply(tensor(new Float32Array(2 * 2 * I), [2, 2, I]))).rejects.toThrow(/stateful.*batch of 3/);
  });

  it('trains inside a Sequential model with a Dense head: the loss goes down', async () => {
    const n = 128, steps = 6;
    const next = rng(61);
    const xs = uniform(n * steps, 1, next);
    const ys = Float32Array.from({ length: n }, (_, i) => xs.subarray(i * steps, (i + 1) * steps).reduce((a, v) => a + v, 0) / steps);
    const m = sequential({ layers: [layers.rnn({ cell: new ThreeGateCell({ units: 8, seed: 3 }), inputShape: [steps, 1] }), new Dense({ units: 1, seed: 4 })] });
    m.compile({ optimizer: train.adam(0.02), loss: 'meanSquaredError' });
    const history = await m.fit(tensor(xs, [n, steps, 1]), tensor(ys, [n, 1]), { epochs: 15, batchSize: 16, verbose: 0 });
    const loss = history.history.loss as number[];
    expect(loss[loss.length - 1]).toBeLessThan(loss[0] / 3);
    expect(m.layers[0].weightNames()).toEqual(['kernel', 'recurrent_kernel', 'bias']);
  });

  it('gives the event loop turns during a long sequence', async () => {
    class SlowCell extends RNNCell {
      readonly stateSize = [1];
      build(): void {}
      step(x: Float32Array, [h]: Float32Array[]): CellStepResult {
        const until = performance.now() + 1;
        while (performance.now() < until);
        const out = h.map((v, i) => v + x[i]);
        return { output: out, states: [out] };
      }
      stepBackward(d: Float32Array, [dh]: Float32Array[]): CellBackwardResult {
        const s = d.map((v, i) => v + dh[i]);
        return { dx: s, dStates: [s.slice()] };
      }
    }
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const r = layers.rnn({ cell: new SlowCell() });
    await r.apply(tensor(new Float32Array(2 * 120), [2, 120, 1]));
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(2);
  });
});

describe('custom cells: configs and bad input', () => {
  beforeEach(() => setBackend('js'));

  it('registerCell makes getConfig round-trip; an unregistered class cannot be rebuilt', async () => {
    registerCell('ThreeGateCell', ThreeGateCell);
    registerCell('ThreeGateCell', ThreeGateCell); // idempotent
    const r = layers.rnn({ cell: new ThreeGateCell({ units: H, seed: 5 }), returnSequences: true });
    const config = JSON.parse(JSON.stringify(r.getConfig()));
    expect(config.cell).toEqual({ className: 'ThreeGateCell', config: { units: H, seed: 5 } });
    const again = new RNN({ ...config, name: 'again' });
    const x = tensor(uniform(B * T * I, 1, rng(3)), [B, T, I]);
    expect(values([(await again.apply(x)) as Tensor])).toEqual(values([(await r.apply(x)) as Tensor]));
    const stacked = layers.rnn({ cell: [layers.gruCell({ units: 2 }), new ThreeGateCell({ units: H })] });
    expect(new RNN(JSON.parse(JSON.stringify(stacked.getConfig()))).stateSize).toEqual([2, H, H]);

    class Unregistered extends ThreeGateCell {}
    const u = layers.rnn({ cell: new Unregistered({ units: 2 }) });
    const uc = JSON.parse(JSON.stringify(u.getConfig()));
    expect(uc.cell.className).toBe('Unregistered');
    expect(() => new RNN(uc)).toThrow(/unknown cell class "Unregistered".*registerCell/);
    class Other extends ThreeGateCell {}
    expect(() => registerCell('ThreeGateCell', Other)).toThrow(/already registered/);
    expect(() => registerCell('GRUCell', Other)).toThrow(/built-in/);
    expect(() => registerCell('Thing', class {} as never)).toThrow(/extends RNNCell/);
  });

  it('a cell is owned by one RNN; bad stateSize; bad step results; input size changes', async () => {
    const cell = new ThreeGateCell({ units: 2 });
    layers.rnn({ cell });
    expect(() => layers.rnn({ cell })).toThrow(/belongs to another RNN/);
    const twice = new ThreeGateCell({ units: 2 });
    expect(() => layers.rnn({ cell: [twice, twice] })).toThrow(/appears twice/);

    class NoStates extends ThreeGateCell {
      override readonly stateSize: number[] = [];
    }
    expect(() => layers.rnn({ cell: new NoStates({ units: 2 }) })).toThrow(/stateSize must be a non-empty array/);

    class BadOutput extends ThreeGateCell {
      override step(x: Float32Array, states: Float32Array[], ctx: CellStepContext): CellStepResult<ThreeGateCache> {
        const r = super.step(x, states, ctx);
        return { ...r, output: r.output.subarray(1) };
      }
    }
    const x = tensor(new Float32Array(B * T * I), [B, T, I]);
    await expect(layers.rnn({ cell: new BadOutput({ units: 2 }) }).apply(x)).rejects.toThrow(/BadOutput.step \(step 0\): output must hold 6 values/);
    class BadStates extends ThreeGateCell {
      override step(x: Float32Array, states: Float32Array[], ctx: CellStepContext): CellStepResult<ThreeGateCache> {
        return { ...super.step(x, states, ctx), states: [states[0]] };
      }
    }
    await expect(layers.rnn({ cell: new BadStates({ units: 2 }) }).apply(x)).rejects.toThrow(/states must be an array of 2/);

    const r = layers.rnn({ cell: new ThreeGateCell({ units: 2 }) });
    await r.apply(x);
    await expect(r.apply(tensor(new Float32Array(B * T * 2), [B, T, 2]))).rejects.toThrow(/built for 4 features/);
    await expect(r.apply(x, { initialState: [tensor(new Float32Array(B * 2), [B, 2])] })).rejects.toThrow(/initialState must hold 2 tensor/);
    const notBuilt = layers.rnn({ cell: new ThreeGateCell({ units: 2 }) });
    expect(() => notBuilt.setWeights([])).toThrow(/call build/);
  });
});

describe('examples/customCell.mjs', () => {
  const root = path.join(__dirname, '..');
  const built = existsSync(path.join(root, 'dist/index.mjs')) && /\bRNNCell\b/.test(readFileSync(path.join(root, 'dist/index.d.mts'), 'utf8'));

  it.skipIf(!built)('runs against the built package and learns', () => {
    const r = runNode(`import('./examples/customCell.mjs').then((m) => m.main(8)).then((l) => { if (!(l.last < l.first / 2)) { console.error('no progress', l); process.exit(1); } })`);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ThreeGateCell: loss/);
  });
});
