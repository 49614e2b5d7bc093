/**
 * layers.rnn with the built-in cells: on both backends it must be exactly
 * the matching layer (GRU, LSTM, SimpleRNN) with the same weights, and a
 * stack of cells exactly the stack of layers: outputs, states, dx,
 * d(initial states) and weight gradients; with masks, initial states,
 * goBackwards, stateful; in models; configs round-trip; bad input fails
 * clearly.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { input, layers, model, sequential, setBackend, tensor, train, type Tensor } from '../lib/index.js';
import { GRU } from '../lib/layers/recurrent/gru.js';
import { LSTM } from '../lib/layers/recurrent/lstm.js';
import { RNN } from '../lib/layers/recurrent/rnn.js';
import { SimpleRNN } from '../lib/layers/recurrent/simpleRnn.js';
import { rng, uniform } from './helpers/random.js';

const B = 3, T = 5, I = 4, H = 3;

type Kind = 'gru' | 'gruResetBefore' | 'lstm' | 'simpleRNN';
type RefLayer = GRU | LSTM | SimpleRNN;

function makePair(kind: Kind, seqOpts: { returnSequences?: boolean; returnState?: boolean; goBackwards?: boolean; stateful?: boolean }, units = H): { ref: RefLayer; rnn: RNN } {
  switch (kind) {
    case 'gru':
      return { ref: layers.gru({ units, ...seqOpts }), rnn: layers.rnn({ cell: layers.gruCell({ units }), ...seqOpts }) };
    case 'gruResetBefore':
      return {
        ref: layers.gru({ units, resetAfter: false, recurrentActivation: 'hardSigmoid', ...seqOpts }),
        rnn: layers.rnn({ cell: layers.gruCell({ units, resetAfter: false, recurrentActivation: 'hardSigmoid' }), ...seqOpts }),
      };
    case 'lstm':
      return { ref: layers.lstm({ units, ...seqOpts }), rnn: layers.rnn({ cell: layers.lstmCell({ units }), ...seqOpts }) };
    case 'simpleRNN':
      return { ref: layers.simpleRNN({ units, activation: 'tanh', ...seqOpts }), rnn: layers.rnn({ cell: layers.simpleRNNCell({ units }), ...seqOpts }) };
  }
}

function stateCount(layer: RefLayer): number {
  return layer instanceof LSTM ? 2 : 1;
}

async function refBackward(layer: RefLayer, d: Tensor | null, ds: Array<Tensor | null>): Promise<{ dx: Tensor; dInitialState: Tensor[] }> {
  if (layer instanceof LSTM) return layer.backward(d, ds[0] ?? null, ds[1] ?? null);
  const r = await layer.backward(d, ds[0] ?? null);
  return { dx: r.dx, dInitialState: [r.dInitialState] };
}

function list(out: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(out) ? out : [out];
}

function values(ts: Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.dataSync() as Float32Array));
}

/** A (B, T) mask with some padding at the end, some at the start, one full row. */
function someMask(): Tensor {
  const m = new Float32Array(B * T).fill(1);
  m[0 * T + 3] = 0;
  m[0 * T + 4] = 0;
  m[1 * T + 0] = 0;
  m[1 * T + 2] = 0;
  return tensor(m, [B, T]);
}

function reverseTime(v: Float32Array, rows: number, steps: number, F: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let b = 0; b < rows; b++) for (let t = 0; t < steps; t++) out.set(v.subarray((b * steps + t) * F, (b * steps + t + 1) * F), (b * steps + steps - 1 - t) * F);
  return out;
}

const cases = [
  { returnSequences: true, returnState: true, goBackwards: false, mask: false, init: false },
  { returnSequences: false, returnState: true, goBackwards: true, mask: true, init: true },
  { returnSequences: true, returnState: false, goBackwards: true, mask: true, init: false },
  { returnSequences: false, returnState: false, goBackwards: false, mask: true, init: true },
  { returnSequences: true, returnState: true, goBackwards: false, mask: false, init: true },
];

