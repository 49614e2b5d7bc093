/**
 * The Bidirectional wrapper (Keras `Bidirectional`, tfjs
 * `layers.bidirectional`): runs a recurrent layer forwards and a copy of it
 * backwards over the same sequences and merges their outputs.
 *
 * As Keras: the weights are the forward layer's then the backward layer's;
 * `initialState` is the forward states then the backward ones; with
 * `returnState` the result is `[output, ...forwardStates, ...backwardStates]`;
 * the backward layer's sequence output is put back in input time order before
 * merging; with a mask, padded outputs are zeros. With `lengths` (PyTorch
 * semantics) the backward direction reads each sequence's valid part
 * reversed.
 */
import { float32Tensor, shapeSize, type Tensor } from '../../tensor.js';
import { requireFinite, requireOneOf, requireShape, requireTensor } from '../../validate.js';
import { checkKnownOptions, Layer, LAYER_OPTIONS, type LayerArgs, type NodeContext, type Shape } from '../layer.js';
import { isSymbolic, SymbolicTensor } from '../symbolic.js';
import { GRU } from './gru.js';
import { LSTM } from './lstm.js';
import { SimpleRNN } from './simpleRnn.js';
import type { Float32Tensor, RecurrentCallArgs } from './recurrentLayer.js';
import { maskFromLengths, maskFromTensor, reverseSequence, zeroSequence, type StepMask } from './stepMask.js';

/** How the two directions' outputs are combined (Keras `merge_mode`). */
export type MergeMode = 'concat' | 'sum' | 'mul' | 'ave' | null;
const MERGE_MODES: readonly string[] = ['concat', 'sum', 'mul', 'ave'];

/** A recurrent layer Bidirectional can wrap. */
type Wrapped = GRU | LSTM | SimpleRNN;

/** Options of {@link Bidirectional}. */
export interface BidirectionalLayerArgs extends LayerArgs {
  /**
   * The recurrent layer (a GRU, LSTM or SimpleRNN), or its
   * `{className, config}`. As in Keras, both directions are new layers made
   * from its configuration (the backward one with goBackwards flipped and,
   * when seeded, the next seed): the layer passed in is not used itself.
   */
  layer: Wrapped | { className: string; config: Record<string, unknown> };
  /** `'concat'` (default), `'sum'`, `'mul'`, `'ave'`, or null for `[forward, backward]`. */
  mergeMode?: MergeMode;
}

/** Gradients from {@link Bidirectional.backward}. */
export interface BidirectionalBackwardResult {
  dx: Tensor<'float32'>;
  /** dL/d(initial states): the forward layer's, then the backward layer's. */
  dInitialState: Tensor<'float32'>[];
}

interface Saved {
  B: number;
  T: number;
  forwardSeq: Float32Array | null;
  backwardSeq: Float32Array | null;
  steps: StepMask | null;
}

export class Bidirectional extends Layer {
  /** Keras class name. */
  static readonly className = 'Bidirectional';
  readonly forwardLayer: Wrapped;
  readonly backwardLayer: Wrapped;
  readonly mergeMode: MergeMode;
  private saved: Saved | null = null;

