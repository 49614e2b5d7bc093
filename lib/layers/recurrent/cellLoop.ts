/**
 * @internal The timestep loop that runs a cell written in TypeScript
 * ({@link RNNCell}) over a batch of sequences, forwards and backwards
 * through time, with the options every recurrent layer has: masks or
 * lengths, goBackwards, returnSequences/returnState, initial states,
 * stateful. It plays, for a custom cell, the part a GRU/LSTM/SimpleRNN
 * layer plays for a built-in one inside an RNN. The loop is TypeScript on
 * both backends (the cell's own matmuls go to the active backend); it gives
 * the event loop a turn between steps on long sequences.
 *
 * Masks, as Keras: at a masked step every state is carried over and the
 * output repeats the last valid output (0 before the first). Lengths, as
 * PyTorch: the same, but outputs past a sequence's length are 0.
 */
import { EventLoopYielder } from '../../backend/js/yieldToEventLoop.js';
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool, requireFinite, requireShape, requireTensor } from '../../validate.js';
import type { Shape } from '../layer.js';
import type { Float32Tensor, RecurrentCallArgs } from './recurrentLayer.js';
import type { CellStepContext, RNNCell } from './rnnCell.js';
import { maskFromLengths, maskFromTensor, reverseSequence, reverseSteps, zeroEmptyRows, zeroSequence, type StepMask } from './stepMask.js';

export interface CellLoopOptions {
  name: string;
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  stateful: boolean;
  batchInputShape?: Shape | null;
}

interface Saved {
  B: number;
  T: number;
  steps: StepMask | null;
  caches: unknown[];
}

export class CellLoop {
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly stateful: boolean;
  readonly name: string;
  private readonly batchInputShape: Shape | null;
  private saved: Saved | null = null;
  private carried: Float32Array[] | null = null;
  private running = false;
  private hasGradients = false;

  constructor(
    readonly cell: RNNCell,
    options: CellLoopOptions,
  ) {
    this.name = options.name;
    this.returnSequences = options.returnSequences;
    this.returnState = options.returnState;
    this.goBackwards = options.goBackwards;
    this.stateful = options.stateful;
    this.batchInputShape = options.batchInputShape ?? null;
  }

  private get what(): string {
    return `RNN ${this.name} (${cellLabel(this.cell)})`;
  }

  get built(): boolean {
    return this.cell.built;
  }

  get stateSizes(): number[] {
    return this.cell.stateSize;
  }

  get outputSize(): number {
    return this.cell.outputSize;
  }

  /** Builds the cell for inputs of shape [batch, timesteps, features]. */
  build(inputShape: Shape): void {
    const I = inputShape[2];
    if (inputShape.length !== 3 || typeof I !== 'number' || I < 1) {
      throw new RangeError(`${this.what}: input shape must be [batch, timesteps, features] with the features known, got ${formatShape(inputShape)}`);
    }
    this.cell.ensureBuilt(I);
  }

  getWeights(): Float32Tensor[] {
    return this.cell.getWeights();
  }

  setWeights(weights: Tensor[]): void {
    this.cell.setWeights(weights);
    this.saved = null;
  }

  weightNames(): string[] {
    return this.cell.weightNames();
  }

  getGradients(): Float32Tensor[] {
    if (!this.hasGradients) throw new Error(`${this.what}: no gradients yet; call backward() after a training apply()`);
    return this.cell.getGradients();
  }

  regularizationLoss(): number {
    return this.cell.built ? this.cell.regularizationLoss() : 0;
  }

  /** stateful: forget the carried states (or start from `states`, one (B, S_k) tensor per state). */
  resetStates(states?: Tensor | Tensor[]): void {
    if (!this.stateful) throw new Error(`${this.what}: resetStates() is for stateful layers (stateful: true)`);
    if (states === undefined || states === null) {
      this.carried = null;
      return;
    }
    const list = Array.isArray(states) ? states : [states];
    const first = requireTensor(list[0], `${this.what} resetStates(states)[0]`);
    this.carried = this.initialStates(list, first.shape[0]).map((s) => s.slice());
  }

