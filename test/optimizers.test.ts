/**
 * Optimizers and clipping against float64 references written here from the
 * formulas (not from lib/training), and one recorded step of every
 * optimizer case in the golden training trajectories (PyTorch / Keras / tfjs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clipByGlobalNorm, clipByGlobalNormTorch, clipByNorm, clipByValue, globalNorm } from '../lib/training/clipping.js';
import type { Optimizer, OptimizerVariable } from '../lib/training/optimizer.js';
import { deserializeOptimizer, getOptimizer, optimizers, train } from '../lib/training/optimizers.js';
import { exponentialDecay, piecewiseConstantDecay } from '../lib/training/schedules.js';

// ---------------------------------------------------------------- references

const P0 = [0.5, -0.3, 1.2, 0.0, -2.0];
/** Three steps of gradients; a zero and a sign change on purpose. */
const GRADS = [
  [0.1, -0.4, 2.5, 0.0, -0.02],
  [-0.3, 0.2, 1.0, 0.7, 0.05],
  [0.25, -0.1, -0.5, 0.0, 0.3],
];

type Ref = (p: number[], g: number[], s: Record<string, number[]>, lr: number, t: number) => void;

/** Runs a reference for the three steps in float64, with `lrs[t-1]` the rate at step t. */
function runRef(ref: Ref, lrs = [0.1, 0.1, 0.1], grads = GRADS, init: Record<string, number> = {}): number[][] {
  const p = [...P0];
  const s: Record<string, number[]> = new Proxy({} as Record<string, number[]>, {
    get: (o, k: string) => (o[k] ??= P0.map(() => init[k] ?? 0)),
  });
  const out: number[][] = [];
  for (let t = 1; t <= grads.length; t++) {
    ref(p, grads[t - 1], s, lrs[t - 1], t);
    out.push([...p]);
  }
  return out;
}

function runOpt(opt: Optimizer, grads = GRADS): number[][] {
  const value = Float32Array.from(P0);
  const out: number[][] = [];
  for (const g of grads) {
    opt.applyGradients([{ name: 'w', value, grad: Float32Array.from(g) }]);
    out.push([...value]);
  }
  return out;
}

function expectClose(got: number[][], want: number[][], atol = 1e-6, rtol = 1e-5): void {
  expect(got.length).toBe(want.length);
  got.forEach((row, k) =>
    row.forEach((v, i) => {
      expect(Math.abs(v - want[k][i]), `step ${k + 1} [${i}]: got ${v}, want ${want[k][i]}`).toBeLessThanOrEqual(atol + rtol * Math.abs(want[k][i]));
    }),
  );
}

function maxDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, k) => row.forEach((v, i) => (m = Math.max(m, Math.abs(v - b[k][i])))));
  return m;
}

const sgdRef = (mu: number, nesterov: boolean, form: 'keras' | 'pytorch'): Ref => (p, g, s, lr) => {
  for (let i = 0; i < p.length; i++) {
    if (mu === 0) p[i] -= lr * g[i];
    else if (form === 'keras') {
      s.v[i] = mu * s.v[i] - lr * g[i];
      p[i] += nesterov ? mu * s.v[i] - lr * g[i] : s.v[i];
    } else {
      s.buf[i] = mu * s.buf[i] + g[i];
      p[i] -= lr * (nesterov ? g[i] + mu * s.buf[i] : s.buf[i]);
    }
  }
};

const adamRef = (b1: number, b2: number, eps: number, form: 'keras' | 'pytorch', amsgrad = false, wd = 0): Ref => (p, g, s, lr, t) => {
  for (let i = 0; i < p.length; i++) {
    p[i] -= lr * wd * p[i];
    s.m[i] = b1 * s.m[i] + (1 - b1) * g[i];
    s.v[i] = b2 * s.v[i] + (1 - b2) * g[i] * g[i];
    let v = s.v[i];
    if (amsgrad) v = s.vhat[i] = Math.max(s.vhat[i], v);
    if (form === 'pytorch') p[i] -= (lr * (s.m[i] / (1 - b1 ** t))) / (Math.sqrt(v / (1 - b2 ** t)) + eps);
    else p[i] -= ((lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t)) * (s.m[i] / (Math.sqrt(v) + eps));
  }
};

