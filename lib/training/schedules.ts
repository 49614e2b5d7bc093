/**
 * Learning-rate schedules, as Keras's `keras.optimizers.schedules`: an
 * object that gives the learning rate for an optimizer step. The optimizer
 * evaluates it at its `iterations` (0 for the first update), as Keras does.
 * Options are Keras's in camelCase; every one is checked at construction.
 */
import { checkKnownOptions, normalizeName, numberOption, optionsObject } from './options.js';
import { optionalBool } from '../validate.js';

/** A learning rate as a function of the optimizer step. */
export abstract class LearningRateSchedule {
  /** Keras class name, e.g. `'ExponentialDecay'`. */
  abstract readonly className: string;

  /** The learning rate at `step` (the number of updates already applied, from 0). */
  at(step: number): number {
    if (typeof step !== 'number' || !Number.isFinite(step) || step < 0) {
      throw new RangeError(`${this.className}.at(): step must be a finite number >= 0, got ${step}`);
    }
    return this.compute(step);
  }

  protected abstract compute(step: number): number;

  /** The options as plain JSON; `deserializeSchedule({className, config})` gives the schedule back. */
  abstract getConfig(): Record<string, unknown>;
}

/** Options of {@link exponentialDecay}. */
export interface ExponentialDecayArgs {
  initialLearningRate: number;
  /** Steps over which the rate is multiplied by `decayRate` (> 0). */
  decaySteps: number;
  decayRate: number;
  /** Decay in whole multiples of `decaySteps` (default false). */
  staircase?: boolean;
}

/** `lr0 · decayRate^(step / decaySteps)` (exponent floored when `staircase`). */
export class ExponentialDecay extends LearningRateSchedule {
  readonly className = 'ExponentialDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;

  constructor(args: ExponentialDecayArgs) {
    super();
    const a = optionsObject(args, 'exponentialDecay');
    checkKnownOptions(a, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase'], 'exponentialDecay');
    this.initialLearningRate = numberOption(a.initialLearningRate, 'exponentialDecay: initialLearningRate', undefined, { min: 0 });
    this.decaySteps = numberOption(a.decaySteps, 'exponentialDecay: decaySteps', undefined, { min: 0, minOpen: true });
    this.decayRate = numberOption(a.decayRate, 'exponentialDecay: decayRate', undefined, { min: 0 });
    this.staircase = optionalBool(a.staircase, 'exponentialDecay: staircase', false);
  }

  protected compute(step: number): number {
    let p = step / this.decaySteps;
    if (this.staircase) p = Math.floor(p);
    return this.initialLearningRate * Math.pow(this.decayRate, p);
  }

  getConfig(): Record<string, unknown> {
    return { initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, decayRate: this.decayRate, staircase: this.staircase };
  }
}

/** Options of {@link inverseTimeDecay}. */
export interface InverseTimeDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  decayRate: number;
  staircase?: boolean;
}

/** `lr0 / (1 + decayRate · step / decaySteps)` (the ratio floored when `staircase`). */
export class InverseTimeDecay extends LearningRateSchedule {
  readonly className = 'InverseTimeDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly decayRate: number;
  readonly staircase: boolean;

  constructor(args: InverseTimeDecayArgs) {
    super();
    const a = optionsObject(args, 'inverseTimeDecay');
    checkKnownOptions(a, ['initialLearningRate', 'decaySteps', 'decayRate', 'staircase'], 'inverseTimeDecay');
    this.initialLearningRate = numberOption(a.initialLearningRate, 'inverseTimeDecay: initialLearningRate', undefined, { min: 0 });
    this.decaySteps = numberOption(a.decaySteps, 'inverseTimeDecay: decaySteps', undefined, { min: 0, minOpen: true });
    this.decayRate = numberOption(a.decayRate, 'inverseTimeDecay: decayRate', undefined, { min: 0 });
    this.staircase = optionalBool(a.staircase, 'inverseTimeDecay: staircase', false);
  }