  /** Runs the cell over x (B, T, I); resolves as a recurrent layer's apply does. */
  async apply(input: Tensor, kwargs: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]> {
    const what = this.what;
    const x = requireTensor(input, `${what} input`);
    if (x.rank !== 3) throw new RangeError(`${what} input must have shape [batch, timesteps, features], got ${formatShape(x.shape)}`);
    const [B, T, I] = x.shape;
    if (B < 1 || T < 1 || I < 1) throw new RangeError(`${what} input needs at least one sequence, one timestep and one feature, got ${formatShape(x.shape)}`);
    if (this.batchInputShape) requireShape(x, this.batchInputShape, `${what} input (declared inputShape)`);
    if (this.cell.built) requireShape(x, [null, null, this.cell.inputSize], `${what} input (built for ${this.cell.inputSize} features)`);
    let xv = x.view() as Float32Array;
    requireFinite(xv, `${what} input`);
    const initial = kwargs.initialState as Tensor | Tensor[] | undefined;
    const states = this.stateful && initial == null && this.carried ? this.carriedStates(B) : this.initialStates(initial, B);
    if (kwargs.mask != null && kwargs.lengths != null) throw new TypeError(`${what}: give either mask or lengths, not both`);
    let steps = kwargs.mask != null ? maskFromTensor(kwargs.mask, B, T, what) : kwargs.lengths != null ? maskFromLengths(kwargs.lengths, B, T, what) : null;
    const training = optionalBool(kwargs.training, 'training', false);
    if (this.goBackwards) {
      xv = reverseSequence(xv, B, T, I, steps?.lengths ?? null);
      if (steps) steps = reverseSteps(steps, B, T);
    }
    this.cell.ensureBuilt(I);
    const run = () => this.forward(xv, states, steps, B, T, I, training);
    return training || this.stateful ? this.exclusively('a training or stateful apply', run) : run();
  }

  private async forward(xv: Float32Array, initial: Float32Array[], steps: StepMask | null, B: number, T: number, I: number, training: boolean): Promise<Float32Tensor | Float32Tensor[]> {
    const cell = this.cell;
    const O = cell.outputSize;
    const sizes = cell.stateSize;
    const outSeq = new Float32Array(B * T * O);
    const caches: unknown[] = [];
    const yielder = new EventLoopYielder();
    let states = initial;
    let prevOut: Float32Array = new Float32Array(B * O);
    for (let t = 0; t < T; t++) {
      if (t > 0) await yielder.maybeYield();
      const xt = new Float32Array(B * I);
      for (let b = 0; b < B; b++) xt.set(xv.subarray((b * T + t) * I, (b * T + t + 1) * I), b * I);
      const ctx: CellStepContext = { batch: B, training, step: t };
      const r = cell.step(xt, states, ctx);
      this.checkStep(r, B, O, sizes, t);
      let out = r.output;
      let next = r.states;
      if (steps) {
        // Masked rows: states carried, output repeated (new arrays: the
        // cell's may be in its cache).
        out = new Float32Array(B * O);
        next = sizes.map((S) => new Float32Array(B * S));
        for (let b = 0; b < B; b++) {
          const read = steps.read[b * T + t] === 1;
          out.set((read ? r.output : prevOut).subarray(b * O, (b + 1) * O), b * O);
          sizes.forEach((S, k) => next[k].set((read ? r.states[k] : states[k]).subarray(b * S, (b + 1) * S), b * S));
        }
      }
      for (let b = 0; b < B; b++) outSeq.set(out.subarray(b * O, (b + 1) * O), (b * T + t) * O);
      if (training) caches.push(r.cache);
      states = next;
      prevOut = out;
    }
    if (this.stateful) this.carried = states.map((s) => s.slice());
    this.saved = training ? { B, T, steps, caches } : null;
    const output = this.returnSequences
      ? float32Tensor(steps ? zeroSequence(outSeq, steps, O) : outSeq, [B, T, O])
      : float32Tensor(steps ? zeroEmptyRows(prevOut, steps, O) : prevOut.slice(), [B, O]);
    if (!this.returnState) return output;
    return [output, ...states.map((s, k) => float32Tensor(s.slice(), [B, sizes[k]]))];
  }

