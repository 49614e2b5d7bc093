/**
 * The RNN layer (Keras `RNN`, tfjs `layers.rnn`): runs a cell, or a stack
 * of cells, over sequences.
 *
 * - A built-in cell (`layers.gruCell`, `lstmCell`, `simpleRNNCell`) runs on
 *   the same engine as `layers.gru` & co: the RNN makes a GRU/LSTM/SimpleRNN
 *   layer from the cell's options and its own (returnSequences, returnState,
 *   goBackwards, stateful), so masks, lengths, initialState, dropout,
 *   stateful and both backends behave exactly as in those layers.
 * - A cell written in TypeScript (a subclass of {@link RNNCell}) runs in a
 *   TypeScript timestep loop with the same options.
 * - Several cells (an array, or `layers.stackedRNNCells({cells})`) run as
 *   one layer per cell, each reading the sequence the one before wrote:
 *   exactly a stack of recurrent layers with returnSequences on all but the
 *   last, the mask passed along. States are every cell's, in cell order
 *   (`initialState` and, with returnState, `[output, ...states]`).
 *
 * Weights are the cells' in cell order, named as tfjs names them: one cell
 * `kernel`, `recurrent_kernel`, `bias` (saved as `rnn/kernel`, ...);
 * stacked cells `RNNCell_0/kernel`, ..., `RNNCell_1/kernel`, ... (saved as
 * `rnn/RNNCell_0/kernel`, ...).
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool, requireShape, requireTensor } from '../../validate.js';
import { checkKnownOptions, Layer, LAYER_OPTIONS, type LayerArgs, type NodeContext, type Shape } from '../layer.js';
import { isSymbolic, SymbolicTensor } from '../symbolic.js';
import { symbolicRecurrentInputs } from './symbolicInputs.js';
import { CellLoop } from './cellLoop.js';
import { serializeCell, StackedRNNCells, stateSizes, toCell, type Cell, type SerializedCell } from './cells.js';
import { GRU } from './gru.js';
import { LSTM } from './lstm.js';
import type { Float32Tensor, RecurrentCallArgs } from './recurrentLayer.js';
import { RNNCell } from './rnnCell.js';
import { SimpleRNN } from './simpleRnn.js';
import { maskFromTensor } from './stepMask.js';

/** Options of {@link RNN} (tfjs `RNNLayerArgs`). */
export interface RNNLayerArgs extends LayerArgs {
  /**
   * The cell: `layers.gruCell({...})`, `layers.lstmCell`, `layers.simpleRNNCell`,
   * an instance of a class that extends {@link RNNCell}, an array of cells or
   * `layers.stackedRNNCells({cells})` (stacked), or a cell's `{className, config}`.
   */
  cell: Cell | Array<Cell | SerializedCell> | SerializedCell;
  /** Return the whole sequence (B, T, O) instead of the last output (B, O). */
  returnSequences?: boolean;
  /** Also return the last states: `apply` resolves to `[output, ...states]` (every cell's, in cell order). */
  returnState?: boolean;
  /** Read each sequence from its end (Keras; as `layers.gru`). */
  goBackwards?: boolean;
  /** Carry the last states over to the next call (Keras; as `layers.gru`). `resetStates()` starts afresh. */
  stateful?: boolean;
  /** Accepted for tfjs/Keras compatibility and ignored (the loop is never unrolled). */
  unroll?: boolean;
}

/** Gradients from {@link RNN.backward}. */
export interface RNNBackwardResult {
  /** dL/dx, shape (B, T, I). */
  dx: Tensor<'float32'>;
  /** dL/d(initial states), one per state (every cell's, in cell order). */
  dInitialState: Tensor<'float32'>[];
}

/** What runs one cell: a recurrent layer for a built-in cell, the TypeScript loop for a custom one. */
type Inner = GRU | LSTM | SimpleRNN | CellLoop;

const RNN_OPTIONS = ['cell', 'returnSequences', 'returnState', 'goBackwards', 'stateful', 'unroll'];