  protected compute(step: number): number {
    let p = step / this.decaySteps;
    if (this.staircase) p = Math.floor(p);
    return this.initialLearningRate / (1 + this.decayRate * p);
  }

  getConfig(): Record<string, unknown> {
    return { initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, decayRate: this.decayRate, staircase: this.staircase };
  }
}

/** Options of {@link cosineDecay} (Keras 3). */
export interface CosineDecayArgs {
  initialLearningRate: number;
  /** Steps of the cosine part (after the warmup). */
  decaySteps: number;
  /** Floor of the decay as a fraction of the rate it decays from (default 0). */
  alpha?: number;
  /** With `warmupSteps`: rise linearly from `initialLearningRate` to this, then decay from it. */
  warmupTarget?: number | null;
  /** Steps of the linear warmup (default 0). */
  warmupSteps?: number;
}

/**
 * Keras 3 `CosineDecay`: without `warmupTarget`,
 * `lr0 · ((1 - alpha) · 0.5 (1 + cos(π min(step, D) / D)) + alpha)`;
 * with it, a linear rise `lr0 + (target - lr0) · step / W` for `step < W`,
 * then the same cosine from `target` over `step - W` (held at its end after W + D).
 */
export class CosineDecay extends LearningRateSchedule {
  readonly className = 'CosineDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly alpha: number;
  readonly warmupTarget: number | null;
  readonly warmupSteps: number;

  constructor(args: CosineDecayArgs) {
    super();
    const a = optionsObject(args, 'cosineDecay');
    checkKnownOptions(a, ['initialLearningRate', 'decaySteps', 'alpha', 'warmupTarget', 'warmupSteps'], 'cosineDecay');
    this.initialLearningRate = numberOption(a.initialLearningRate, 'cosineDecay: initialLearningRate', undefined, { min: 0 });
    this.decaySteps = numberOption(a.decaySteps, 'cosineDecay: decaySteps', undefined, { min: 0, minOpen: true });
    this.alpha = numberOption(a.alpha, 'cosineDecay: alpha', 0, { min: 0, max: 1 });
    this.warmupTarget = a.warmupTarget === undefined || a.warmupTarget === null ? null : numberOption(a.warmupTarget, 'cosineDecay: warmupTarget', undefined, { min: 0 });
    this.warmupSteps = numberOption(a.warmupSteps, 'cosineDecay: warmupSteps', 0, { min: 0 });
  }

  private decay(step: number, from: number): number {
    const cosine = 0.5 * (1 + Math.cos((Math.PI * step) / this.decaySteps));
    return from * ((1 - this.alpha) * cosine + this.alpha);
  }

  protected compute(step: number): number {
    if (this.warmupTarget === null) return this.decay(Math.min(step, this.decaySteps), this.initialLearningRate);
    const s = Math.min(step, this.decaySteps + this.warmupSteps);
    if (s < this.warmupSteps) return this.initialLearningRate + ((this.warmupTarget - this.initialLearningRate) * s) / this.warmupSteps;
    return this.decay(s - this.warmupSteps, this.warmupTarget);
  }

  getConfig(): Record<string, unknown> {
    return { initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, alpha: this.alpha, warmupTarget: this.warmupTarget, warmupSteps: this.warmupSteps };
  }
}

/** Options of {@link piecewiseConstantDecay}. */
export interface PiecewiseConstantDecayArgs {
  /** Increasing step boundaries. */
  boundaries: number[];
  /** One more value than boundaries. */
  values: number[];
}