  /**
   * Backpropagates through the last training apply: `dOutput` dL/d(output)
   * (null: none), `dStates` dL/d(last states) (null entries: none).
   * Resolves to dL/dx (B, T, I) and dL/d(initial states); the weight
   * gradients are then the cell's.
   */
  async backward(dOutput: Tensor | null, dStates: Array<Tensor | null>): Promise<{ dx: Float32Tensor; dInitialState: Float32Tensor[] }> {
    return this.exclusively('backward', () => this.backwardNow(dOutput, dStates));
  }

  private async backwardNow(dOutput: Tensor | null, dStatesIn: Array<Tensor | null>): Promise<{ dx: Float32Tensor; dInitialState: Float32Tensor[] }> {
    const what = this.what;
    if (!this.saved) throw new Error(`${what}: backward needs a preceding apply(x, {training: true})`);
    const { B, T, steps, caches } = this.saved;
    const cell = this.cell;
    const I = cell.inputSize, O = cell.outputSize, sizes = cell.stateSize;
    if (dStatesIn.length > sizes.length) throw new RangeError(`${what}: backward takes at most ${sizes.length} state gradient(s), got ${dStatesIn.length}`);
    let dSeq: Float32Array | null = null;
    let carry: Float32Array = new Float32Array(B * O);
    if (dOutput !== null && dOutput !== undefined) {
      const d = requireTensor(dOutput, `${what} dOutput`);
      requireShape(d, this.returnSequences ? [B, T, O] : [B, O], `${what} dOutput`);
      const dv = d.view() as Float32Array;
      requireFinite(dv, `${what} dOutput`);
      // Outputs that are constant zeros pass no gradient.
      if (this.returnSequences) dSeq = steps ? zeroSequence(dv, steps, O) : dv;
      else carry = steps ? zeroEmptyRows(dv, steps, O) : dv.slice();
    }
    let dS: Float32Array[] = sizes.map((S, k): Float32Array => {
      const ds = dStatesIn[k];
      if (ds === null || ds === undefined) return new Float32Array(B * S);
      const name = `${what} dStates[${k}]`;
      const t = requireTensor(ds, name);
      requireShape(t, [B, S], name);
      const v = t.view() as Float32Array;
      requireFinite(v, name);
      return v.slice();
    });
    cell.zeroGradients();
    const dx = new Float32Array(B * T * I);
    const yielder = new EventLoopYielder();
    for (let t = T - 1; t >= 0; t--) {
      if (t < T - 1) await yielder.maybeYield();
      const g = carry;
      if (dSeq) for (let b = 0; b < B; b++) for (let o = 0; o < O; o++) g[b * O + o] += dSeq[(b * T + t) * O + o];
      let dOut = g;
      let dIn = dS;
      let passOut: Float32Array | null = null;
      let passStates: Float32Array[] | null = null;
      if (steps) {
        // A masked row: its output was the previous output and its states
        // the previous states, so their gradients go straight through.
        dOut = new Float32Array(B * O);
        passOut = new Float32Array(B * O);
        dIn = sizes.map((S) => new Float32Array(B * S));
        passStates = sizes.map((S) => new Float32Array(B * S));
        for (let b = 0; b < B; b++) {
          const read = steps.read[b * T + t] === 1;
          (read ? dOut : passOut).set(g.subarray(b * O, (b + 1) * O), b * O);
          sizes.forEach((S, k) => ((read ? dIn : passStates) as Float32Array[])[k].set(dS[k].subarray(b * S, (b + 1) * S), b * S));
        }
      }
      const ctx: CellStepContext = { batch: B, training: true, step: t };
      const r = cell.stepBackward(dOut, dIn, caches[t], ctx);
      this.checkBackward(r, B, I, sizes, t);
      for (let b = 0; b < B; b++) dx.set(r.dx.subarray(b * I, (b + 1) * I), (b * T + t) * I);
      if (passStates) {
        const through = passStates;
        dS = r.dStates.map((d, k) => {
          const sum = d.slice();
          for (let i = 0; i < sum.length; i++) sum[i] += through[k][i];
          return sum;
        });
      } else {
        dS = r.dStates;
      }
      carry = passOut ?? new Float32Array(B * O);
    }
    this.hasGradients = true;
    const dxOut = this.goBackwards ? reverseSequence(dx, B, T, I, steps?.lengths ?? null) : dx;
    return { dx: float32Tensor(dxOut, [B, T, I]), dInitialState: dS.map((d, k) => float32Tensor(d, [B, sizes[k]])) };
  }

