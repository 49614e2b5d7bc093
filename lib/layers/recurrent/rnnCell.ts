/**
 * The base class of a recurrent cell written in TypeScript, and the matrix
 * helpers such a cell calls. `layers.rnn({cell})` runs a cell over the
 * timesteps (masks, goBackwards, returnSequences/returnState, initialState,
 * stateful) and backpropagates through time; the cell only says what one
 * step does, forwards and backwards, for a whole batch.
 *
 * Everything is float32 in flat row-major arrays, as the kernels keep it:
 * x (B, I) is `x[b * I + i]`, a state (B, S) is `s[b * S + j]`, a weight
 * (rows, cols) is `w[r * cols + c]`.
 *
 * ```ts
 * class MinimalRNNCell extends RNNCell {
 *   readonly stateSize: number[];
 *   private w!: CellWeight; private u!: CellWeight;
 *   constructor(readonly units: number) { super(); this.stateSize = [units]; }
 *   build(inputSize: number) {
 *     this.w = this.addWeight('kernel', [inputSize, this.units]);
 *     this.u = this.addWeight('recurrent_kernel', [this.units, this.units], 'orthogonal');
 *   }
 *   step(x, [h], { batch }) {
 *     const y = matmul(x, this.w.value, batch, this.inputSize, this.units);
 *     matmulAccumulate(y, h, this.u.value, batch, this.units, this.units);
 *     for (let i = 0; i < y.length; i++) y[i] = Math.tanh(y[i]);
 *     return { output: y, states: [y], cache: { x, h, y } };
 *   }
 *   stepBackward(dy, [dh], { x, h, y }, { batch }) {
 *     const dz = dy.map((d, i) => (d + dh[i]) * (1 - y[i] * y[i]));
 *     matmulAccumulate(this.w.grad, x, dz, this.inputSize, batch, this.units, { transA: true });
 *     matmulAccumulate(this.u.grad, h, dz, this.units, batch, this.units, { transA: true });
 *     const dx = matmul(dz, this.w.value, batch, this.units, this.inputSize, { transB: true });
 *     const dhPrev = matmul(dz, this.u.value, batch, this.units, this.units, { transB: true });
 *     return { dx, dStates: [dhPrev] };
 *   }
 *   getConfig() { return { units: this.units }; }
 * }
 * ```
 */
