/**
 * Adagrad as Keras and tfjs compute it (they agree):
 * `accum += g²; p -= lr g / sqrt(accum + eps)`, the accumulator starting at
 * `initialAccumulatorValue`. (PyTorch's Adagrad starts at 0 and puts eps
 * outside the sqrt; it is not offered.)
 */
import { BASE_OPTIONS, Optimizer, withLearningRate, type BaseOptimizerArgs } from './optimizer.js';
import { checkKnownOptions, numberOption, optionsObject } from './options.js';

/** Options of `optimizers.adagrad` (Keras names and defaults). */
export interface AdagradArgs extends BaseOptimizerArgs {
  /** Default 0.001 (Keras; tfjs's `train.adagrad` requires one). */
  learningRate?: BaseOptimizerArgs['learningRate'];
  /** Starting value of the accumulator, >= 0, default 0.1. */
  initialAccumulatorValue?: number;
  /** >= 0, default 1e-7 (tfjs uses the backend's epsilon, 1e-7 on the CPU). */
  epsilon?: number;
}

/** Keras `Adagrad` and tfjs `AdagradOptimizer` (same class name, same formula). */
export class Adagrad extends Optimizer {
  get className(): string {
    return 'Adagrad';
  }
  readonly initialAccumulatorValue: number;
  readonly epsilon: number;

  constructor(args?: AdagradArgs, what = 'adagrad') {
    const a = optionsObject(args, what);
    checkKnownOptions(a, [...BASE_OPTIONS, 'initialAccumulatorValue', 'epsilon'], what);
    super(a, 0.001, what);
    this.initialAccumulatorValue = numberOption(a.initialAccumulatorValue, `${what}: initialAccumulatorValue`, 0.1, { min: 0 });
    this.epsilon = numberOption(a.epsilon, `${what}: epsilon`, 1e-7, { min: 0 });
  }

  /** tfjs's name: `accumulator`. */
  protected slotNames(): readonly string[] {
    return ['accumulator'];
  }

  protected override slotInitialValue(): number {
    return this.initialAccumulatorValue;
  }

  protected ownConfig(): Record<string, unknown> {
    return { initialAccumulatorValue: this.initialAccumulatorValue, epsilon: this.epsilon };
  }

  protected update(value: Float32Array, grad: Float32Array, slots: Float32Array[], lr: number): void {
    const acc = slots[0];
    const eps = this.epsilon;
    for (let i = 0; i < value.length; i++) {
      const g = grad[i];
      const a = acc[i] + g * g;
      acc[i] = a;
      value[i] -= (lr * g) / Math.sqrt(a + eps);
    }
  }

  /** Rebuilds an Adagrad from its config (or tfjs's, which lacks `epsilon`). */
  static fromConfig(config: Record<string, unknown>): Adagrad {
    return new Adagrad(withLearningRate(config) as AdagradArgs);
  }
}