const rmspropRef = (rho: number, mu: number, eps: number, centered: boolean, form: 'keras' | 'pytorch' | 'tfjs'): Ref => (p, g, s, lr) => {
  for (let i = 0; i < p.length; i++) {
    s.v[i] = rho * s.v[i] + (1 - rho) * g[i] * g[i];
    let d = s.v[i];
    if (centered) {
      s.mg[i] = rho * s.mg[i] + (1 - rho) * g[i];
      d -= s.mg[i] * s.mg[i];
    }
    if (form === 'pytorch') {
      const q = g[i] / (Math.sqrt(d) + eps);
      if (mu > 0) {
        s.buf[i] = mu * s.buf[i] + q;
        p[i] -= lr * s.buf[i];
      } else p[i] -= lr * q;
    } else {
      s.mom[i] = mu * s.mom[i] + (lr * g[i]) / Math.sqrt(d + eps);
      p[i] -= s.mom[i];
    }
  }
};

const adagradRef = (eps: number): Ref => (p, g, s, lr) => {
  for (let i = 0; i < p.length; i++) {
    s.acc[i] += g[i] * g[i];
    p[i] -= (lr * g[i]) / Math.sqrt(s.acc[i] + eps);
  }
};

// ------------------------------------------------------------ formula tests

describe('SGD', () => {
  it('plain SGD: p -= lr g', () => {
    expectClose(runOpt(optimizers.sgd({ learningRate: 0.1 })), runRef(sgdRef(0, false, 'keras')));
    expectClose(runOpt(train.sgd(0.1)), runRef(sgdRef(0, false, 'keras')));
    expect(optimizers.sgd().getWeights().length).toBe(1);
  });

  for (const form of ['keras', 'pytorch'] as const) {
    for (const nesterov of [false, true]) {
      it(`momentum 0.9, ${form} form, nesterov ${nesterov}`, () => {
        expectClose(runOpt(optimizers.sgd({ learningRate: 0.1, momentum: 0.9, nesterov, form })), runRef(sgdRef(0.9, nesterov, form)));
      });
    }
  }

  it('the two forms part when the learning rate changes (Keras keeps lr inside the velocity)', () => {
    const schedule = () => piecewiseConstantDecay({ boundaries: [0], values: [0.1, 0.02] }); // step 0: 0.1, then 0.02
    const lrs = [0.1, 0.02, 0.02];
    const keras = runOpt(optimizers.sgd({ learningRate: schedule(), momentum: 0.9, form: 'keras' }));
    const torch = runOpt(optimizers.sgd({ learningRate: schedule(), momentum: 0.9, form: 'pytorch' }));
    expectClose(keras, runRef(sgdRef(0.9, false, 'keras'), lrs));
    expectClose(torch, runRef(sgdRef(0.9, false, 'pytorch'), lrs));
    expect(maxDiff(keras, torch)).toBeGreaterThan(1e-3);
  });

  it('train.momentum is tfjs MomentumOptimizer (pytorch form, momentum slot even at 0)', () => {
    for (const nesterov of [false, true]) {
      expectClose(runOpt(train.momentum(0.1, 0.8, nesterov)), runRef(sgdRef(0.8, nesterov, 'pytorch')));
    }
    const m = train.momentum(0.1, 0);
    runOpt(m);
    expect(m.className).toBe('Momentum');
    expect(m.getWeights().map((w) => w.name)).toEqual(['iter', 'w/momentum']);
    expect(m.getConfig()).toEqual({ learningRate: 0.1, momentum: 0, useNesterov: false });
  });
});