import { backend } from '../../backend/index.js';
import { formatShape } from '../../errors.js';
import { float32Tensor, shapeSize, type Tensor } from '../../tensor.js';
import { requireFinite, requireInt, requireShape, requireTensor } from '../../validate.js';
import { checkInitializer, initialize, Random, type InitializerIdentifier } from '../initializers.js';
import { addPenaltyGradient, checkRegularizer, penalty, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';

/** One weight of a cell, made by {@link RNNCell.addWeight}. */
export interface CellWeight {
  /** The name it is saved under (`kernel`, `recurrent_kernel`, `bias`, ...). */
  readonly name: string;
  /** Its shape, e.g. `[I, 3 * H]`. */
  readonly shape: readonly number[];
  /**
   * The values, row-major. Read it in `step`; `setWeights` and training
   * overwrite it in place, so the array stays the same object.
   */
  readonly value: Float32Array;
  /**
   * The gradient dL/d(value), same layout: `stepBackward` ADDS each step's
   * contribution (the RNN zeroes it before backpropagating a sequence).
   */
  readonly grad: Float32Array;
  /** Penalty added to the loss and to the gradient, if any. */
  readonly regularizer: Regularizer | null;
}

/** What the RNN tells a cell about the step it runs. */
export interface CellStepContext {
  /** Rows in the batch, B. */
  batch: number;
  /** A training call: keep in `cache` what `stepBackward` needs (false: `cache` is dropped). */
  training: boolean;
  /** The step's index in the order the steps are computed (0 first; reversed input with goBackwards). */
  step: number;
}

/** What {@link RNNCell.step} returns. */
export interface CellStepResult<Cache = unknown> {
  /** The step's output (B, outputSize). */
  output: Float32Array;
  /** The new states, one (B, stateSize[k]) array per state, in `stateSize` order. */
  states: Float32Array[];
  /** Anything `stepBackward` needs (inputs, gate activations, ...); kept only while training. */
  cache?: Cache;
}

/** What {@link RNNCell.stepBackward} returns. */
export interface CellBackwardResult {
  /** dL/dx for the step, (B, inputSize). */
  dx: Float32Array;
  /** dL/d(the states the step read), one (B, stateSize[k]) array per state. */
  dStates: Float32Array[];
}

/** Options every cell takes. */
export interface RNNCellArgs {
  /** Seed of the initial weights (else drawn from the global seed, see `setSeed`). */
  seed?: number;
}

/**
 * A recurrent cell written in TypeScript: subclass it, give `stateSize`,
 * make the weights in `build` with {@link addWeight}, and write one step
 * forwards ({@link step}) and backwards ({@link stepBackward}) for a batch.
 * `layers.rnn({cell: new MyCell(...)})` then runs it over sequences, on
 * either backend (the loop is TypeScript; the cell's matmuls go to the
 * active backend through {@link matmul} / {@link matmulAccumulate}).
 *
 * Rules of the game:
 * - `step` and `stepBackward` must not modify the arrays they are given
 *   (x, states, dOutput, dStates, cache): return new arrays. They may keep
 *   references to their inputs in the cache.
 * - `states[0]` need not be the output (Keras requires it; this RNN tracks
 *   the output itself), but `outputSize` must say how wide the output is
 *   (default `stateSize[0]`).
 * - A cell belongs to one RNN layer, which owns its weights.
 * - To rebuild an RNN from `getConfig()`, override {@link getConfig} to
 *   return the constructor's argument and register the class with
 *   `registerCell('MyCell', MyCell)`: the RNN's config then names the cell
 *   `{className: 'MyCell', config}`.
 */
export abstract class RNNCell<Cache = unknown> {
  /** Size of each state, in order, e.g. `[units]` or `[units, units]`. */
  abstract readonly stateSize: number[];

  /** Features per step, I; set before `build` runs. */
  inputSize = 0;
  /** True once built (weights made). */
  built = false;
  /** Seed of the initial weights. */
  readonly seed: number | undefined;
  private readonly weightList: CellWeight[] = [];
  private random: Random | null = null;
  /** @internal The RNN layer that runs this cell. */
  owner: object | null = null;

  constructor(args: RNNCellArgs = {}) {
    if (args === null || typeof args !== 'object') throw new TypeError('RNNCell(args): args must be an object like {seed: 1}');
    if (args.seed !== undefined) requireInt(args.seed, 'seed', 0, 2 ** 32 - 1);
    this.seed = args.seed;
  }

  /** Width of the output, O (default `stateSize[0]`, as Keras). */
  get outputSize(): number {
    return this.stateSize[0];
  }

  /**
   * Makes the weights for inputs of `inputSize` features, with
   * {@link addWeight}. Called once, by the RNN, with `this.inputSize`
   * already set.
   */
  abstract build(inputSize: number): void;

  /**
   * One step for a batch: x (B, I) and the states (B, stateSize[k]) each →
   * the output (B, O), the new states and a cache for `stepBackward`.
   */
  abstract step(x: Float32Array, states: Float32Array[], ctx: CellStepContext): CellStepResult<Cache>;

  /**
   * One step backwards: from dL/d(output) (B, O) and dL/d(new states)
   * (B, stateSize[k]) each, and the step's cache, returns dL/dx (B, I) and
   * dL/d(previous states); ADDS the step's weight gradients to each
   * weight's `grad`. Steps run from the last to the first.
   */
  abstract stepBackward(dOutput: Float32Array, dStates: Float32Array[], cache: Cache, ctx: CellStepContext): CellBackwardResult;

  /**
   * The cell's configuration as plain JSON: by default `{}` plus the seed.
   * Override it to return what the constructor takes, so that
   * `new MyCell(cell.getConfig())` makes the same cell.
   */
  getConfig(): Record<string, unknown> {
    return this.seed === undefined ? {} : { seed: this.seed };
  }

  /**
   * Makes a weight (call it from {@link build}): `shape` e.g. `[I, H]`,
   * initialised by `initializer` (default `'glorotUniform'`; a matrix's
   * fan-in is its rows, fan-out its columns; a 1-D weight counts as one row)
   * from the cell's seed. `regularizer` adds its penalty to the loss and
   * its gradient to `grad`.
   */
  protected addWeight(name: string, shape: number[], initializer: InitializerIdentifier = 'glorotUniform', regularizer?: RegularizerIdentifier): CellWeight {
    const what = `${this.label()}.addWeight(${JSON.stringify(name)})`;
    if (typeof name !== 'string' || !/^[A-Za-z0-9][-A-Za-z0-9._/]*$/.test(name)) throw new TypeError(`${what}: a weight name is letters, digits, '_', '-', '.', '/'`);
    if (this.weightList.some((w) => w.name === name)) throw new TypeError(`${what}: the cell already has a weight named ${JSON.stringify(name)}`);
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new TypeError(`${what}: shape must be an array of positive integers, got ${JSON.stringify(shape)}`);
    }
    const config = checkInitializer(initializer, `${what} initializer`);
    const reg = checkRegularizer(regularizer, `${what} regularizer`);
    this.random ??= new Random(this.seed);
    const cols = shape[shape.length - 1];
    const rows = shapeSize(shape) / cols;
    const value = initialize(config, rows, cols, this.random, (args) => backend().sgemm(args));
    const weight: CellWeight = { name, shape: Object.freeze([...shape]), value, grad: new Float32Array(value.length), regularizer: reg };
    this.weightList.push(weight);
    return weight;
  }

  /** The weights in the order `addWeight` made them. */
  get weights(): readonly CellWeight[] {
    return this.weightList;
  }

  /** The weights' names, in `getWeights()` order. */
  weightNames(): string[] {
    return this.weightList.map((w) => w.name);
  }

  /** The weights as new tensors, in `addWeight` order. */
  getWeights(): Tensor<'float32'>[] {
    this.requireBuilt('getWeights');
    return this.weightList.map((w) => float32Tensor(w.value.slice(), w.shape));
  }

  /** Copies new values into the weights (same count, shapes and order as `getWeights()`; finite). */
  setWeights(weights: Tensor[]): void {
    this.requireBuilt('setWeights');
    const what = `${this.label()}.setWeights`;
    if (!Array.isArray(weights)) throw new TypeError(`${what}: expected an array of tensors`);
    if (weights.length !== this.weightList.length) {
      throw new RangeError(`${what}: expected ${this.weightList.length} tensors [${this.weightNames().join(', ')}], got ${weights.length}`);
    }
    const values = this.weightList.map((w, i) => {
      const t = requireTensor(weights[i], `${what} ${w.name}`);
      requireShape(t, w.shape, `${what} ${w.name}`);
      const v = t.view() as Float32Array;
      requireFinite(v, `${what} ${w.name}`);
      return v;
    });
    this.weightList.forEach((w, i) => w.value.set(values[i]));
  }

  /** Sets every weight's `grad` to 0 (the RNN does it before each backward). */
  zeroGradients(): void {
    for (const w of this.weightList) w.grad.fill(0);
  }

  /** The gradients from the last backward (regularizers' included), as new tensors in `getWeights()` order. */
  getGradients(): Tensor<'float32'>[] {
    return this.weightList.map((w) => {
      const g = w.grad.slice();
      if (w.regularizer) addPenaltyGradient(w.regularizer, w.value, g);
      return float32Tensor(g, w.shape);
    });
  }

  /** The regularizers' penalty on the current weights. */
  regularizationLoss(): number {
    return this.weightList.reduce((sum, w) => (w.regularizer ? sum + penalty(w.regularizer, w.value) : sum), 0);
  }

  /** @internal Builds once for `inputSize` features; a built cell must get the same size. */
  ensureBuilt(inputSize: number): void {
    if (this.built) {
      if (inputSize !== this.inputSize) throw new RangeError(`${this.label()} was built for ${this.inputSize} input features, got ${inputSize}`);
      return;
    }
    this.inputSize = inputSize;
    this.weightList.length = 0;
    this.build(inputSize);
    this.built = true;
  }

  /** The class name, for messages. */
  protected label(): string {
    return (this.constructor as { className?: string }).className ?? this.constructor.name;
  }

  private requireBuilt(what: string): void {
    if (!this.built) throw new Error(`${this.label()}: ${what} before the cell is built; apply the RNN (or build it) first`);
  }
}