  private checkStep(r: unknown, B: number, O: number, sizes: number[], t: number): void {
    const who = `${cellLabel(this.cell)}.step (step ${t})`;
    if (r === null || typeof r !== 'object') throw new TypeError(`${who} must return {output, states, cache}, got ${r === null ? 'null' : typeof r}`);
    const { output, states } = r as { output: unknown; states: unknown };
    checkArray(output, B * O, `${who}: output`, `(batch ${B}, outputSize ${O})`);
    if (!Array.isArray(states) || states.length !== sizes.length) {
      throw new TypeError(`${who}: states must be an array of ${sizes.length} Float32Array(s) (stateSize ${JSON.stringify(sizes)}), got ${Array.isArray(states) ? `${states.length}` : typeof states}`);
    }
    sizes.forEach((S, k) => checkArray(states[k], B * S, `${who}: states[${k}]`, `(batch ${B}, stateSize[${k}] ${S})`));
  }

  private checkBackward(r: unknown, B: number, I: number, sizes: number[], t: number): void {
    const who = `${cellLabel(this.cell)}.stepBackward (step ${t})`;
    if (r === null || typeof r !== 'object') throw new TypeError(`${who} must return {dx, dStates}, got ${r === null ? 'null' : typeof r}`);
    const { dx, dStates } = r as { dx: unknown; dStates: unknown };
    checkArray(dx, B * I, `${who}: dx`, `(batch ${B}, inputSize ${I})`);
    if (!Array.isArray(dStates) || dStates.length !== sizes.length) {
      throw new TypeError(`${who}: dStates must be an array of ${sizes.length} Float32Array(s), got ${Array.isArray(dStates) ? `${dStates.length}` : typeof dStates}`);
    }
    sizes.forEach((S, k) => checkArray(dStates[k], B * S, `${who}: dStates[${k}]`, `(batch ${B}, stateSize[${k}] ${S})`));
  }

  private async exclusively<R>(what: string, fn: () => Promise<R>): Promise<R> {
    if (this.running) throw new Error(`${this.what}: ${what} started while a previous training or stateful call or backward is still running; await it first`);
    this.running = true;
    try {
      return await fn();
    } finally {
      this.running = false;
    }
  }

  private carriedStates(B: number): Float32Array[] {
    const carried = this.carried as Float32Array[];
    const had = carried[0].length / this.cell.stateSize[0];
    if (had !== B) {
      throw new RangeError(`${this.what} is stateful and carries states for a batch of ${had}, got a batch of ${B}; keep the batch size or call resetStates()`);
    }
    return carried;
  }

  private initialStates(state: Tensor | Tensor[] | undefined, B: number): Float32Array[] {
    const sizes = this.cell.stateSize;
    const what = this.what;
    if (state === undefined || state === null) return sizes.map((S) => new Float32Array(B * S));
    const list = Array.isArray(state) ? state : [state];
    if (list.length !== sizes.length) {
      throw new RangeError(`${what}: initialState must hold ${sizes.length} tensor(s), of shapes ${sizes.map((S) => `[batch, ${S}]`).join(', ')} (stateSize ${JSON.stringify(sizes)}), got ${list.length}`);
    }
    return list.map((s, k) => {
      const t = requireTensor(s, `${what} initialState[${k}]`);
      requireShape(t, [B, sizes[k]], `${what} initialState[${k}]`);
      const v = t.view() as Float32Array;
      requireFinite(v, `${what} initialState[${k}]`);
      return v;
    });
  }
}

function checkArray(v: unknown, length: number, name: string, shape: string): void {
  if (!(v instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array ${shape}, got ${v === null ? 'null' : typeof v === 'object' ? (v as object).constructor?.name : typeof v}`);
  if (v.length !== length) throw new RangeError(`${name} must hold ${length} values ${shape}, got ${v.length}`);
}

/** The class name of a cell, for messages. */
export function cellLabel(cell: RNNCell): string {
  return (cell.constructor as { className?: string }).className ?? cell.constructor.name;
}