  constructor(args: BidirectionalLayerArgs) {
    if (args === null || typeof args !== 'object') throw new TypeError('layers.bidirectional(args): args must be an object like {layer: layers.gru({units: 8})}');
    checkKnownOptions(args, [...LAYER_OPTIONS, 'layer', 'mergeMode'], 'Bidirectional');
    const { className, config } = describe(args.layer);
    const declared = config.batchInputShape as Shape | undefined;
    super({ ...args, layer: undefined, inputShape: args.inputShape ?? args.batchInputShape ?? (declared ? declared.slice(1) : undefined) } as LayerArgs, 'bidirectional');
    this.mergeMode = args.mergeMode === undefined ? 'concat' : args.mergeMode === null ? null : (requireOneOf(args.mergeMode, 'mergeMode', MERGE_MODES) as MergeMode);
    const name = String(config.name ?? className.toLowerCase());
    const seed = config.seed as number | undefined;
    this.forwardLayer = make(className, { ...config, name: `forward_${name}` });
    this.backwardLayer = make(className, {
      ...config,
      name: `backward_${name}`,
      goBackwards: !config.goBackwards,
      // Two directions from one seed would start identical.
      ...(seed === undefined ? {} : { seed: (seed + 1) >>> 0 }),
    });
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  private get units(): number {
    return this.forwardLayer.units;
  }

  private get stateCount(): number {
    return this.forwardLayer instanceof LSTM ? 2 : 1;
  }

  /** stateful layers: resets both directions' carried states (forward's states, then backward's, when given). */
  resetStates(states?: Tensor[]): void {
    const n = this.stateCount;
    this.forwardLayer.resetStates(states ? states.slice(0, n) : undefined);
    this.backwardLayer.resetStates(states ? states.slice(n) : undefined);
  }

  build(inputShape: Shape): void {
    this.forwardLayer.build(inputShape);
    this.backwardLayer.build(inputShape);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape): Shape | Shape[] {
    const inner = this.forwardLayer.computeOutputShape(inputShape);
    const out = (Array.isArray(inner[0]) ? inner[0] : inner) as Shape;
    const merged: Shape = this.mergeMode === 'concat' ? [...out.slice(0, -1), 2 * this.units] : out;
    const outputs: Shape[] = this.mergeMode === null ? [out, out] : [merged];
    if (!this.forwardLayer.returnState) return outputs.length === 1 ? outputs[0] : outputs;
    const state: Shape = [inputShape[0], this.units];
    return [...outputs, ...Array.from({ length: 2 * this.stateCount }, () => state)];
  }

  /** The forward layer's weights, then the backward layer's. */
  getWeights(): Float32Tensor[] {
    return [...this.forwardLayer.getWeights(), ...this.backwardLayer.getWeights()];
  }

  /** The forward layer's weights, then the backward layer's, each in its layer's order. */
  setWeights(weights: Tensor[]): void {
    if (!Array.isArray(weights) || weights.length % 2 !== 0) {
      throw new RangeError(`Bidirectional ${this.name}: setWeights expects the forward layer's weights then the backward layer's (an even count), got ${Array.isArray(weights) ? weights.length : typeof weights}`);
    }
    const half = weights.length / 2;
    // All or nothing: if the backward half is refused, the forward layer
    // gets its old weights back.
    const before = this.forwardLayer.built ? this.forwardLayer.getWeights() : null;
    this.forwardLayer.setWeights(weights.slice(0, half));
    try {
      this.backwardLayer.setWeights(weights.slice(half));
    } catch (e) {
      if (before) this.forwardLayer.setWeights(before);
      throw e;
    }
    this.built = true;
  }

  override getConfig(): Record<string, unknown> {
    const inner = this.forwardLayer;
    return {
      ...super.getConfig(),
      mergeMode: this.mergeMode,
      layer: { className: (inner.constructor as unknown as { className: string }).className, config: { ...inner.getConfig(), name: inner.name.replace(/^forward_/, '') } },
    };
  }

  /**
   * Runs both directions over x (B, T, I). `initialState` holds the forward
   * layer's states then the backward layer's. Resolves to the merged output,
   * `[forward, backward]` when mergeMode is null, followed by the states
   * when the layer returns them.
   */
  override apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: RecurrentCallArgs): SymbolicTensor | SymbolicTensor[];
  override apply(inputs: Tensor | Tensor[], kwargs?: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]>;
  override apply(inputs: Tensor | Tensor[] | SymbolicTensor | SymbolicTensor[], kwargs: RecurrentCallArgs = {}): SymbolicTensor | SymbolicTensor[] | Promise<Float32Tensor | Float32Tensor[]> {
    if (isSymbolic(inputs)) {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const given = kwargs?.initialState;
      const states = given == null ? list.slice(1) : Array.isArray(given) ? given : [given];
      if (!states.every((t) => t instanceof SymbolicTensor)) throw new TypeError(`Bidirectional ${this.name}: in a functional model, initialState must be symbolic tensors`);
      if (states.length !== 0 && states.length !== 2 * this.stateCount) {
        throw new RangeError(`Bidirectional ${this.name}: initialState must hold ${2 * this.stateCount} tensors (the forward layer's ${this.stateCount}, then the backward layer's), got ${states.length}`);
      }
      return this.applySymbolic([list[0], ...(states as SymbolicTensor[])]);
    }
    if (Array.isArray(inputs)) {
      return this.applyTensor(inputs[0], inputs.length > 1 ? { ...kwargs, initialState: inputs.slice(1) } : kwargs);
    }
    return this.applyTensor(inputs as Tensor, kwargs);
  }