describe.each(['native', 'js'] as const)('rnn({cell}) on the %s backend', (backendName) => {
  beforeEach(() => setBackend(backendName));

  describe.each(['gru', 'gruResetBefore', 'lstm', 'simpleRNN'] as const)('%s', (kind) => {
    it.each(cases)('equals the layer: returnSequences=$returnSequences returnState=$returnState goBackwards=$goBackwards mask=$mask initialState=$init', async (c) => {
      const next = rng(17);
      const { ref, rnn } = makePair(kind, { returnSequences: c.returnSequences, returnState: c.returnState, goBackwards: c.goBackwards });
      ref.build([null, null, I]);
      rnn.setWeights(ref.getWeights());
      expect(rnn.weightNames()).toEqual(ref.weightNames());
      expect(values(rnn.getWeights())).toEqual(values(ref.getWeights()));
      const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
      const S = stateCount(ref);
      const init = c.init ? Array.from({ length: S }, () => tensor(uniform(B * H, 0.5, next), [B, H])) : undefined;
      const mask = c.mask ? someMask() : undefined;
      const outRef = list(await ref.apply(x, { training: true, initialState: init, mask }));
      const outRnn = list(await rnn.apply(x, { training: true, initialState: init, mask }));
      expect(outRnn.map((t) => t.shape)).toEqual(outRef.map((t) => t.shape));
      expect(values(outRnn)).toEqual(values(outRef));

      const dOut = tensor(uniform(outRef[0].size, 1, next), outRef[0].shape);
      const dStates = c.returnState ? outRef.slice(1).map((s) => tensor(uniform(s.size, 1, next), s.shape)) : [];
      const gRef = await refBackward(ref, dOut, dStates);
      const gRnn = await rnn.backward(dOut, ...dStates);
      expect(values([gRnn.dx])).toEqual(values([gRef.dx]));
      expect(values(gRnn.dInitialState)).toEqual(values(gRef.dInitialState));
      expect(values(rnn.getGradients())).toEqual(values(ref.getGradients()));
    });
  });

  it('stateful: carries the states as the layer does, and resetStates', async () => {
    const next = rng(5);
    const { ref, rnn } = makePair('lstm', { stateful: true, returnState: true });
    ref.build([null, null, I]);
    rnn.setWeights(ref.getWeights());
    for (let call = 0; call < 3; call++) {
      if (call === 2) {
        ref.resetStates();
        rnn.resetStates();
      }
      const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
      expect(values(list(await rnn.apply(x)))).toEqual(values(list(await ref.apply(x))));
    }
    const h = [tensor(uniform(B * H, 1, next), [B, H]), tensor(uniform(B * H, 1, next), [B, H])];
    ref.resetStates(h);
    rnn.resetStates(h);
    const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
    expect(values(list(await rnn.apply(x)))).toEqual(values(list(await ref.apply(x))));
    expect(() => layers.rnn({ cell: layers.gruCell({ units: 2 }) }).resetStates()).toThrow(/stateful/);
  });

  it('lengths and dropout behave as in the layer (same seed)', async () => {
    const next = rng(9);
    const ref = layers.gru({ units: H, dropout: 0.3, recurrentDropout: 0.2, seed: 11, returnSequences: true });
    const rnn = layers.rnn({ cell: layers.gruCell({ units: H, dropout: 0.3, recurrentDropout: 0.2, seed: 11 }), returnSequences: true });
    const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
    const a = await ref.apply(x, { training: true, lengths: [5, 2, 0] });
    const b = await rnn.apply(x, { training: true, lengths: [5, 2, 0] });
    expect(values([b as Tensor])).toEqual(values([a as Tensor]));
    expect(values(rnn.getWeights())).toEqual(values(ref.getWeights()));
  });

  describe('stackedRNNCells', () => {
    async function compareStack(c: { returnSequences: boolean; returnState: boolean; mask: boolean; init: boolean }, mixed: boolean) {
      const next = rng(23);
      const H2 = 5;
      const first = mixed ? layers.lstm({ units: H, returnSequences: true, returnState: c.returnState }) : layers.gru({ units: H, returnSequences: true, returnState: c.returnState });
      const second = layers.gru({ units: H2, returnSequences: c.returnSequences, returnState: c.returnState });
      const cells = [mixed ? layers.lstmCell({ units: H }) : layers.gruCell({ units: H }), layers.gruCell({ units: H2 })];
      const rnn = mixed
        ? layers.rnn({ cell: cells, returnSequences: c.returnSequences, returnState: c.returnState })
        : layers.rnn({ cell: layers.stackedRNNCells({ cells }), returnSequences: c.returnSequences, returnState: c.returnState });
      first.build([null, null, I]);
      second.build([null, null, H]);
      rnn.setWeights([...first.getWeights(), ...second.getWeights()]);
      expect(rnn.stateSize).toEqual(mixed ? [H, H, H2] : [H, H2]);
      expect(rnn.weightNames()).toEqual(['RNNCell_0/kernel', 'RNNCell_0/recurrent_kernel', 'RNNCell_0/bias', 'RNNCell_1/kernel', 'RNNCell_1/recurrent_kernel', 'RNNCell_1/bias']);

      const x = tensor(uniform(B * T * I, 1, next), [B, T, I]);
      const mask = c.mask ? someMask() : undefined;
      const S1 = stateCount(first);
      const init1 = c.init ? Array.from({ length: S1 }, () => tensor(uniform(B * H, 0.5, next), [B, H])) : undefined;
      const init2 = c.init ? [tensor(uniform(B * H2, 0.5, next), [B, H2])] : undefined;
      const o1 = list(await first.apply(x, { training: true, mask, initialState: init1 }));
      const o2 = list(await second.apply(o1[0], { training: true, mask, initialState: init2 }));
      const expected = c.returnState ? [o2[0], ...o1.slice(1), ...o2.slice(1)] : [o2[0]];
      const got = list(await rnn.apply(x, { training: true, mask, initialState: c.init ? [...(init1 as Tensor[]), ...(init2 as Tensor[])] : undefined }));
      expect(got.map((t) => t.shape)).toEqual(expected.map((t) => t.shape));
      expect(values(got)).toEqual(values(expected));

      const dOut = tensor(uniform(o2[0].size, 1, next), o2[0].shape);
      const dS1 = c.returnState ? o1.slice(1).map((s) => tensor(uniform(s.size, 1, next), s.shape)) : [];
      const dS2 = c.returnState ? o2.slice(1).map((s) => tensor(uniform(s.size, 1, next), s.shape)) : [];
      const g2 = await refBackward(second, dOut, dS2);
      const g1 = await refBackward(first, g2.dx, dS1);
      const g = await rnn.backward(dOut, ...dS1, ...dS2);
      expect(values([g.dx])).toEqual(values([g1.dx]));
      expect(values(g.dInitialState)).toEqual(values([...g1.dInitialState, ...g2.dInitialState]));
      expect(values(rnn.getGradients())).toEqual(values([...first.getGradients(), ...second.getGradients()]));
    }

    it.each([
      { returnSequences: false, returnState: true, mask: true, init: true },
      { returnSequences: true, returnState: false, mask: false, init: false },
      { returnSequences: true, returnState: true, mask: true, init: false },
    ])('two GRU cells equal two stacked GRU layers: returnSequences=$returnSequences returnState=$returnState mask=$mask initialState=$init', async (c) => {
      await compareStack(c, false);
    });

    it('an LSTM cell under a GRU cell (an array of cells): states [h1, c1, h2]', async () => {
      await compareStack({ returnSequences: true, returnState: true, mask: true, init: true }, true);
    });

    it('goBackwards with a mask: the stack reads the reversed sequence and reversed mask', async () => {
      const next = rng(31);
      const make = (goBackwards: boolean) =>
        layers.rnn({ cell: [layers.gruCell({ units: H }), layers.lstmCell({ units: 2 })], returnSequences: true, returnState: true, goBackwards });
      const back = make(true);
      const fwd = make(false);
      back.build([null, null, I]);
      fwd.setWeights(back.getWeights());
      const xv = uniform(B * T * I, 1, next);
      const mask = someMask();
      const a = list(await back.apply(tensor(xv, [B, T, I]), { mask, training: true }));
      const b = list(await fwd.apply(tensor(reverseTime(xv, B, T, I), [B, T, I]), { mask: tensor(reverseTime(mask.dataSync() as Float32Array, B, T, 1), [B, T]), training: true }));
      expect(values(a)).toEqual(values(b));
      const dOut = tensor(uniform(a[0].size, 1, next), a[0].shape);
      const ga = await back.backward(dOut);
      const gb = await fwd.backward(dOut);
      expect(Array.from(ga.dx.dataSync())).toEqual(Array.from(reverseTime(gb.dx.dataSync() as Float32Array, B, T, I)));
      expect(values(back.getGradients())).toEqual(values(fwd.getGradients()));
    });

    it('goBackwards with lengths: each sequence\'s valid part is read reversed (PyTorch), padding outputs 0', async () => {
      const next = rng(33);
      const make = (goBackwards: boolean) => layers.rnn({ cell: [layers.simpleRNNCell({ units: H }), layers.gruCell({ units: 2 })], returnSequences: true, returnState: true, goBackwards });
      const back = make(true);
      const fwd = make(false);
      back.build([null, null, I]);
      fwd.setWeights(back.getWeights());
      const lengths = [5, 3, 1];
      const xv = uniform(B * T * I, 1, next);
      const rev = xv.slice();
      lengths.forEach((len, b) => {
        for (let t = 0; t < len; t++) rev.set(xv.subarray((b * T + t) * I, (b * T + t + 1) * I), (b * T + len - 1 - t) * I);
      });
      const a = list(await back.apply(tensor(xv, [B, T, I]), { lengths }));
      const b = list(await fwd.apply(tensor(rev, [B, T, I]), { lengths }));
      expect(values(a)).toEqual(values(b));
      const seq = a[0].dataSync();
      expect(Array.from(seq.subarray((2 * T + 1) * 2, (2 * T + T) * 2)).every((v) => v === 0)).toBe(true);
    });
  });

  describe('in models', () => {
    it('symbolic apply with initialState: a functional model equals the direct call', async () => {
      const next = rng(41);
      const r = layers.rnn({ cell: [layers.lstmCell({ units: H }), layers.gruCell({ units: 2 })], returnState: true });
      const x = input({ shape: [null, I] });
      const states = [input({ shape: [H] }), input({ shape: [H] }), input({ shape: [2] })];
      const outs = r.apply(x, { initialState: states });
      expect(Array.isArray(outs) && outs.map((s) => s.shape)).toEqual([[null, 2], [null, H], [null, H], [null, 2]]);
      const m = model({ inputs: [x, ...states], outputs: outs });
      const xv = tensor(uniform(B * T * I, 1, next), [B, T, I]);
      const sv = [tensor(uniform(B * H, 1, next), [B, H]), tensor(uniform(B * H, 1, next), [B, H]), tensor(uniform(B * 2, 1, next), [B, 2])];
      const viaModel = list(await m.predict([xv, ...sv]));
      const direct = list(await r.apply(xv, { initialState: sv }));
      expect(values(viaModel)).toEqual(values(direct));
      expect(() => r.apply(x, { initialState: states.slice(0, 2) })).toThrow(/3 tensor/);
    });

    it('a mask from Embedding({maskZero}) and one training step match the same model with layers.gru', async () => {
      const next = rng(43);
      const build = (recurrent: GRU | RNN) => sequential({ layers: [layers.embedding({ inputDim: 7, outputDim: I, maskZero: true, inputShape: [T], seed: 3 }), recurrent, layers.dense({ units: 1, seed: 4 })] });
      const ref = build(layers.gru({ units: H, seed: 8 }));
      const mine = build(layers.rnn({ cell: layers.gruCell({ units: H, seed: 8 }) }));
      const ids = tensor(Float32Array.from([1, 2, 3, 0, 0, 4, 5, 0, 0, 0, 6, 1, 2, 3, 4]), [B, T]);
      const y = tensor(uniform(B, 1, next), [B, 1]);
      expect(values([(await mine.predict(ids)) as Tensor])).toEqual(values([(await ref.predict(ids)) as Tensor]));
      for (const m of [ref, mine]) m.compile({ optimizer: train.sgd(0.5), loss: 'meanSquaredError' });
      const lossRef = await ref.trainOnBatch(ids, y);
      const lossMine = await mine.trainOnBatch(ids, y);
      expect(lossMine).toEqual(lossRef);
      expect(values(mine.getWeights())).toEqual(values(ref.getWeights()));
    });
  });
});