/**
 * Keras `PiecewiseConstantDecay`: `values[0]` while `step <= boundaries[0]`,
 * `values[i]` while `boundaries[i-1] < step <= boundaries[i]`, the last value after.
 */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  readonly className = 'PiecewiseConstantDecay';
  readonly boundaries: readonly number[];
  readonly values: readonly number[];

  constructor(args: PiecewiseConstantDecayArgs) {
    super();
    const a = optionsObject(args, 'piecewiseConstantDecay');
    checkKnownOptions(a, ['boundaries', 'values'], 'piecewiseConstantDecay');
    if (!Array.isArray(a.boundaries)) throw new TypeError('piecewiseConstantDecay: boundaries must be an array of increasing numbers');
    if (!Array.isArray(a.values)) throw new TypeError('piecewiseConstantDecay: values must be an array of numbers');
    const boundaries = a.boundaries.map((b, i) => numberOption(b, `piecewiseConstantDecay: boundaries[${i}]`, undefined, { min: 0 }));
    const values = a.values.map((v, i) => numberOption(v, `piecewiseConstantDecay: values[${i}]`, undefined, { min: 0 }));
    for (let i = 1; i < boundaries.length; i++) {
      if (!(boundaries[i] > boundaries[i - 1])) throw new RangeError(`piecewiseConstantDecay: boundaries must be strictly increasing, got ${JSON.stringify(boundaries)}`);
    }
    if (values.length !== boundaries.length + 1) {
      throw new RangeError(`piecewiseConstantDecay: values must have one more element than boundaries (${boundaries.length + 1}), got ${values.length}`);
    }
    this.boundaries = Object.freeze(boundaries);
    this.values = Object.freeze(values);
  }

  protected compute(step: number): number {
    for (let i = 0; i < this.boundaries.length; i++) if (step <= this.boundaries[i]) return this.values[i];
    return this.values[this.values.length - 1];
  }

  getConfig(): Record<string, unknown> {
    return { boundaries: [...this.boundaries], values: [...this.values] };
  }
}

/** Options of {@link polynomialDecay}. */
export interface PolynomialDecayArgs {
  initialLearningRate: number;
  decaySteps: number;
  /** Default 0.0001 (Keras). */
  endLearningRate?: number;
  /** Default 1 (linear). */
  power?: number;
  /** Restart past `decaySteps`, with `decaySteps` stretched to the next multiple (default false). */
  cycle?: boolean;
}

/**
 * Keras `PolynomialDecay`: `(lr0 - end) · (1 - s / D)^power + end` with
 * `s = min(step, D)`, or with `cycle`, `D` grown to `decaySteps · ceil(step / decaySteps)`.
 */
export class PolynomialDecay extends LearningRateSchedule {
  readonly className = 'PolynomialDecay';
  readonly initialLearningRate: number;
  readonly decaySteps: number;
  readonly endLearningRate: number;
  readonly power: number;
  readonly cycle: boolean;

  constructor(args: PolynomialDecayArgs) {
    super();
    const a = optionsObject(args, 'polynomialDecay');
    checkKnownOptions(a, ['initialLearningRate', 'decaySteps', 'endLearningRate', 'power', 'cycle'], 'polynomialDecay');
    this.initialLearningRate = numberOption(a.initialLearningRate, 'polynomialDecay: initialLearningRate', undefined, { min: 0 });
    this.decaySteps = numberOption(a.decaySteps, 'polynomialDecay: decaySteps', undefined, { min: 0, minOpen: true });
    this.endLearningRate = numberOption(a.endLearningRate, 'polynomialDecay: endLearningRate', 0.0001, { min: 0 });
    this.power = numberOption(a.power, 'polynomialDecay: power', 1, { min: 0 });
    this.cycle = optionalBool(a.cycle, 'polynomialDecay: cycle', false);
  }

  protected compute(step: number): number {
    let d = this.decaySteps;
    let s = step;
    if (this.cycle) d *= step === 0 ? 1 : Math.ceil(step / this.decaySteps);
    else s = Math.min(step, d);
    return (this.initialLearningRate - this.endLearningRate) * Math.pow(1 - s / d, this.power) + this.endLearningRate;
  }

  getConfig(): Record<string, unknown> {
    return { initialLearningRate: this.initialLearningRate, decaySteps: this.decaySteps, endLearningRate: this.endLearningRate, power: this.power, cycle: this.cycle };
  }
}

/** Options of {@link stepDecay}. */
export interface StepDecayArgs {
  initialLearningRate: number;
  /** Optimizer steps between drops (a positive integer). */
  dropEvery: number;
  /** Multiplier at each drop (default 0.5). */
  factor?: number;
}

