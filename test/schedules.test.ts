/** Learning-rate schedules against values worked out from Keras's formulas. */
import { describe, expect, it } from 'vitest';
import { optimizers } from '../lib/training/optimizers.js';
import {
  cosineDecay,
  deserializeSchedule,
  exponentialDecay,
  inverseTimeDecay,
  piecewiseConstantDecay,
  polynomialDecay,
  stepDecay,
  type LearningRateSchedule,
} from '../lib/training/schedules.js';

function expectAt(s: LearningRateSchedule, want: Array<[number, number]>): void {
  for (const [step, lr] of want) expect(s.at(step), `${s.className} at ${step}`).toBeCloseTo(lr, 12);
}

describe('schedules', () => {
  it('ExponentialDecay: lr0 rate^(step/D), floored with staircase', () => {
    expectAt(exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }), [
      [0, 0.1],
      [5, 0.1 * Math.SQRT1_2],
      [10, 0.05],
      [25, 0.1 * 0.5 ** 2.5],
    ]);
    expectAt(exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }), [
      [9, 0.1],
      [10, 0.05],
      [29, 0.025],
    ]);
  });

  it('InverseTimeDecay: lr0 / (1 + rate step / D)', () => {
    expectAt(inverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }), [
      [0, 0.1],
      [5, 0.08],
      [20, 0.05],
    ]);
    expectAt(inverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }), [
      [15, 0.1 / 1.5],
    ]);
  });

  it('CosineDecay (Keras 3): cosine to alpha, held after decaySteps', () => {
    expectAt(cosineDecay({ initialLearningRate: 1, decaySteps: 100 }), [
      [0, 1],
      [50, 0.5],
      [25, 0.5 * (1 + Math.SQRT1_2)],
      [100, 0],
      [1000, 0],
    ]);
    expectAt(cosineDecay({ initialLearningRate: 2, decaySteps: 100, alpha: 0.1 }), [
      [50, 2 * (0.9 * 0.5 + 0.1)],
      [200, 0.2],
    ]);
  });

  it('CosineDecay with warmup: linear from lr0 to the target, then cosine from the target', () => {
    expectAt(cosineDecay({ initialLearningRate: 0, decaySteps: 100, warmupTarget: 1, warmupSteps: 10 }), [
      [0, 0],
      [5, 0.5],
      [10, 1],
      [60, 0.5],
      [110, 0],
      [500, 0],
    ]);
    expectAt(cosineDecay({ initialLearningRate: 0.2, decaySteps: 10, warmupTarget: 1, warmupSteps: 4, alpha: 0.5 }), [
      [1, 0.4],
      [9, 1 * ((1 - 0.5) * 0.5 + 0.5)], // step 9 = 5 into the decay: half way from the target 1
      [14, 0.5],
    ]);
  });

  it('PiecewiseConstantDecay: values[i] while step <= boundaries[i]', () => {
    expectAt(piecewiseConstantDecay({ boundaries: [10, 20], values: [1, 0.5, 0.1] }), [
      [0, 1],
      [10, 1],
      [10.5, 0.5],
      [11, 0.5],
      [20, 0.5],
      [21, 0.1],
    ]);
  });

  it('PolynomialDecay: (lr0 - end)(1 - s/D)^power + end; cycle stretches D', () => {
    const p = { initialLearningRate: 0.1, decaySteps: 10, endLearningRate: 0.01, power: 2 };
    expectAt(polynomialDecay(p), [
      [0, 0.1],
      [5, 0.09 * 0.25 + 0.01],
      [10, 0.01],
      [15, 0.01],
    ]);
    expectAt(polynomialDecay({ ...p, cycle: true }), [
      [0, 0.1],
      [15, 0.09 * 0.25 ** 2 + 0.01], // D = 20: (1 - 15/20)^2
    ]);
    expectAt(polynomialDecay({ initialLearningRate: 1, decaySteps: 4 }), [[2, (1 - 0.0001) * 0.5 + 0.0001]]);
  });

  it('StepDecay: lr0 factor^floor(step / dropEvery)', () => {
    expectAt(stepDecay({ initialLearningRate: 0.1, dropEvery: 10, factor: 0.5 }), [
      [0, 0.1],
      [9, 0.1],
      [10, 0.05],
      [35, 0.0125],
    ]);
  });

  it('getConfig / deserializeSchedule round-trip, and Keras snake_case configs load', () => {
    const all: LearningRateSchedule[] = [
      exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5, staircase: true }),
      inverseTimeDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 }),
      cosineDecay({ initialLearningRate: 0.1, decaySteps: 10, alpha: 0.1, warmupTarget: 0.5, warmupSteps: 3 }),
      piecewiseConstantDecay({ boundaries: [3, 7], values: [1, 0.5, 0.2] }),
      polynomialDecay({ initialLearningRate: 0.1, decaySteps: 10, cycle: true }),
      stepDecay({ initialLearningRate: 0.1, dropEvery: 3 }),
    ];
    for (const s of all) {
      const back = deserializeSchedule(JSON.parse(JSON.stringify({ className: s.className, config: s.getConfig() })));
      expect(back.className).toBe(s.className);
      for (const step of [0, 2, 5, 11, 40]) expect(back.at(step)).toBe(s.at(step));
    }
    const keras = deserializeSchedule({
      className: 'ExponentialDecay',
      config: { initial_learning_rate: 0.01, decay_steps: 100, decay_rate: 0.96, staircase: false, name: 'ExponentialDecay' },
    });
    expect(keras.at(100)).toBeCloseTo(0.0096, 12);
    expect(() => deserializeSchedule({ className: 'CyclicLR', config: {} })).toThrow(/unknown className "CyclicLR"; the schedules are ExponentialDecay/);
  });

  it('bad options throw at construction, naming the option', () => {
    const bad: Array<[() => unknown, RegExp, ErrorConstructor]> = [
      [() => exponentialDecay({ initialLearningRate: 0.1, decaySteps: 0, decayRate: 0.5 }), /exponentialDecay: decaySteps must be a finite number > 0/, RangeError],
      [() => exponentialDecay({ initialLearningRate: -1, decaySteps: 1, decayRate: 0.5 }), /initialLearningRate/, RangeError],
      [() => exponentialDecay({ initialLearningRate: 0.1, decaySteps: 1 } as never), /exponentialDecay: decayRate is required/, TypeError],
      [() => exponentialDecay({ initialLearningRate: 0.1, decaySteps: 1, decayRate: 0.5, stairs: true } as never), /unknown option "stairs"/, TypeError],
      [() => cosineDecay({ initialLearningRate: 0.1, decaySteps: 10, alpha: 2 }), /cosineDecay: alpha/, RangeError],
      [() => piecewiseConstantDecay({ boundaries: [10, 5], values: [1, 2, 3] }), /strictly increasing/, RangeError],
      [() => piecewiseConstantDecay({ boundaries: [10], values: [1] }), /one more element than boundaries \(2\), got 1/, RangeError],
      [() => stepDecay({ initialLearningRate: 0.1, dropEvery: 2.5 }), /stepDecay: dropEvery must be an integer >= 1/, RangeError],
      [() => stepDecay({ initialLearningRate: 0.1, dropEvery: 2 }).at(-1), /step must be a finite number >= 0/, RangeError],
    ];
    for (const [make, message, type] of bad) {
      expect(make).toThrow(type);
      expect(make).toThrow(message);
    }
  });

  it('an optimizer reads its schedule at its iteration count (0 for the first update)', () => {
    const o = optimizers.sgd({ learningRate: piecewiseConstantDecay({ boundaries: [0, 1], values: [1, 0.1, 0.01] }) });
    const value = Float32Array.of(0);
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push(o.learningRate);
      o.applyGradients([{ name: 'w', value, grad: Float32Array.of(1) }]);
    }
    expect(seen).toEqual([1, 0.1, 0.01]);
    expect(value[0]).toBeCloseTo(-1.11, 6);
  });
});