describe('Adam', () => {
  // eps 1e-3 separates the two forms clearly (the golden README's T15/T16).
  for (const form of ['keras', 'pytorch'] as const) {
    for (const amsgrad of [false, true]) {
      it(`${form} form, amsgrad ${amsgrad}`, () => {
        const got = runOpt(optimizers.adam({ learningRate: 0.1, epsilon: 1e-3, form, amsgrad }));
        expectClose(got, runRef(adamRef(0.9, 0.999, 1e-3, form, amsgrad)));
      });
    }
  }

  it('the keras and pytorch forms differ (epsilon hat)', () => {
    const keras = runOpt(optimizers.adam({ learningRate: 0.1, epsilon: 1e-3 }));
    const torch = runOpt(optimizers.adam({ learningRate: 0.1, epsilon: 1e-3, form: 'pytorch' }));
    expect(maxDiff(keras, torch)).toBeGreaterThan(1e-4);
  });

  it('amsgrad changes the trajectory once v falls', () => {
    const g = [[1, 1, 1, 1, 1], [0.01, 0.01, 0.01, 0.01, 0.01], [0.01, 0.01, 0.01, 0.01, 0.01]];
    const plain = runOpt(optimizers.adam({ learningRate: 0.1, beta2: 0.5 }), g);
    const ams = runOpt(optimizers.adam({ learningRate: 0.1, beta2: 0.5, amsgrad: true }), g);
    expectClose(ams, runRef(adamRef(0.9, 0.5, 1e-7, 'keras', true), undefined, g));
    expect(maxDiff(plain, ams)).toBeGreaterThan(1e-3);
  });

  it('train.adam is tfjs: pytorch form, eps 1e-7', () => {
    expectClose(runOpt(train.adam(0.1)), runRef(adamRef(0.9, 0.999, 1e-7, 'pytorch')));
    expectClose(runOpt(train.adam(0.05, 0.8, 0.99, 1e-3)), runRef(adamRef(0.8, 0.99, 1e-3, 'pytorch'), [0.05, 0.05, 0.05]));
    expect(train.adam().getWeights()[0].name).toBe('iter');
  });

  it('AdamW: decoupled decay p -= lr wd p before the Adam step, both forms; default weightDecay 0.004', () => {
    for (const form of ['keras', 'pytorch'] as const) {
      expectClose(runOpt(optimizers.adamw({ learningRate: 0.1, weightDecay: 0.05, epsilon: 1e-3, form })), runRef(adamRef(0.9, 0.999, 1e-3, form, false, 0.05)));
    }
    expectClose(runOpt(optimizers.adamw({ learningRate: 0.1 })), runRef(adamRef(0.9, 0.999, 1e-7, 'keras', false, 0.004)));
    expect(optimizers.adamw().className).toBe('AdamW');
  });
});

describe('RMSprop', () => {
  for (const form of ['keras', 'pytorch'] as const) {
    for (const [mu, centered] of [[0, false], [0.9, false], [0, true], [0.5, true]] as const) {
      it(`${form} form, momentum ${mu}, centered ${centered}`, () => {
        const got = runOpt(optimizers.rmsprop({ learningRate: 0.01, rho: 0.9, momentum: mu, centered, epsilon: 1e-3, form }));
        expectClose(got, runRef(rmspropRef(0.9, mu, 1e-3, centered, form), [0.01, 0.01, 0.01]));
      });
    }
  }

  it('keras puts eps inside the sqrt, pytorch outside: they differ', () => {
    const keras = runOpt(optimizers.rmsprop({ learningRate: 0.01, epsilon: 1e-3 }));
    const torch = runOpt(optimizers.rmsprop({ learningRate: 0.01, epsilon: 1e-3, form: 'pytorch' }));
    expect(maxDiff(keras, torch)).toBeGreaterThan(1e-4);
  });

  it('train.rmsprop is tfjs RMSProp: keras form, decay 0.9, eps 1e-7, momentum inside', () => {
    expectClose(runOpt(train.rmsprop(0.01)), runRef(rmspropRef(0.9, 0, 1e-7, false, 'tfjs'), [0.01, 0.01, 0.01]));
    expectClose(runOpt(train.rmsprop(0.01, 0.8, 0.7, 1e-4, true)), runRef(rmspropRef(0.8, 0.7, 1e-4, true, 'tfjs'), [0.01, 0.01, 0.01]));
    const o = train.rmsprop(0.01, 0.8, 0, null, true);
    runOpt(o);
    expect(o.className).toBe('RMSProp');
    expect(o.getWeights().map((w) => w.name)).toEqual(['iter', 'w/rms', 'w/momentum', 'w/mg']);
  });

  it('centered with a zero gradient at the first step stays finite (tfjs would give NaN)', () => {
    const value = Float32Array.of(1, 2);
    train.rmsprop(0.01, 0.9, 0, null, true).applyGradients([{ name: 'w', value, grad: Float32Array.of(0, 0) }]);
    expect([...value]).toEqual([1, 2]);
  });
});