export class RNN extends Layer {
  /** Keras class name. */
  static readonly className = 'RNN';
  /** The cell (a StackedRNNCells when given several). */
  readonly cell: Cell;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly stateful: boolean;
  readonly unroll: boolean;
  /** One runner per cell, first to last. */
  private readonly inner: Inner[];
  /** The state sizes of each cell. */
  private readonly sizes: number[][];
  /** The output size of each cell. */
  private readonly outSizes: number[];
  private trained = false;
  private running = false;
  /** Initial states given to the last training forwardNode. */
  private nodeStateCount = 0;

  constructor(args: RNNLayerArgs) {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new TypeError('layers.rnn(args): args must be an object like {cell: layers.gruCell({units: 8})}');
    checkKnownOptions(args, [...LAYER_OPTIONS, ...RNN_OPTIONS], 'RNN');
    if (args.cell === undefined || args.cell === null) throw new TypeError('layers.rnn: the cell option is missing, e.g. {cell: layers.gruCell({units: 8})}');
    const cell = toCell(args.cell, 'layers.rnn: cell');
    const { cell: _cell, returnSequences: _rs, returnState: _rst, goBackwards: _gb, stateful: _st, unroll: _u, weights, ...layerArgs } = args;
    super(layerArgs, 'rnn');
    this.cell = cell;
    this.returnSequences = optionalBool(args.returnSequences, 'returnSequences', false);
    this.returnState = optionalBool(args.returnState, 'returnState', false);
    this.goBackwards = optionalBool(args.goBackwards, 'goBackwards', false);
    this.stateful = optionalBool(args.stateful, 'stateful', false);
    this.unroll = optionalBool(args.unroll, 'unroll', false);
    if (this.batchInputShape && this.batchInputShape.length !== 3) {
      throw new RangeError(`an RNN takes inputs of shape [batch, timesteps, features]: inputShape must be [timesteps|null, features], got ${formatShape(this.batchInputShape.slice(1))}`);
    }
    const cells = cell instanceof StackedRNNCells ? cell.cells : [cell];
    const custom = cells.filter((c): c is RNNCell => c instanceof RNNCell);
    custom.forEach((c, i) => {
      checkCustomCell(c);
      if (custom.indexOf(c) !== i) throw new TypeError(`layers.rnn: the same ${c.constructor.name} instance appears twice in the stack; a cell holds its weights, so give each position its own cell`);
      if (c.owner !== null) throw new TypeError(`layers.rnn: this ${c.constructor.name} already belongs to another RNN layer; a cell holds its weights, so give each RNN its own cell`);
    });
    const n = cells.length;
    this.inner = cells.map((c, i) => {
      const options = {
        name: n === 1 ? this.name : `${this.name}/RNNCell_${i}`,
        returnSequences: i < n - 1 || this.returnSequences,
        returnState: this.returnState,
        // The first layer reads the input reversed; the ones after read its
        // output, already in the order it was computed.
        goBackwards: i === 0 && this.goBackwards,
        stateful: this.stateful,
        ...(i === 0 && this.batchInputShape ? { batchInputShape: [...this.batchInputShape] } : {}),
      };
      return c instanceof RNNCell ? new CellLoop(c, options) : c.makeLayer(options);
    });
    for (const c of custom) c.owner = this;
    this.sizes = cells.map((c) => stateSizes(c));
    this.outSizes = cells.map((c) => (c instanceof RNNCell ? c.outputSize : c.units));
    if (weights !== undefined) this.setWeights(weights);
  }

  /** The cells, first to last. */
  get cells(): Cell[] {
    return this.cell instanceof StackedRNNCells ? [...this.cell.cells] : [this.cell];
  }

  /** Every cell's state sizes, in cell order. */
  get stateSize(): number[] {
    return this.sizes.flat();
  }

  private get what(): string {
    return `RNN ${this.name}`;
  }

  /** Builds every cell's weights for inputs of shape [batch, timesteps, features]. */
  build(inputShape: Shape): void {
    if (!Array.isArray(inputShape) || inputShape.length !== 3) {
      throw new RangeError(`${this.what}: input shape must be [batch, timesteps, features], got ${Array.isArray(inputShape) ? formatShape(inputShape) : String(inputShape)}`);
    }
    let shape: Shape = inputShape;
    this.inner.forEach((layer, k) => {
      if (!layer.built) layer.build(shape);
      shape = [shape[0], shape[1], this.outSizes[k]];
    });
    this.built = true;
  }