describe('getConfig round-trips', () => {
  it('one built-in cell', async () => {
    const r = layers.rnn({
      cell: layers.gruCell({ units: 4, resetAfter: false, recurrentActivation: 'hardSigmoid', dropout: 0.1, kernelRegularizer: 'l2', seed: 3 }),
      returnSequences: true,
      goBackwards: true,
      unroll: true,
      name: 'my_rnn',
      inputShape: [null, 2],
    });
    const config = JSON.parse(JSON.stringify(r.getConfig()));
    expect(config).toMatchObject({ name: 'my_rnn', returnSequences: true, returnState: false, goBackwards: true, stateful: false, unroll: true, batchInputShape: [null, null, 2] });
    expect(config.cell.className).toBe('GRUCell');
    expect(config.cell.config).toMatchObject({ units: 4, resetAfter: false, recurrentActivation: 'hardSigmoid', dropout: 0.1, seed: 3 });
    expect(config.cell.config.name).toBeUndefined();
    const again = new RNN(config);
    expect(again.getConfig()).toEqual(config);
    // Same seed: same initial weights.
    again.build([null, null, 2]);
    r.build([null, null, 2]);
    expect(values(again.getWeights())).toEqual(values(r.getWeights()));
  });

  it('stacked cells (LSTM, SimpleRNN) and the cell configs without a seed', async () => {
    setBackend('js');
    const r = layers.rnn({ cell: [layers.lstmCell({ units: 3, unitForgetBias: false }), layers.simpleRNNCell({ units: 2, activation: 'relu' })], returnState: true });
    const config = JSON.parse(JSON.stringify(r.getConfig()));
    expect(config.cell.className).toBe('StackedRNNCells');
    expect(config.cell.config.cells.map((c: { className: string }) => c.className)).toEqual(['LSTMCell', 'SimpleRNNCell']);
    expect(config.cell.config.cells[0].config).toMatchObject({ units: 3, unitForgetBias: false });
    expect(config.cell.config.cells[0].config.seed).toBeUndefined();
    expect(config.cell.config.cells[1].config.recurrentActivation).toBeUndefined();
    const again = new RNN({ ...config, name: 'rnn_again' });
    expect({ ...again.getConfig(), name: config.name }).toEqual(config);
    r.build([null, null, I]);
    again.setWeights(r.getWeights());
    const x = tensor(uniform(B * T * I, 1, rng(3)), [B, T, I]);
    expect(values(list(await again.apply(x)))).toEqual(values(list(await r.apply(x))));
    // The cells' own configs make the same cells.
    expect(layers.lstmCell(config.cell.config.cells[0].config).getConfig()).toEqual(config.cell.config.cells[0].config);
    expect(layers.lstmCell({ units: 3 }).stateSize).toEqual([3, 3]);
    expect(layers.gruCell({ units: 3 }).stateSize).toBe(3);
  });
});