describe('Adagrad', () => {
  it('accumulator from 0.1, p -= lr g / sqrt(acc + eps) (Keras = tfjs)', () => {
    expectClose(runOpt(optimizers.adagrad({ learningRate: 0.1 })), runRef(adagradRef(1e-7), undefined, undefined, { acc: 0.1 }));
    expectClose(runOpt(train.adagrad(0.1, 0.5)), runRef(adagradRef(1e-7), undefined, undefined, { acc: 0.5 }));
    expectClose(runOpt(optimizers.adagrad({ learningRate: 0.1, initialAccumulatorValue: 0, epsilon: 1e-2 })), runRef(adagradRef(1e-2)));
  });
});

// ---------------------------------------------------------------- clipping

describe('clipping', () => {
  it('globalNorm is sqrt of the sum of squares over all arrays', () => {
    expect(globalNorm([Float32Array.of(3), Float32Array.of(4, 0), new Float32Array(0)])).toBe(5);
  });

  it('clipByValue clamps in place', () => {
    const g = [Float32Array.of(-3, 0.5, 2)];
    clipByValue(g, 1);
    expect([...g[0]]).toEqual([-1, 0.5, 1]);
  });

  it('clipByNorm clips each array separately and returns the raw norms', () => {
    const g = [Float32Array.of(3, 4), Float32Array.of(0.3, 0.4)];
    expect(clipByNorm(g, 1)).toEqual([5, expect.closeTo(0.5, 7)]);
    expect([...g[0]].map((v) => +v.toFixed(6))).toEqual([0.6, 0.8]);
    expect([...g[1]]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
  });

  it('clipByGlobalNorm (Keras: scale c / n) and the PyTorch form (c / (n + 1e-6)) return the raw norm', () => {
    const keras = [Float32Array.of(3), Float32Array.of(4)];
    const torch = [Float32Array.of(3), Float32Array.of(4)];
    expect(clipByGlobalNorm(keras, 1)).toBe(5);
    expect(clipByGlobalNormTorch(torch, 1)).toBe(5);
    expect(keras[0][0]).toBe(Math.fround(3 * (1 / 5)));
    expect(torch[0][0]).toBe(Math.fround(3 * (1 / (5 + 1e-6))));
    // At a norm equal to the limit Keras leaves the gradients alone, PyTorch scales by c / (c + 1e-6).
    const atLimitKeras = [Float32Array.of(0.5)];
    const atLimitTorch = [Float32Array.of(0.5)];
    clipByGlobalNorm(atLimitKeras, 0.5);
    clipByGlobalNormTorch(atLimitTorch, 0.5);
    expect(atLimitKeras[0][0]).toBe(0.5);
    expect(atLimitTorch[0][0]).toBe(Math.fround(0.5 * (0.5 / (0.5 + 1e-6))));
    // Well below the limit neither changes anything.
    const small = [Float32Array.of(0.3, 0.4)];
    clipByGlobalNormTorch(small, 1);
    expect([...small[0]]).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    expect(() => clipByGlobalNorm(keras, 0)).toThrow(RangeError);
    expect(() => clipByGlobalNorm(keras, 1, { epsilon: -1 })).toThrow(RangeError);
  });

  it("optimizer clip options: clipnorm per tensor, clipvalue, globalClipnorm; the caller's gradients are left alone", () => {
    const vars = (): OptimizerVariable[] => [
      { name: 'a', value: Float32Array.of(1, 1), grad: Float32Array.of(3, 4) },
      { name: 'b', value: Float32Array.of(1), grad: Float32Array.of(0.5) },
    ];
    const cases: Array<[Optimizer, number[][]]> = [
      [optimizers.sgd({ learningRate: 1, clipnorm: 1 }), [[1 - 0.6, 1 - 0.8], [1 - 0.5]]],
      [optimizers.sgd({ learningRate: 1, clipvalue: 0.7 }), [[1 - 0.7, 1 - 0.7], [1 - 0.5]]],
      [optimizers.sgd({ learningRate: 1, globalClipnorm: 1 }), [[1 - 3 / Math.hypot(3, 4, 0.5), 1 - 4 / Math.hypot(3, 4, 0.5)], [1 - 0.5 / Math.hypot(3, 4, 0.5)]]],
    ];
    for (const [opt, want] of cases) {
      const v = vars();
      opt.applyGradients(v);
      expectClose(v.map((x) => [...x.value]), want);
      expect([...v[0].grad]).toEqual([3, 4]);
    }
    expect(() => optimizers.adam({ clipnorm: 1, clipvalue: 1 })).toThrow(/only one of clipnorm, clipvalue and globalClipnorm/);
  });
});

// ------------------------------------------------- state, config, validation

const ALL: Array<[string, () => Optimizer]> = [
  ['sgd', () => optimizers.sgd({ learningRate: 0.1 })],
  ['sgd momentum', () => optimizers.sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true })],
  ['momentum', () => train.momentum(0.1, 0.9)],
  ['adam', () => optimizers.adam({ learningRate: 0.1, amsgrad: true })],
  ['adam pytorch', () => train.adam(0.1)],
  ['adamw', () => optimizers.adamw({ learningRate: 0.1, weightDecay: 0.1, form: 'pytorch' })],
  ['rmsprop', () => optimizers.rmsprop({ learningRate: 0.01, momentum: 0.5, centered: true, form: 'pytorch' })],
  ['RMSProp', () => train.rmsprop(0.01, 0.9, 0.3)],
  ['adagrad', () => optimizers.adagrad({ learningRate: 0.1, clipnorm: 1.5 })],
  ['scheduled', () => optimizers.adam({ learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5 }) })],
];