  computeOutputShape(inputShape: Shape): Shape | Shape[] {
    const [B, T] = inputShape;
    const O = this.outSizes[this.outSizes.length - 1];
    const out: Shape = this.returnSequences ? [B, T, O] : [B, O];
    return this.returnState ? [out, ...this.stateSize.map((S): Shape => [B, S])] : out;
  }

  protected override nodeInputShape(shapes: Shape[]): Shape {
    return shapes[0];
  }

  /** Every cell's weights, in cell order (each cell's in its layer's order). */
  getWeights(): Float32Tensor[] {
    if (!this.built) throw new Error(`${this.what}: getWeights before the layer is built; call build(inputShape), setWeights() or apply() first`);
    return this.inner.flatMap((l) => l.getWeights());
  }

  /**
   * Sets every cell's weights, in cell order. Built-in cells' weights build
   * the layer from their shapes; a custom first cell needs the layer built
   * first (build(inputShape) or apply()). All or nothing.
   */
  setWeights(weights: Tensor[]): void {
    if (!Array.isArray(weights)) throw new TypeError(`${this.what}: setWeights expects an array of tensors`);
    // Custom cells after the first know their input size: build them.
    this.inner.forEach((layer, k) => {
      if (layer instanceof CellLoop && !layer.built) {
        if (k === 0) throw new Error(`${this.what}: setWeights before the layer is built, with a cell written in TypeScript first; call build([null, null, features]) or apply() first`);
        layer.cell.ensureBuilt(this.outSizes[k - 1]);
      }
    });
    const counts = this.inner.map((l) => (l instanceof CellLoop ? l.cell.weights.length : l.useBias ? 3 : 2));
    const total = counts.reduce((a, b) => a + b, 0);
    if (weights.length !== total) {
      const names = this.weightNames();
      throw new RangeError(`${this.what}: setWeights expects ${total} tensors [${names.join(', ')}], got ${weights.length}`);
    }
    const before = this.inner.map((l) => (l.built ? l.getWeights() : null));
    let start = 0;
    const done: number[] = [];
    try {
      this.inner.forEach((layer, k) => {
        const chunk = weights.slice(start, start + counts[k]);
        start += counts[k];
        if (k > 0 && !layer.built) {
          // A built-in layer builds from its kernel: it must read the
          // previous cell's output.
          const kernel = requireTensor(chunk[0], `${this.what} RNNCell_${k} kernel`);
          if (kernel.rank !== 2 || kernel.shape[0] !== this.outSizes[k - 1]) {
            throw new RangeError(`${this.what}: the kernel of cell ${k} must have ${this.outSizes[k - 1]} rows (the output size of cell ${k - 1}), got ${formatShape(kernel.shape)}`);
          }
        }
        layer.setWeights(chunk);
        done.push(k);
      });
    } catch (e) {
      for (const k of done) {
        const b = before[k];
        if (b) this.inner[k].setWeights(b);
      }
      throw e;
    }
    this.built = this.inner.every((l) => l.built);
  }

  override weightNames(): string[] {
    if (this.inner.length === 1) return this.inner[0].weightNames();
    return this.inner.flatMap((l, k) => l.weightNames().map((n) => `RNNCell_${k}/${n}`));
  }

  /** Gradients of the weights from the last backward, in getWeights order. */
  override getGradients(): Float32Tensor[] {
    if (!this.trained) throw new Error(`${this.what}: no gradients yet; call backward() after a training apply()`);
    return this.inner.flatMap((l) => l.getGradients());
  }

  override regularizationLoss(): number {
    return this.inner.reduce((sum, l) => sum + l.regularizationLoss(), 0);
  }