/**
 * The classic step decay, `lr0 · factor^floor(step / dropEvery)` (not a
 * Keras class: Keras writes it as a staircase ExponentialDecay).
 */
export class StepDecay extends LearningRateSchedule {
  readonly className = 'StepDecay';
  readonly initialLearningRate: number;
  readonly dropEvery: number;
  readonly factor: number;

  constructor(args: StepDecayArgs) {
    super();
    const a = optionsObject(args, 'stepDecay');
    checkKnownOptions(a, ['initialLearningRate', 'dropEvery', 'factor'], 'stepDecay');
    this.initialLearningRate = numberOption(a.initialLearningRate, 'stepDecay: initialLearningRate', undefined, { min: 0 });
    this.dropEvery = numberOption(a.dropEvery, 'stepDecay: dropEvery', undefined, { min: 1, integer: true });
    this.factor = numberOption(a.factor, 'stepDecay: factor', 0.5, { min: 0 });
  }

  protected compute(step: number): number {
    return this.initialLearningRate * Math.pow(this.factor, Math.floor(step / this.dropEvery));
  }

  getConfig(): Record<string, unknown> {
    return { initialLearningRate: this.initialLearningRate, dropEvery: this.dropEvery, factor: this.factor };
  }
}

/** Keras `ExponentialDecay`. */
export function exponentialDecay(args: ExponentialDecayArgs): ExponentialDecay {
  return new ExponentialDecay(args);
}
/** Keras `InverseTimeDecay`. */
export function inverseTimeDecay(args: InverseTimeDecayArgs): InverseTimeDecay {
  return new InverseTimeDecay(args);
}
/** Keras 3 `CosineDecay` (with optional linear warmup). */
export function cosineDecay(args: CosineDecayArgs): CosineDecay {
  return new CosineDecay(args);
}
/** Keras `PiecewiseConstantDecay`. */
export function piecewiseConstantDecay(args: PiecewiseConstantDecayArgs): PiecewiseConstantDecay {
  return new PiecewiseConstantDecay(args);
}
/** Keras `PolynomialDecay`. */
export function polynomialDecay(args: PolynomialDecayArgs): PolynomialDecay {
  return new PolynomialDecay(args);
}
/** Step decay: multiply by `factor` every `dropEvery` steps. */
export function stepDecay(args: StepDecayArgs): StepDecay {
  return new StepDecay(args);
}

// The configs are checked by the constructors themselves, hence the loose argument type.
const SCHEDULES: Record<string, new (args: never) => LearningRateSchedule> = {
  ExponentialDecay,
  InverseTimeDecay,
  CosineDecay,
  PiecewiseConstantDecay,
  PolynomialDecay,
  StepDecay,
};

function camelCase(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Makes a schedule from `{className, config}` as `getConfig()` writes it.
 * Keras's snake_case keys (`initial_learning_rate`) are read too, and
 * Keras's `name` is dropped, so a schedule from a Keras config loads.
 */
export function deserializeSchedule(serialized: { className: string; config: Record<string, unknown> }): LearningRateSchedule {
  if (serialized === null || typeof serialized !== 'object' || typeof serialized.className !== 'string') {
    throw new TypeError('deserializeSchedule: expected {className, config}');
  }
  const cls = Object.entries(SCHEDULES).find(([name]) => normalizeName(name) === normalizeName(serialized.className))?.[1];
  if (cls === undefined) {
    throw new TypeError(`deserializeSchedule: unknown className ${JSON.stringify(serialized.className)}; the schedules are ${Object.keys(SCHEDULES).join(', ')}`);
  }
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(serialized.config ?? {})) if (k !== 'name') config[camelCase(k)] = v;
  return new cls(config as never);
}

/** True for a schedule object (anything with `at(step)` and a `className`). */
export function isSchedule(value: unknown): value is LearningRateSchedule {
  return value instanceof LearningRateSchedule || (typeof value === 'object' && value !== null && typeof (value as LearningRateSchedule).at === 'function' && typeof (value as LearningRateSchedule).className === 'string');
}