/** Transposes for {@link matmul}: `transA` reads a stored (k, m) as its transpose, `transB` a stored (n, k). */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/**
 * c (m, n) = op(a) (m, k) @ op(b) (k, n), a new array, on the active
 * backend's sgemm (OpenBLAS on native). Without transposes a is stored
 * (m, k) and b (k, n); with `transA` a is stored (k, m), with `transB` b is
 * stored (n, k).
 */
export function matmul(a: Float32Array, b: Float32Array, m: number, k: number, n: number, options: MatmulOptions = {}): Float32Array {
  const c = new Float32Array(m * n);
  gemm(c, a, b, m, k, n, options, 0, 'matmul');
  return c;
}

/** c (m, n) += op(a) (m, k) @ op(b) (k, n), in place (see {@link matmul} for the layouts). */
export function matmulAccumulate(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, options: MatmulOptions = {}): void {
  gemm(c, a, b, m, k, n, options, 1, 'matmulAccumulate');
}

function gemm(c: Float32Array, a: Float32Array, b: Float32Array, m: number, k: number, n: number, options: MatmulOptions, beta: 0 | 1, what: string): void {
  for (const [v, name] of [[m, 'm'], [k, 'k'], [n, 'n']] as const) {
    if (!Number.isInteger(v) || v < 0) throw new TypeError(`${what}: ${name} must be a non-negative integer, got ${String(v)}`);
  }
  const transA = options.transA === true, transB = options.transB === true;
  for (const [arr, size, name, shape] of [
    [a, m * k, 'a', transA ? [k, m] : [m, k]],
    [b, k * n, 'b', transB ? [n, k] : [k, n]],
    [c, m * n, 'c', [m, n]],
  ] as const) {
    if (!(arr instanceof Float32Array)) throw new TypeError(`${what}: ${name} must be a Float32Array`);
    if (arr.length !== size) throw new RangeError(`${what}: ${name} must hold ${formatShape(shape)} = ${size} values, got ${arr.length}`);
  }
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (beta === 0) c.fill(0);
    return;
  }
  backend().sgemm({ transA, transB, m, n, k, alpha: 1, a, lda: transA ? m : k, b, ldb: transB ? k : n, beta, c, ldc: n });
}