function twoVars(): OptimizerVariable[] {
  return [
    { name: 'dense/kernel', value: Float32Array.of(0.5, -0.3, 1.2, 0.1), grad: new Float32Array(4), shape: [2, 2] },
    { name: 'dense/bias', value: Float32Array.of(0.1, -0.1), grad: new Float32Array(2) },
  ];
}
function setGrads(vars: OptimizerVariable[], step: number): void {
  vars.forEach((v, k) => v.grad.forEach((_, i) => (v.grad[i] = Math.sin(1 + step * 3 + k * 5 + i))));
}

describe('optimizer state', () => {
  for (const [label, make] of ALL) {
    it(`${label}: getWeights -> new optimizer from getConfig -> setWeights gives the same next step`, () => {
      const a = make();
      const va = twoVars();
      for (let s = 0; s < 2; s++) {
        setGrads(va, s);
        a.applyGradients(va);
      }
      const saved = a.getWeights();
      expect(saved[0]).toEqual({ name: 'iter', value: Float32Array.of(2), shape: [] });
      const b = deserializeOptimizer({ className: a.className, config: JSON.parse(JSON.stringify(a.getConfig())) });
      expect(b.className).toBe(a.className);
      b.setWeights(saved);
      expect(b.iterations).toBe(2);
      const vb = twoVars();
      va.forEach((v, k) => vb[k].value.set(v.value));
      setGrads(va, 2);
      setGrads(vb, 2);
      a.applyGradients(va);
      b.applyGradients(vb);
      expect([...vb[0].value]).toEqual([...va[0].value]);
      expect([...vb[1].value]).toEqual([...va[1].value]);
      expect(b.getWeights()).toEqual(a.getWeights());
    });
  }

  it("saves iter first, then slot-major with tfjs names and the variables' shapes", () => {
    const o = optimizers.adam({ amsgrad: true });
    const v = twoVars();
    setGrads(v, 0);
    o.applyGradients(v);
    expect(o.getWeights().map((w) => [w.name, w.shape])).toEqual([
      ['iter', []],
      ['dense/kernel/m', [2, 2]],
      ['dense/bias/m', [2]],
      ['dense/kernel/v', [2, 2]],
      ['dense/bias/v', [2]],
      ['dense/kernel/vhat', [2, 2]],
      ['dense/bias/vhat', [2]],
    ]);
    const ada = optimizers.adagrad();
    ada.applyGradients(v);
    expect(ada.getWeights()[1].name).toBe('dense/kernel/accumulator');
  });

  it('state is keyed by position and checked against name and size', () => {
    const o = optimizers.adam();
    const v = twoVars();
    o.applyGradients(v);
    expect(() => o.applyGradients([v[1], v[0]])).toThrow(/variable 0 is "dense\/bias" with 2 values, but this optimizer's state at that position is for "dense\/kernel" with 4 values/);
    expect(() => o.applyGradients([v[0]])).toThrow(RangeError);
    const renamed = twoVars();
    renamed[1].name = 'other/bias';
    expect(() => o.applyGradients(renamed)).toThrow(RangeError);
  });

  it('setWeights rejects bad names, sizes and counts with clear errors', () => {
    const o = optimizers.adam();
    const v = twoVars();
    o.applyGradients(v);
    const w = o.getWeights();
    const fresh = () => optimizers.adam();
    expect(() => fresh().setWeights(w.slice(1))).toThrow(/'iter'/);
    expect(() => fresh().setWeights(w.slice(0, 4))).toThrow(/multiple of 2/);
    const badSize = w.map((x, i) => (i === 3 ? { ...x, value: new Float32Array(3), shape: [3] } : x));
    expect(() => fresh().setWeights(badSize)).toThrow(/dense\/kernel\/v has 3 values, expected 4/);
    const badName = w.map((x, i) => (i === 2 ? { ...x, name: 'dense/bias/q' } : x));
    expect(() => fresh().setWeights(badName)).toThrow(/should be a 'm' slot/);
    expect(() => optimizers.rmsprop().setWeights(w)).toThrow(RangeError);
    // Restored state then meets other variables: refused at the first update.
    const r = fresh();
    r.setWeights(w);
    expect(() => r.applyGradients([v[1], v[0]])).toThrow(RangeError);
    // Restoring over state for other variables is refused too.
    const other = optimizers.adam();
    other.applyGradients([{ name: 'x', value: new Float32Array(4), grad: new Float32Array(4) }]);
    expect(() => other.setWeights(w)).toThrow(/state is for 1 variables/);
  });

  it('a non-finite gradient throws a RangeError naming the variable and changes no weight', () => {
    const o = optimizers.sgd({ learningRate: 1 });
    const v = twoVars();
    setGrads(v, 0);
    v[1].grad[1] = NaN;
    const before = v.map((x) => [...x.value]);
    expect(() => o.applyGradients(v)).toThrow(/gradient of "dense\/bias" contains NaN at flat index 1/);
    expect(v.map((x) => [...x.value])).toEqual(before);
    expect(o.iterations).toBe(0);
    v[1].grad[1] = Infinity;
    expect(() => o.applyGradients(v)).toThrow(RangeError);
    expect(() => o.applyGradients([{ name: 'w', value: new Float32Array(2), grad: new Float32Array(3) }])).toThrow(/has 3 values, the variable 2/);
    expect(() => o.applyGradients([{ name: 'w', value: [1, 2] as unknown as Float32Array, grad: new Float32Array(2) }])).toThrow(TypeError);
  });

  it('learningRate: a schedule is read at `iterations`; setting a number replaces it', () => {
    const o = optimizers.sgd({ learningRate: exponentialDecay({ initialLearningRate: 1, decaySteps: 1, decayRate: 0.5 }) });
    expect(o.learningRate).toBe(1);
    const value = Float32Array.of(0);
    o.applyGradients([{ name: 'w', value, grad: Float32Array.of(1) }]);
    expect(o.learningRate).toBe(0.5);
    o.applyGradients([{ name: 'w', value, grad: Float32Array.of(1) }]);
    expect(value[0]).toBe(-1.5);
    o.learningRate = 0.01;
    expect(o.learningRateSchedule).toBeNull();
    o.applyGradients([{ name: 'w', value, grad: Float32Array.of(1) }]);
    expect(value[0]).toBeCloseTo(-1.51, 6);
    expect(() => (o.learningRate = -1)).toThrow(RangeError);
  });

  it('getConfig is plain JSON with the schedule serialised', () => {
    const o = optimizers.adam({ learningRate: exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.9 }), globalClipnorm: 2 });
    expect(o.getConfig()).toEqual({
      learningRate: { className: 'ExponentialDecay', config: { initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.9, staircase: false } },
      globalClipnorm: 2,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-7,
      amsgrad: false,
      form: 'keras',
    });
    // A tfjs-written Adam config (no `form`) gets tfjs's formula.
    expect((deserializeOptimizer({ className: 'Adam', config: { learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }) as unknown as { form: string }).form).toBe('pytorch');
    expect(() => deserializeOptimizer({ className: 'Nadam', config: {} })).toThrow(/unknown className "Nadam"; the optimizers are SGD, Momentum, Adam, AdamW, RMSprop, RMSProp, Adagrad/);
  });
});