describe('bad input', () => {
  beforeEach(() => setBackend('js'));

  it('a cell that is not a cell', () => {
    expect(() => layers.rnn({} as never)).toThrow(/cell option is missing/);
    expect(() => layers.rnn({ cell: { units: 3 } } as never)).toThrow(/must be a cell/);
    expect(() => layers.rnn({ cell: layers.gru({ units: 3 }) } as never)).toThrow(/must be a cell/);
    expect(() => layers.rnn({ cell: 'gru' } as never)).toThrow(/must be a cell/);
    expect(() => layers.rnn({ cell: [] } as never)).toThrow(/non-empty/);
    expect(() => layers.rnn({ cell: [layers.gruCell({ units: 2 }), 3] } as never)).toThrow(/cells\[1\] must be a cell/);
    expect(() => layers.rnn({ cell: { className: 'NoSuchCell', config: {} } })).toThrow(/unknown cell class "NoSuchCell".*registerCell/);
  });

  it('options', () => {
    expect(() => layers.rnn({ cell: layers.gruCell({ units: 2 }), returnSequence: true } as never)).toThrow(/unknown option "returnSequence"/);
    expect(() => layers.gruCell({ units: 0 })).toThrow(/units must be an integer/);
    expect(() => layers.gruCell({ units: 2, returnSequences: true } as never)).toThrow(/unknown option "returnSequences"/);
    expect(() => layers.simpleRNNCell({ units: 2, recurrentActivation: 'sigmoid' } as never)).toThrow(/recurrentActivation/);
    expect(() => layers.lstmCell({ units: 2, dropout: 1 })).toThrow(/dropout/);
    expect(() => layers.rnn({ cell: layers.gruCell({ units: 2 }), inputShape: [4] })).toThrow(/timesteps/);
    expect(() => layers.stackedRNNCells({ cells: [layers.gruCell({ units: 2 })], extra: 1 } as never)).toThrow(/unknown option "extra"/);
  });

  it('initialState that does not match the state sizes', async () => {
    const x = tensor(new Float32Array(B * T * I), [B, T, I]);
    const r = layers.rnn({ cell: layers.lstmCell({ units: H }) });
    await expect(r.apply(x, { initialState: [tensor(new Float32Array(B * H), [B, H])] })).rejects.toThrow(/initialState must hold 2 tensor\(s\)/);
    await expect(r.apply(x, { initialState: [tensor(new Float32Array(B * H), [B, H]), tensor(new Float32Array(B * 4), [B, 4])] })).rejects.toThrow(/initialState\[1\]/);
    const s = layers.rnn({ cell: [layers.gruCell({ units: 2 }), layers.gruCell({ units: 5 })] });
    await expect(s.apply(x, { initialState: [tensor(new Float32Array(B * 5), [B, 5]), tensor(new Float32Array(B * 2), [B, 2])] })).rejects.toThrow(/initialState\[0\].*stateSize\[0\] = 2/);
    await expect(s.apply(x, { initialState: [tensor(new Float32Array(B * 2), [B, 2])] })).rejects.toThrow(/2 tensor\(s\)/);
    await expect(r.apply(tensor(new Float32Array(B * I), [B, I]))).rejects.toThrow(/\[batch, timesteps, features\]/);
  });

  it('setWeights: wrong count, wrong shapes between cells, all or nothing', async () => {
    const s = layers.rnn({ cell: [layers.gruCell({ units: 2 }), layers.gruCell({ units: 3 })] });
    s.build([null, null, I]);
    const w = s.getWeights();
    expect(() => s.setWeights(w.slice(0, 5))).toThrow(/expects 6 tensors \[RNNCell_0\/kernel/);
    const bad = [...w.slice(0, 3), tensor(new Float32Array(4 * 9), [4, 9]), ...w.slice(4)];
    expect(() => s.setWeights(bad.map((t, i) => (i < 3 ? tensor(new Float32Array(t.size).fill(0.5), t.shape) : t)))).toThrow(/kernel/);
    expect(values(s.getWeights())).toEqual(values(w));
    const fresh = layers.rnn({ cell: [layers.gruCell({ units: 2 }), layers.gruCell({ units: 3 })] });
    expect(() => fresh.setWeights([...w.slice(0, 3), tensor(new Float32Array(4 * 9), [4, 9]), ...w.slice(4)])).toThrow(/must have 2 rows/);
    expect(() => fresh.getWeights()).toThrow(/before the layer is built/);
  });

  it('backward without a training call, too many state gradients', async () => {
    const r = layers.rnn({ cell: layers.gruCell({ units: 2 }), returnState: true });
    const x = tensor(new Float32Array(B * T * I), [B, T, I]);
    await r.apply(x);
    await expect(r.backward(tensor(new Float32Array(B * 2), [B, 2]))).rejects.toThrow(/training/);
    await r.apply(x, { training: true });
    await expect(r.backward(null, null, null)).rejects.toThrow(/at most 1 state gradient/);
    expect(() => layers.rnn({ cell: layers.gruCell({ units: 2 }) }).getGradients()).toThrow(/no gradients yet/);
  });
});