  protected override nodeInputShape(shapes: Shape[]): Shape {
    return shapes[0];
  }

  /** Initial states given to the last training forwardNode. */
  private nodeStateCount = 0;

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const [x, ...states] = inputs;
    if (ctx.training) this.nodeStateCount = states.length;
    const out = await this.applyTensor(x, { training: ctx.training, mask: ctx.masks[0] ?? undefined, initialState: states.length > 0 ? states : undefined });
    return Array.isArray(out) ? out : [out];
  }

  /** @internal */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    const outputs = this.mergeMode === null ? 2 : 1;
    const dOut = this.mergeMode === null ? (dOutputs[0] || dOutputs[1] ? [dOutputs[0], dOutputs[1]].map((d) => d ?? null) : null) : (dOutputs[0] ?? null);
    const r = await this.backward(
      dOut === null ? null : Array.isArray(dOut) ? this.fillZeros(dOut) : dOut,
      ...dOutputs.slice(outputs).map((d) => d ?? null),
    );
    return [r.dx, ...r.dInitialState.slice(0, this.nodeStateCount)];
  }

  /** mergeMode null with a gradient for one direction only: the other is zeros. */
  private fillZeros(list: Array<Tensor | null>): Tensor[] {
    const shape = (list[0] ?? list[1] as Tensor).shape;
    return list.map((d) => d ?? float32Tensor(new Float32Array(shapeSize(shape)), shape));
  }

  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs;
    const seq = this.forwardLayer.returnSequences ? (masks[0] ?? null) : null;
    const out: Array<Tensor | null> = this.mergeMode === null ? [seq, seq] : [seq];
    if (this.forwardLayer.returnState) for (let i = 0; i < 2 * this.stateCount; i++) out.push(null);
    return out;
  }

  override weightNames(): string[] {
    const f = this.forwardLayer, b = this.backwardLayer;
    return [...f.weightNames().map((n) => `${f.name}/${n}`), ...b.weightNames().map((n) => `${b.name}/${n}`)];
  }

  override regularizationLoss(): number {
    return this.forwardLayer.regularizationLoss() + this.backwardLayer.regularizationLoss();
  }

  private async applyTensor(inputs: Tensor, kwargs: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]> {
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new TypeError(`Bidirectional ${this.name}: the second argument must be an object like {initialState, mask, training}`);
    }
    const count = this.stateCount;
    let fwdStates: Tensor[] | undefined;
    let bwdStates: Tensor[] | undefined;
    if (kwargs.initialState !== undefined && kwargs.initialState !== null) {
      const list = Array.isArray(kwargs.initialState) ? kwargs.initialState : [kwargs.initialState];
      if (list.length !== 2 * count) {
        throw new RangeError(`Bidirectional ${this.name}: initialState must hold ${2 * count} tensors (the forward layer's ${count}, then the backward layer's), got ${list.length}`);
      }
      fwdStates = list.slice(0, count) as Tensor[];
      bwdStates = list.slice(count) as Tensor[];
    }
    if (this.batchInputShape) requireShape(requireTensor(inputs, `Bidirectional ${this.name} input`), this.batchInputShape, `Bidirectional ${this.name} input (declared inputShape)`);
    const { initialState: _ignored, ...rest } = kwargs;
    // One direction after the other: each already uses every thread, and
    // running both at once oversubscribes the cores (measured: 2 threads
    // slower than 1).
    const fwd = await this.forwardLayer.apply(inputs, { ...rest, initialState: fwdStates });
    const bwd = await this.backwardLayer.apply(inputs, { ...rest, initialState: bwdStates });
    this.built = true;
    const fList = Array.isArray(fwd) ? fwd : [fwd];
    const bList = Array.isArray(bwd) ? bwd : [bwd];
    const [B, T] = inputs.shape;
    const steps = this.stepsOf(kwargs, B, T);
    const H = this.units;
    let fOut = fList[0].view();
    let bOut = bList[0].view();
    if (this.forwardLayer.returnSequences && this.mergeMode === 'concat') {
      // One pass writes both directions into the merged output, the backward
      // layer's rows read in input time order; padded rows stay 0. (The
      // general path below copies the backward output twice more.)
      const rows = reversedRows(B, T, steps?.lengths ?? null);
      const keep = steps ? steps.read : null;
      const out = new Float32Array(2 * fOut.length);
      gatherRows(fOut, null, keep, H, out, 2 * H, 0);
      gatherRows(bOut, rows, keep, H, out, 2 * H, H);
      // concat's backward needs only dOutput, not the outputs.
      this.saved = kwargs.training ? { B, T, forwardSeq: null, backwardSeq: null, steps } : null;
      const merged = float32Tensor(out, [B, T, 2 * H]);
      return this.forwardLayer.returnState ? [merged, ...fList.slice(1), ...bList.slice(1)] : merged;
    }
    if (this.forwardLayer.returnSequences) {
      // The backward layer's outputs back in input time order; padded steps 0.
      bOut = reverseSequence(bOut, B, T, H, steps?.lengths ?? null);
      if (steps) {
        fOut = zeroSequence(fOut, { ...steps, zeroOutput: invert(steps.read) }, H);
        bOut = zeroSequence(bOut, { ...steps, zeroOutput: invert(steps.read) }, H);
      }
    }
    this.saved = kwargs.training ? { B, T, forwardSeq: fOut, backwardSeq: bOut, steps } : null;
    const shape = this.forwardLayer.returnSequences ? [B, T, H] : [B, H];
    const outputs = this.mergeMode === null ? [float32Tensor(fOut, shape), float32Tensor(bOut, shape)] : [float32Tensor(merge(this.mergeMode, fOut, bOut, H), this.mergeMode === 'concat' ? [...shape.slice(0, -1), 2 * H] : shape)];
    if (!this.forwardLayer.returnState) return outputs.length === 1 ? outputs[0] : outputs;
    return [...outputs, ...fList.slice(1), ...bList.slice(1)];
  }

  /**
   * Backpropagates through the last training call: `dOutput` is dL/d(output)
   * (for mergeMode null, `[dForward, dBackward]`), `dStates` the gradients of
   * the returned states (forward's, then backward's; null for none).
   */
  async backward(dOutput: Tensor | Tensor[] | null, ...dStates: Array<Tensor | null>): Promise<BidirectionalBackwardResult> {
    if (!this.saved) throw new Error(`Bidirectional ${this.name}: backward needs a preceding apply(x, {training: true})`);
    const { B, T, forwardSeq, backwardSeq, steps } = this.saved;
    const H = this.units;
    const count = this.stateCount;
    if (dStates.length > 2 * count) throw new RangeError(`Bidirectional ${this.name}: backward takes at most ${2 * count} state gradients, got ${dStates.length}`);
    const seq = this.forwardLayer.returnSequences;
    const shape = seq ? [B, T, H] : [B, H];
    let dF: Float32Array | null = null;
    let dB: Float32Array | null = null;
    if (dOutput !== null && dOutput !== undefined && seq && this.mergeMode === 'concat') {
      // One pass: each half of dOutput to its direction, the backward one
      // straight into that layer's (reversed) time order; padded outputs are
      // constants and pass no gradient (their rows stay 0).
      const what = `Bidirectional ${this.name} dOutput`;
      const d = requireTensor(dOutput, what);
      requireShape(d, [B, T, 2 * H], what);
      const dv = d.view() as Float32Array;
      requireFinite(dv, what);
      const rows = reversedRows(B, T, steps?.lengths ?? null);
      const keep = steps ? steps.read : null;
      dF = new Float32Array(B * T * H);
      dB = new Float32Array(B * T * H);
      for (let r = 0; r < B * T; r++) {
        if (keep && !keep[r]) continue;
        dF.set(dv.subarray(r * 2 * H, r * 2 * H + H), r * H);
        dB.set(dv.subarray(r * 2 * H + H, (r + 1) * 2 * H), rows[r] * H);
      }
    } else if (dOutput !== null && dOutput !== undefined) {
      [dF, dB] = this.splitGradient(dOutput, forwardSeq as Float32Array, backwardSeq as Float32Array, shape);
      if (seq) {
        if (steps) {
          // Padded outputs are constants: no gradient.
          dF = zeroSequence(dF, { ...steps, zeroOutput: invert(steps.read) }, H);
          dB = zeroSequence(dB, { ...steps, zeroOutput: invert(steps.read) }, H);
        }
        dB = reverseSequence(dB, B, T, H, steps?.lengths ?? null);
      }
    }
    const fStates = dStates.slice(0, count);
    const bStates = dStates.slice(count);
    const call = async (layer: Wrapped, d: Float32Array | null, ds: Array<Tensor | null>) => {
      const dt = d ? float32Tensor(d, shape) : null;
      return layer instanceof LSTM ? layer.backward(dt, ds[0] ?? null, ds[1] ?? null) : layer.backward(dt, ds[0] ?? null);
    };
    const rf = await call(this.forwardLayer, dF, fStates);
    const rb = await call(this.backwardLayer, dB, bStates);
    const dx = rf.dx.dataSync();
    const dxb = rb.dx.view();
    for (let i = 0; i < dx.length; i++) dx[i] += dxb[i];
    const asList = (d: Float32Tensor | Float32Tensor[]) => (Array.isArray(d) ? d : [d]);
    return { dx: float32Tensor(dx, rf.dx.shape), dInitialState: [...asList(rf.dInitialState), ...asList(rb.dInitialState)] };
  }

  /** Gradients of the weights from the last backward, in getWeights order. */
  override getGradients(): Float32Tensor[] {
    return [...this.forwardLayer.getGradients(), ...this.backwardLayer.getGradients()];
  }

  private stepsOf(kwargs: RecurrentCallArgs, B: number, T: number): StepMask | null {
    const what = `Bidirectional ${this.name}`;
    if (kwargs.mask != null) return maskFromTensor(kwargs.mask, B, T, what);
    if (kwargs.lengths != null) return maskFromLengths(kwargs.lengths, B, T, what);
    return null;
  }

  /** dL/d(merged output) -> dL/d(forward output), dL/d(backward output). */
  private splitGradient(dOutput: Tensor | Tensor[], fOut: Float32Array, bOut: Float32Array, shape: number[]): [Float32Array, Float32Array] {
    const what = `Bidirectional ${this.name} dOutput`;
    const H = this.units;
    const check = (t: unknown, expected: number[], name: string): Float32Array => {
      const tt = requireTensor(t, name);
      requireShape(tt, expected, name);
      const v = tt.view() as Float32Array;
      requireFinite(v, name);
      return v;
    };
    if (this.mergeMode === null) {
      if (!Array.isArray(dOutput) || dOutput.length !== 2) throw new TypeError(`${what}: with mergeMode null, pass [dForward, dBackward]`);
      return [check(dOutput[0], shape, `${what}[0]`).slice(), check(dOutput[1], shape, `${what}[1]`).slice()];
    }
    if (this.mergeMode === 'concat') {
      const d = check(dOutput, [...shape.slice(0, -1), 2 * H], what);
      const rows = d.length / (2 * H);
      const dF = new Float32Array(rows * H), dB = new Float32Array(rows * H);
      for (let r = 0; r < rows; r++) {
        dF.set(d.subarray(r * 2 * H, r * 2 * H + H), r * H);
        dB.set(d.subarray(r * 2 * H + H, (r + 1) * 2 * H), r * H);
      }
      return [dF, dB];
    }
    const d = check(dOutput, shape, what);
    if (this.mergeMode === 'sum') return [d.slice(), d.slice()];
    if (this.mergeMode === 'ave') return [d.map((v) => v / 2), d.map((v) => v / 2)];
    // mul: d(f*b)/df = b and /db = f.
    return [d.map((v, i) => v * bOut[i]), d.map((v, i) => v * fOut[i])];
  }
}