describe('getOptimizer and option checks', () => {
  it('names, case-insensitive, with Keras defaults', () => {
    const cases: Array<[string, string, number]> = [
      ['sgd', 'SGD', 0.01],
      ['Adam', 'Adam', 0.001],
      ['ADAMW', 'AdamW', 0.001],
      ['rmsprop', 'RMSprop', 0.001],
      ['adagrad', 'Adagrad', 0.001],
    ];
    for (const [name, cls, lr] of cases) {
      const o = getOptimizer(name);
      expect(o.className).toBe(cls);
      expect(o.learningRate).toBe(lr);
    }
    const mine = optimizers.sgd();
    expect(getOptimizer(mine)).toBe(mine);
    expect(() => getOptimizer('adamax')).toThrow(/unknown optimizer "adamax"; use one of 'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'/);
    expect(() => getOptimizer('adamax')).toThrow(TypeError);
  });

  it('bad options throw at construction, naming the option', () => {
    const bad: Array<[() => unknown, RegExp, ErrorConstructor]> = [
      [() => optimizers.sgd({ learningRate: -0.1 }), /sgd: learningRate must be a finite number >= 0, got -0.1/, RangeError],
      [() => optimizers.sgd({ learningRate: '0.1' as unknown as number }), /learningRate must be a number >= 0 or a LearningRateSchedule/, TypeError],
      [() => optimizers.sgd({ momentum: 1.5 }), /sgd: momentum must be a finite number >= 0 and <= 1/, RangeError],
      [() => optimizers.sgd({ learningrate: 0.1 } as never), /sgd: unknown option "learningrate"/, TypeError],
      [() => optimizers.adam({ beta1: 1 }), /adam: beta1 must be a finite number >= 0 and < 1, got 1/, RangeError],
      [() => optimizers.adam({ beta2: -0.1 }), /adam: beta2/, RangeError],
      [() => optimizers.adam({ epsilon: -1e-7 }), /adam: epsilon/, RangeError],
      [() => optimizers.adam({ form: 'tf' as never }), /adam: form must be one of 'keras', 'pytorch'/, TypeError],
      [() => optimizers.adam({ amsgrad: 1 as never }), /adam: amsgrad must be a boolean/, TypeError],
      [() => optimizers.adamw({ weightDecay: -1 }), /adamw: weightDecay/, RangeError],
      [() => optimizers.rmsprop({ rho: 1 }), /rmsprop: rho/, RangeError],
      [() => optimizers.rmsprop({ centered: 'yes' as never }), /rmsprop: centered/, TypeError],
      [() => optimizers.adagrad({ initialAccumulatorValue: -0.1 }), /adagrad: initialAccumulatorValue/, RangeError],
      [() => optimizers.sgd({ clipnorm: 0 }), /sgd: clipnorm must be a finite number > 0/, RangeError],
      [() => optimizers.sgd({ clipvalue: NaN }), /sgd: clipvalue/, RangeError],
      [() => optimizers.sgd(5 as never), /sgd: options must be an object/, TypeError],
      [() => train.sgd(undefined as never), /train.sgd: learningRate is required/, TypeError],
      [() => train.momentum(0.1, undefined as never), /train.momentum: momentum is required/, TypeError],
      [() => train.momentum(0.1, 0.9, 'no' as never), /train.momentum: useNesterov must be a boolean/, TypeError],
      [() => train.rmsprop(0.1, 1.2), /train.rmsprop: decay/, RangeError],
      [() => train.adam(0.1, 0.9, 1), /train.adam: beta2/, RangeError],
    ];
    for (const [make, message, type] of bad) {
      expect(make).toThrow(type);
      expect(make).toThrow(message);
    }
  });
});