  /**
   * stateful: forget the carried states, so the next call starts from zeros,
   * or from `states` (every cell's states, in cell order) when given.
   */
  resetStates(states?: Tensor | Tensor[]): void {
    if (!this.stateful) throw new Error(`${this.what}: resetStates() is for stateful layers (stateful: true)`);
    if (states === undefined || states === null) {
      for (const l of this.inner) l.resetStates();
      return;
    }
    const chunks = this.splitStates(Array.isArray(states) ? states : [states], requireTensor(Array.isArray(states) ? states[0] : states, `${this.what} resetStates(states)[0]`).shape[0]);
    this.inner.forEach((l, k) => l.resetStates(chunks[k]));
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      returnSequences: this.returnSequences,
      returnState: this.returnState,
      goBackwards: this.goBackwards,
      stateful: this.stateful,
      unroll: this.unroll,
      cell: serializeCell(this.cell),
    };
  }

  /** With returnSequences the input's mask goes on with the sequence; a last output or a state has none. */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs;
    const out: Array<Tensor | null> = [this.returnSequences ? (masks[0] ?? null) : null];
    if (this.returnState) for (const _ of this.stateSize) out.push(null);
    return out;
  }

  /**
   * Runs the cell(s) over x (B, T, I). Resolves to the output ((B, T, O)
   * with returnSequences, else (B, O)), or `[output, ...lastStates]` with
   * returnState. `initialState`: every cell's states, in cell order. Masks,
   * lengths, training: as `layers.gru`. Applied to a SymbolicTensor
   * (functional API) it returns the symbolic output(s).
   */
  override apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: RecurrentCallArgs): SymbolicTensor | SymbolicTensor[];
  override apply(inputs: Tensor | Tensor[], kwargs?: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]>;
  override apply(inputs: Tensor | Tensor[] | SymbolicTensor | SymbolicTensor[], kwargs: RecurrentCallArgs = {}): SymbolicTensor | SymbolicTensor[] | Promise<Float32Tensor | Float32Tensor[]> {
    if (isSymbolic(inputs)) return this.applySymbolic(symbolicRecurrentInputs(inputs, kwargs, this.stateSize, this.what));
    return this.applyTensor(inputs as Tensor | Tensor[], kwargs);
  }

  private async applyTensor(inputs: Tensor | Tensor[], kwargs: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]> {
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new TypeError(`${this.what}: the second argument must be an object like {initialState, mask, training}`);
    }
    // [x, ...initialStates], as Keras's RNN also accepts.
    if (Array.isArray(inputs)) {
      if (kwargs.initialState != null) throw new TypeError(`${this.what}: give the initial states either in the input list or as initialState, not both`);
      kwargs = { ...kwargs, initialState: inputs.length > 1 ? (inputs.slice(1) as Tensor[]) : undefined };
      inputs = inputs[0];
    }
    const x = requireTensor(inputs, `${this.what} input`);
    if (x.rank !== 3) throw new RangeError(`${this.what} input must have shape [batch, timesteps, features], got ${formatShape(x.shape)}`);
    const given = kwargs.initialState;
    if (given != null && (Array.isArray(given) ? given : [given]).some((t) => t instanceof SymbolicTensor)) {
      throw new TypeError(`${this.what}: initialState is symbolic but the input is a tensor; apply the layer to symbolic inputs in a functional model`);
    }
    const states = given == null ? null : this.splitStates(Array.isArray(given) ? (given as Tensor[]) : [given as Tensor], x.shape[0]);
    this.ensureBuilt([...x.shape]);
    const training = optionalBool(kwargs.training, 'training', false);
    const run = () => this.run(x, states, { ...kwargs, training });
    return training || this.stateful ? this.exclusively('a training or stateful apply', run) : run();
  }

  private async run(x: Tensor, states: Tensor[][] | null, kwargs: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]> {
    const { mask, lengths, training } = kwargs;
    const n = this.inner.length;
    if (n === 1) {
      const out = await this.inner[0].apply(x, { training, mask, lengths, initialState: states?.[0] });
      this.trained = this.trained || training === true;
      return out;
    }
    // The layers after the first read the first one's output, in the order
    // it was computed: with goBackwards a mask is reversed with it (lengths
    // stay: only the valid part was reversed).
    let laterMask = mask;
    if (mask != null && this.goBackwards) {
      const [B, T] = x.shape;
      const read = maskFromTensor(mask, B, T, this.what).read;
      const reversed = new Float32Array(B * T);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) reversed[b * T + t] = read[b * T + T - 1 - t];
      laterMask = float32Tensor(reversed, [B, T]);
    }
    let input: Tensor = x;
    const lastStates: Float32Tensor[] = [];
    let output: Float32Tensor = x as Float32Tensor;
    for (let k = 0; k < n; k++) {
      const out = await this.inner[k].apply(input, { training, mask: k === 0 ? mask : laterMask, lengths, initialState: states?.[k] });
      const list = Array.isArray(out) ? out : [out];
      output = list[0];
      lastStates.push(...list.slice(1));
      input = output;
    }
    this.trained = this.trained || training === true;
    return this.returnState ? [output, ...lastStates] : output;
  }

  /**
   * Backpropagates through the last training call: `dOutput` is dL/d(output)
   * (null for none), `dStates` dL/d(each returned state), every cell's in
   * cell order (null or missing: none). Resolves to dL/dx and dL/d(initial
   * states); the weight gradients are then in {@link getGradients}.
   */
  async backward(dOutput: Tensor | null, ...dStates: Array<Tensor | null>): Promise<RNNBackwardResult> {
    return this.exclusively('backward', () => this.backwardNow(dOutput, dStates));
  }

  private async backwardNow(dOutput: Tensor | null, dStates: Array<Tensor | null>): Promise<RNNBackwardResult> {
    const total = this.stateSize.length;
    if (dStates.length > total) throw new RangeError(`${this.what}: backward takes at most ${total} state gradient(s) (stateSize ${JSON.stringify(this.stateSize)}), got ${dStates.length}`);
    let start = 0;
    const chunks = this.sizes.map((s) => {
      const c = s.map((_, i) => dStates[start + i] ?? null);
      start += s.length;
      return c;
    });
    const dInitial: Float32Tensor[][] = [];
    let d: Tensor | null = dOutput;
    for (let k = this.inner.length - 1; k >= 0; k--) {
      const r = await innerBackward(this.inner[k], d, chunks[k]);
      dInitial[k] = r.dInitialState;
      d = r.dx;
    }
    return { dx: d as Float32Tensor, dInitialState: dInitial.flat() };
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const [x, ...states] = inputs;
    if (ctx.training) this.nodeStateCount = states.length;
    const out = await this.applyTensor(x, { training: ctx.training, mask: ctx.masks[0] ?? undefined, initialState: states.length > 0 ? states : undefined });
    return Array.isArray(out) ? out : [out];
  }

  /** @internal */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    const r = await this.backward(dOutputs[0] ?? null, ...dOutputs.slice(1).map((d) => d ?? null));
    return [r.dx, ...r.dInitialState.slice(0, this.nodeStateCount)];
  }

  /** The given states checked against the cells' state sizes, split per cell. */
  private splitStates(list: Tensor[], B: number): Tensor[][] {
    const sizes = this.stateSize;
    if (list.length !== sizes.length) {
      const shapes = sizes.map((S) => `[batch, ${S}]`).join(', ');
      throw new RangeError(`${this.what}: initialState must hold ${sizes.length} tensor(s) of shapes ${shapes} (every cell's states, in cell order; stateSize ${JSON.stringify(sizes)}), got ${list.length}`);
    }
    list.forEach((s, i) => {
      const t = requireTensor(s, `${this.what} initialState[${i}]`);
      requireShape(t, [B, sizes[i]], `${this.what} initialState[${i}] (stateSize[${i}] = ${sizes[i]})`);
    });
    let start = 0;
    return this.sizes.map((s) => {
      const chunk = list.slice(start, start + s.length);
      start += s.length;
      return chunk;
    });
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
}

/** One runner's backward, whatever its signature. */
async function innerBackward(layer: Inner, d: Tensor | null, ds: Array<Tensor | null>): Promise<{ dx: Float32Tensor; dInitialState: Float32Tensor[] }> {
  if (layer instanceof CellLoop) return layer.backward(d, ds);
  if (layer instanceof LSTM) return layer.backward(d, ds[0] ?? null, ds[1] ?? null);
  const r = await layer.backward(d, ds[0] ?? null);
  return { dx: r.dx, dInitialState: [r.dInitialState] };
}

/** A custom cell's declared sizes, checked once. */
function checkCustomCell(cell: RNNCell): void {
  const name = cell.constructor.name;
  const s = cell.stateSize;
  if (!Array.isArray(s) || s.length === 0 || !s.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new TypeError(`layers.rnn: ${name}.stateSize must be a non-empty array of positive integers (one size per state), got ${JSON.stringify(s)}`);
  }
  const o = cell.outputSize;
  if (!Number.isInteger(o) || o < 1) throw new TypeError(`layers.rnn: ${name}.outputSize must be a positive integer, got ${JSON.stringify(o)}`);
}