/** The class name and configuration of what `layer` was given as. */
function describe(layer: unknown): { className: string; config: Record<string, unknown> } {
  if (layer instanceof GRU || layer instanceof LSTM || layer instanceof SimpleRNN) {
    return { className: (layer.constructor as unknown as { className: string }).className, config: layer.getConfig() };
  }
  if (layer && typeof layer === 'object' && 'className' in layer && 'config' in layer) {
    const { className, config } = layer as { className: unknown; config: unknown };
    if (typeof className === 'string' && config && typeof config === 'object') return { className, config: config as Record<string, unknown> };
  }
  throw new TypeError('layers.bidirectional: layer must be a GRU, LSTM or SimpleRNN layer, or its {className, config}');
}

function make(className: string, config: Record<string, unknown>): Wrapped {
  switch (className) {
    case 'GRU':
      return new GRU(config as never);
    case 'LSTM':
      return new LSTM(config as never);
    case 'SimpleRNN':
      return new SimpleRNN(config as never);
    default:
      throw new TypeError(`layers.bidirectional: cannot wrap a ${className}; it takes GRU, LSTM or SimpleRNN`);
  }
}

/**
 * For each row (b, t) of a (B, T, ·) sequence in input time order, the row of
 * the backward layer's sequence that holds it: (b, T-1-t), or with lengths
 * (b, len-1-t) for t < len and (b, t) on the padding (as reverseSequence).
 * A permutation that is its own inverse.
 */