// ---------------------------------------------------------------- golden

interface GoldenTensor {
  shape: number[];
  data?: number[];
  b64?: string;
}
interface TrainCase {
  name: string;
  optimizer: { name: 'sgd' | 'adam' | 'rmsprop'; lr: number; momentum?: number; beta1?: number; beta2?: number; eps?: number; alpha?: number; rho?: number; semantics: 'keras' | 'pytorch' };
  clip_grad_norm: number | null;
  initial_params: Record<string, GoldenTensor>;
  initial_grads: Record<string, GoldenTensor>;
  params_after_step1: Record<string, GoldenTensor>;
}

const TRAIN_DIR = path.join(__dirname, 'fixtures', 'golden', 'train');

function values(t: GoldenTensor): Float32Array {
  if (t.b64 !== undefined) {
    const buf = Buffer.from(t.b64, 'base64');
    const out = new Float32Array(buf.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
    return out;
  }
  return Float32Array.from(t.data ?? []);
}

/** The case's optimizer, built with this library's Keras-style constructors. */
function optimizerFor(c: TrainCase, clip: 'none' | 'keras'): Optimizer {
  const o = c.optimizer;
  const form = o.semantics;
  const globalClipnorm = clip === 'keras' && c.clip_grad_norm !== null ? c.clip_grad_norm : undefined;
  if (o.name === 'sgd') return optimizers.sgd({ learningRate: o.lr, momentum: o.momentum, form, globalClipnorm });
  if (o.name === 'adam') return optimizers.adam({ learningRate: o.lr, beta1: o.beta1, beta2: o.beta2, epsilon: o.eps, form, globalClipnorm });
  return optimizers.rmsprop({ learningRate: o.lr, rho: o.alpha ?? o.rho, epsilon: o.eps, form, globalClipnorm });
}

function oneStep(c: TrainCase, opt: Optimizer, torchClip: boolean): Map<string, Float32Array> {
  const vars: OptimizerVariable[] = Object.keys(c.initial_params).map((name) => ({
    name,
    value: values(c.initial_params[name]),
    grad: values(c.initial_grads[name]),
    shape: c.initial_params[name].shape,
  }));
  if (torchClip && c.clip_grad_norm !== null) clipByGlobalNormTorch(vars.map((v) => v.grad), c.clip_grad_norm);
  opt.applyGradients(vars);
  return new Map(vars.map((v) => [v.name, v.value]));
}

function expectStep(c: TrainCase, got: Map<string, Float32Array>): void {
  for (const [name, want] of Object.entries(c.params_after_step1)) {
    const w = values(want);
    const g = got.get(name)!;
    let worst = 0;
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g[i] - w[i]) / (1e-6 + 1e-5 * Math.abs(w[i])));
    expect(worst, `${c.name} ${name}`).toBeLessThanOrEqual(1);
  }
}

describe('golden training cases: one optimizer step from the recorded gradients', () => {
  const files = fs.readdirSync(TRAIN_DIR).filter((f) => f.endsWith('.json')).sort();
  it('has the 19 recorded cases', () => expect(files.length).toBe(19));

  for (const file of files) {
    const c = JSON.parse(fs.readFileSync(path.join(TRAIN_DIR, file), 'utf8')) as TrainCase;
    it(`${c.name} (${c.optimizer.name} ${c.optimizer.semantics}${c.clip_grad_norm ? `, clip_grad_norm_ ${c.clip_grad_norm}` : ''})`, () => {
      expectStep(c, oneStep(c, optimizerFor(c, 'none'), true));
      if (c.clip_grad_norm !== null) {
        // The step must actually depend on clipping, and Keras's global_clipnorm (no 1e-6) agrees within float32.
        expect(() => expectStep(c, oneStep(c, optimizerFor(c, 'none'), false))).toThrow();
        expectStep(c, oneStep(c, optimizerFor(c, 'keras'), false));
      }
    });
  }

  it('T17 / T18 are what tfjs computes: train.rmsprop and train.adam reproduce them', () => {
    const load = (f: string) => JSON.parse(fs.readFileSync(path.join(TRAIN_DIR, f), 'utf8')) as TrainCase;
    const t17 = load('T17_mse_keras_v1_rmsprop_keras.json');
    expectStep(t17, oneStep(t17, train.rmsprop(t17.optimizer.lr), false));
    const t18 = load('T18_mse_keras_v1_adam_torch_eps1e-7.json');
    expectStep(t18, oneStep(t18, train.adam(t18.optimizer.lr), false));
  });

  it('the forms are told apart by the data: T15 (pytorch, eps 1e-3) fails with the keras form', () => {
    const c = JSON.parse(fs.readFileSync(path.join(TRAIN_DIR, 'T15_mse_adam_torch_eps1e-3.json'), 'utf8')) as TrainCase;
    const wrong = optimizers.adam({ learningRate: c.optimizer.lr, epsilon: c.optimizer.eps, form: 'keras' });
    expect(() => expectStep(c, oneStep(c, wrong, false))).toThrow();
  });
});