function reversedRows(B: number, T: number, lengths: ArrayLike<number> | null): Int32Array {
  const rows = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const len = lengths ? lengths[b] : T;
    for (let t = 0; t < T; t++) rows[b * T + t] = b * T + (t < len ? len - 1 - t : t);
  }
  return rows;
}

/**
 * dst[r * stride + offset .. + H] = src row rows[r] (or row r), for every
 * row r of the sequence that `keep` marks valid; the other rows of dst are
 * left as they are (zeros in a new array).
 */
function gatherRows(src: Float32Array, rows: Int32Array | null, keep: Uint8Array | null, H: number, dst: Float32Array, stride: number, offset: number): void {
  const n = src.length / H;
  for (let r = 0; r < n; r++) {
    if (keep && !keep[r]) continue;
    const s = rows ? rows[r] : r;
    dst.set(src.subarray(s * H, (s + 1) * H), r * stride + offset);
  }
}

function invert(read: Uint8Array): Uint8Array {
  return read.map((v) => (v ? 0 : 1));
}

/** Merges two (…, H) arrays. */
function merge(mode: Exclude<MergeMode, null>, f: Float32Array, b: Float32Array, H: number): Float32Array {
  if (mode === 'concat') {
    const rows = f.length / H;
    const out = new Float32Array(2 * f.length);
    for (let r = 0; r < rows; r++) {
      out.set(f.subarray(r * H, (r + 1) * H), r * 2 * H);
      out.set(b.subarray(r * H, (r + 1) * H), r * 2 * H + H);
    }
    return out;
  }
  if (mode === 'sum') return f.map((v, i) => v + b[i]);
  if (mode === 'mul') return f.map((v, i) => v * b[i]);
  return f.map((v, i) => (v + b[i]) / 2);
}

