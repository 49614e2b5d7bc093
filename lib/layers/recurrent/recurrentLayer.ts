/**
 * What the recurrent layers share: the Keras options every RNN has, the
 * checks of a call's input and states, building the outputs
 * (returnSequences / returnState), and the checks of backward's upstream
 * gradients. GRU and LSTM add their cell: weights, layout and kernels.
 */
import { CANDIDATE_ACTIVATIONS, GATE_ACTIVATIONS, type CandidateActivation, type GateActivation } from '../../backend/types.js';
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool, requireFinite, requireInt, requireOneOf, requireShape, requireTensor } from '../../validate.js';
import { checkKnownOptions, Layer, LAYER_OPTIONS, type CallArgs, type LayerArgs, type NodeContext, type Shape } from '../layer.js';
import { isSymbolic, type SymbolicTensor } from '../symbolic.js';
import { symbolicRecurrentInputs } from './symbolicInputs.js';
import { backend } from '../../backend/index.js';
import { checkInitializer, initialize, Random, type InitializerConfig, type InitializerIdentifier } from '../initializers.js';
import { addPenaltyGradient, checkRegularizer, penalty, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import { maskFromLengths, maskFromTensor, reverseSequence, reverseSteps, zeroEmptyRows, zeroSequence, type StepMask } from './stepMask.js';

/** A float32 tensor, what every recurrent output and gradient is. */
export type Float32Tensor = Tensor<'float32'>;

/**
 * Largest `units`: a GRU's recurrent kernel is then 3 * 8192^2 floats
 * (800 MB), and its orthogonal initialisation takes minutes; beyond that a
 * request is far more likely a typo than a model.
 */
export const MAX_UNITS = 8192;

/** Options every recurrent layer takes (Keras names in camelCase, as tfjs). */
export interface RecurrentLayerArgs extends LayerArgs {
  /** Size of the hidden state, H (1 to 8192). */
  units: number;
  /** Candidate activation: `'tanh'` (default), `'relu'`, `'linear'` or `'sigmoid'`. */
  activation?: CandidateActivation;
  /**
   * Gate activation: `'sigmoid'` (default, as Keras), `'hardSigmoid'`
   * (clip(0.2x+0.5, 0, 1): tfjs and Keras 2) or `'hardSigmoidKeras3'` (clip(x/6+0.5, 0, 1)).
   */
  recurrentActivation?: GateActivation;
  /** Whether the layer has biases (default true). */
  useBias?: boolean;
  /** Return the whole sequence (B, T, H) instead of the last output (B, H). */
  returnSequences?: boolean;
  /** Also return the last state(s): `apply` resolves to `[output, ...states]`. */
  returnState?: boolean;
  /**
   * Read each sequence from its end (Keras): the outputs come in the order
   * they were computed, output[t] after reading x[T-1-t]. With `lengths`,
   * only the valid part is reversed (PyTorch's backward direction).
   */
  goBackwards?: boolean;
  /**
   * Carry the last states of each call over as the initial states of the
   * next (Keras): consecutive batches continue the same sequences, so the
   * batch size must stay the same. `resetStates()` starts afresh.
   */
  stateful?: boolean;
  /** Initializer of the input kernel (default `'glorotUniform'`). */
  kernelInitializer?: InitializerIdentifier;
  /** Initializer of the recurrent kernel (default `'orthogonal'`). */
  recurrentInitializer?: InitializerIdentifier;
  /** Initializer of the bias (default `'zeros'`). */
  biasInitializer?: InitializerIdentifier;
  /** Penalty on the input kernel, added to `regularizationLoss()` and to the kernel's gradient. */
  kernelRegularizer?: RegularizerIdentifier;
  /** Penalty on the recurrent kernel. */
  recurrentRegularizer?: RegularizerIdentifier;
  /** Penalty on the bias. */
  biasRegularizer?: RegularizerIdentifier;
  /**
   * Fraction of the input features to drop while training, in [0, 1): one
   * mask per sequence, the same at every timestep (Keras); the kept ones are
   * scaled by 1 / (1 - dropout). No effect outside training.
   */
  dropout?: number;
  /**
   * Fraction of the recurrent state to drop while training, in [0, 1): one
   * mask per sequence and unit, the same at every timestep, applied to
   * h_{t-1} where it enters the recurrent matmul (the variational dropout
   * of Gal and Ghahramani that Keras implements); the state update itself
   * uses the whole h_{t-1}.
   */
  recurrentDropout?: number;
  /** Seed for the initial weights (all three initializers draw from it) and the dropout masks. */
  seed?: number;
}

/** Keyword arguments of `apply`/`call`. */
export interface RecurrentCallArgs extends CallArgs {
  /**
   * Initial state(s) (B, H) each, alone or in an array; zeros when omitted.
   * Symbolic tensors in a functional model (an encoder's states feeding a
   * decoder).
   */
  initialState?: Tensor | Tensor[] | SymbolicTensor | SymbolicTensor[];
  /**
   * (B, T) mask, `'bool'` or 0/1 numbers (Keras semantics): a masked step
   * leaves the state unchanged and its output repeats the last valid output
   * (0 before the first valid step).
   */
  mask?: Tensor;
  /**
   * Sequence lengths (B), each in [0, T] (PyTorch packed-sequence
   * semantics): steps from `lengths[b]` on are padding, leave the state
   * unchanged, and their outputs are 0.
   */
  lengths?: Tensor | number[];
}

/** A call's arguments after the checks. */
export interface CheckedCall {
  x: Tensor;
  xv: Float32Array;
  /** One (B, H) array per state (GRU: h; LSTM: h, c). */
  states: Float32Array[];
  /** The steps read, from `mask` or `lengths`; null: all of them. */
  steps: StepMask | null;
  /** Training with dropout: the (B, I) scale of each input feature (0 or 1/(1-p)). */
  dropoutScale: Float32Array | null;
  /** Training with recurrentDropout: the (B, H) scale of each unit of h_{t-1}. */
  recurrentScale: Float32Array | null;
  training: boolean;
}

/** The option names every recurrent layer takes (RecurrentLayerArgs). */
export const RECURRENT_OPTIONS: readonly string[] = [
  'units',
  'activation',
  'recurrentActivation',
  'useBias',
  'returnSequences',
  'returnState',
  'goBackwards',
  'stateful',
  'kernelInitializer',
  'recurrentInitializer',
  'biasInitializer',
  'kernelRegularizer',
  'recurrentRegularizer',
  'biasRegularizer',
  'dropout',
  'recurrentDropout',
  'seed',
];

export abstract class RecurrentLayer extends Layer {
  readonly units: number;
  readonly activation: CandidateActivation;
  readonly recurrentActivation: GateActivation;
  readonly useBias: boolean;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly stateful: boolean;
  readonly seed: number | undefined;
  readonly kernelInitializer: InitializerConfig;
  readonly recurrentInitializer: InitializerConfig;
  readonly biasInitializer: InitializerConfig;
  readonly kernelRegularizer: Regularizer | null;
  readonly recurrentRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  readonly dropout: number;
  readonly recurrentDropout: number;
  /** Draws the dropout masks; seeded from `seed` when given. */
  private readonly dropoutRng: Random;
  /** Features per timestep, I; known once built. */
  protected inputSize = 0;
  protected gradients: Float32Tensor[] | null = null;
  /** stateful: the last states of the previous call, one (B, H) array each. */
  private carried: Float32Array[] | null = null;
  /** A training or stateful call, or a backward, is running. */
  private exclusiveRunning = false;

  /**
   * @param label the Keras class name used in messages (`GRU`, `LSTM`)
   * @param stateNames the recurrent states, in Keras order (`['h']`, `['h', 'c']`)
   */
  protected constructor(
    args: RecurrentLayerArgs,
    prefix: string,
    protected readonly label: string,
    protected readonly stateNames: readonly string[],
    ownOptions: readonly string[] = [],
  ) {
    if (args === null || typeof args !== 'object') throw new TypeError(`layers.${prefix}(args): args must be an object like {units: 32}`);
    checkKnownOptions(args, [...LAYER_OPTIONS, ...RECURRENT_OPTIONS, ...ownOptions], label);
    super(args, prefix);
    this.units = requireInt(args.units, 'units', 1, MAX_UNITS);
    this.activation = args.activation === undefined ? 'tanh' : requireOneOf(args.activation, 'activation', CANDIDATE_ACTIVATIONS);
    this.recurrentActivation =
      args.recurrentActivation === undefined ? 'sigmoid' : requireOneOf(args.recurrentActivation, 'recurrentActivation', GATE_ACTIVATIONS);
    this.useBias = optionalBool(args.useBias, 'useBias', true);
    this.returnSequences = optionalBool(args.returnSequences, 'returnSequences', false);
    this.returnState = optionalBool(args.returnState, 'returnState', false);
    this.goBackwards = optionalBool(args.goBackwards, 'goBackwards', false);
    this.stateful = optionalBool(args.stateful, 'stateful', false);
    if (args.seed !== undefined) requireInt(args.seed, 'seed', 0, 2 ** 32 - 1);
    this.seed = args.seed;
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.recurrentInitializer = checkInitializer(args.recurrentInitializer ?? 'orthogonal', 'recurrentInitializer');
    this.biasInitializer = checkInitializer(args.biasInitializer ?? 'zeros', 'biasInitializer');
    this.kernelRegularizer = checkRegularizer(args.kernelRegularizer, 'kernelRegularizer');
    this.recurrentRegularizer = checkRegularizer(args.recurrentRegularizer, 'recurrentRegularizer');
    this.biasRegularizer = checkRegularizer(args.biasRegularizer, 'biasRegularizer');
    this.dropout = checkRate(args.dropout, 'dropout');
    this.recurrentDropout = checkRate(args.recurrentDropout, 'recurrentDropout');
    this.dropoutRng = new Random(this.seed === undefined ? undefined : this.seed ^ 0x5bd1e995);
    if (this.batchInputShape && this.batchInputShape.length !== 3) {
      throw new RangeError(`a ${label} takes inputs of shape [batch, timesteps, features]: inputShape must be [timesteps|null, features], got ${formatShape(this.batchInputShape.slice(1))}`);
    }
  }

  /** Runs the checked call on the backend. */
  protected abstract run(call: CheckedCall): Promise<Float32Tensor | Float32Tensor[]>;

  /**
   * Runs the layer over a batch of sequences x (B, T, I). Resolves to the
   * output ((B, T, H) with returnSequences, else (B, H)), or to
   * `[output, ...lastStates]` with returnState. Builds the layer on first
   * use. With `training: true` it keeps what `backward` needs. Applied to a
   * SymbolicTensor (functional API) it returns the symbolic output(s).
   */
  override apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: RecurrentCallArgs): SymbolicTensor | SymbolicTensor[];
  override apply(inputs: Tensor | Tensor[], kwargs?: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]>;
  override apply(inputs: Tensor | Tensor[] | SymbolicTensor | SymbolicTensor[], kwargs: RecurrentCallArgs = {}): SymbolicTensor | SymbolicTensor[] | Promise<Float32Tensor | Float32Tensor[]> {
    if (isSymbolic(inputs)) return this.applySymbolic(symbolicRecurrentInputs(inputs, kwargs, this.stateNames.map(() => this.units), `${this.label} ${this.name}`));
    return this.applyTensor(inputs as Tensor | Tensor[], kwargs);
  }

  private async applyTensor(inputs: Tensor | Tensor[], kwargs: RecurrentCallArgs): Promise<Float32Tensor | Float32Tensor[]> {
    // [x, ...initialStates], as Keras's RNN also accepts.
    if (Array.isArray(inputs)) {
      if (kwargs?.initialState != null) throw new TypeError(`${this.label} ${this.name}: give the initial states either in the input list or as initialState, not both`);
      kwargs = { ...kwargs, initialState: inputs.length > 1 ? inputs.slice(1) : undefined };
      inputs = inputs[0];
    }
    // Everything is checked before the first build, so a rejected input
    // never leaves the layer built for the wrong shape.
    const checked = this.checkCall(inputs, kwargs);
    this.ensureBuilt([...checked.x.shape]);
    return this.runChecked(checked);
  }

  protected override nodeInputShape(shapes: Shape[]): Shape {
    return shapes[0];
  }

  /** Initial states given to the last training forwardNode (their gradients are returned). */
  private nodeStateCount = 0;

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const [x, ...states] = inputs;
    const checked = this.checkCall(x, { training: ctx.training, mask: ctx.masks[0] ?? undefined, initialState: states.length > 0 ? states : undefined });
    this.ensureBuilt([...checked.x.shape]);
    if (ctx.training) this.nodeStateCount = states.length;
    const out = await this.runChecked(checked);
    return Array.isArray(out) ? out : [out];
  }

  /** @internal */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    const { dx, dInitialState } = await this.backwardFromList(dOutputs[0] ?? null, dOutputs.slice(1).map((d) => d ?? null));
    return [dx, ...dInitialState.slice(0, this.nodeStateCount)];
  }

  /** Backward with the state gradients as a list, resolving to dx and one gradient per initial state. */
  protected abstract backwardFromList(dOutput: Tensor | null, dStates: Array<Tensor | null>): Promise<{ dx: Float32Tensor; dInitialState: Float32Tensor[] }>;

  /** With returnSequences the input's mask goes on with the sequence; a last output or a state has none. */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs;
    const out: Array<Tensor | null> = [this.returnSequences ? (masks[0] ?? null) : null];
    if (this.returnState) for (const _ of this.stateNames) out.push(null);
    return out;
  }

  override weightNames(): string[] {
    return this.useBias ? ['kernel', 'recurrent_kernel', 'bias'] : ['kernel', 'recurrent_kernel'];
  }

  /** Same as {@link apply} on a built layer (Keras's `call`). */
  async call(inputs: Tensor, kwargs: RecurrentCallArgs = {}): Promise<Float32Tensor | Float32Tensor[]> {
    this.requireBuilt('call');
    return this.runChecked(this.checkCall(inputs, kwargs));
  }

  private runChecked(checked: CheckedCall): Promise<Float32Tensor | Float32Tensor[]> {
    // Inference calls may overlap; a training call (which backward pairs
    // with) or a stateful one (which the next call continues) may not.
    return checked.training || this.stateful ? this.exclusively('a training or stateful apply', () => this.run(checked)) : this.run(checked);
  }

  /**
   * Runs fn with no other training/stateful call or backward in flight on
   * this layer: overlapping ones would silently pair the wrong forward with
   * a backward, or start two batches from the same carried state.
   */
  protected async exclusively<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.exclusiveRunning) {
      throw new Error(`${this.label} ${this.name}: ${what} started while a previous training or stateful call or backward is still running; await it first`);
    }
    this.exclusiveRunning = true;
    try {
      return await fn();
    } finally {
      this.exclusiveRunning = false;
    }
  }

  computeOutputShape(inputShape: Shape): Shape | Shape[] {
    const [B, T, I] = inputShape;
    if (this.built && I !== null && I !== undefined && I !== this.inputSize) {
      throw new RangeError(`${this.label} ${this.name} was built for ${this.inputSize} features, cannot take input of shape ${formatShape(inputShape)}`);
    }
    const out: Shape = this.returnSequences ? [B, T, this.units] : [B, this.units];
    return this.returnState ? [out, ...this.stateNames.map((): Shape => [B, this.units])] : out;
  }

  /** Gradients of the weights from the last `backward`, in `getWeights` order. */
  override getGradients(): Float32Tensor[] {
    if (!this.gradients) throw new Error(`${this.label} ${this.name}: no gradients yet; call backward() after a training apply()`);
    return this.gradients;
  }

  override getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      recurrentActivation: this.recurrentActivation,
      useBias: this.useBias,
      returnSequences: this.returnSequences,
      returnState: this.returnState,
      goBackwards: this.goBackwards,
      stateful: this.stateful,
      kernelInitializer: this.kernelInitializer,
      recurrentInitializer: this.recurrentInitializer,
      biasInitializer: this.biasInitializer,
      kernelRegularizer: this.kernelRegularizer,
      recurrentRegularizer: this.recurrentRegularizer,
      biasRegularizer: this.biasRegularizer,
      dropout: this.dropout,
      recurrentDropout: this.recurrentDropout,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }

  /** The feature count I of an input shape given to `build`, checked. */
  protected featuresOf(inputShape: Shape): number {
    if (!Array.isArray(inputShape) || inputShape.length !== 3) {
      throw new RangeError(`${this.label} ${this.name}: input shape must be [batch, timesteps, features], got ${Array.isArray(inputShape) ? formatShape(inputShape) : String(inputShape)}`);
    }
    for (const d of inputShape) {
      if (d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
        throw new RangeError(`${this.label} ${this.name}: input shape must hold non-negative integers or null, got ${formatShape(inputShape)}`);
      }
    }
    const I = inputShape[2];
    if (typeof I !== 'number' || I < 1) {
      throw new RangeError(`${this.label} ${this.name}: the features dimension of the input must be known, got ${formatShape(inputShape)}`);
    }
    const declared = this.batchInputShape?.[2];
    if (declared !== undefined && declared !== null && declared !== I) {
      throw new RangeError(`${this.label} ${this.name} was declared with inputShape features ${declared}, cannot build for ${formatShape(inputShape)}`);
    }
    return I;
  }

  protected checkCall(inputs: unknown, kwargs: unknown): CheckedCall {
    const what = `${this.label} ${this.name}`;
    const x = requireTensor(inputs, `${what} input`);
    if (x.rank !== 3) throw new RangeError(`${what} input must have shape [batch, timesteps, features], got ${formatShape(x.shape)}`);
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new TypeError(`${what}: the second argument must be an object like {initialState, training}`);
    }
    const args = kwargs as RecurrentCallArgs;
    const [B, T, I] = x.shape;
    if (B < 1 || T < 1 || I < 1) throw new RangeError(`${what} input needs at least one sequence, one timestep and one feature, got ${formatShape(x.shape)}`);
    if (this.batchInputShape) requireShape(x, this.batchInputShape, `${what} input (declared inputShape)`);
    if (this.built) requireShape(x, [null, null, this.inputSize], `${what} input (built for ${this.inputSize} features)`);
    let xv = x.view() as Float32Array;
    requireFinite(xv, `${what} input`);
    const initial = args.initialState as Tensor | Tensor[] | undefined;
    const states = this.stateful && initial == null && this.carried ? this.carriedStates(B) : this.initialStates(initial, B);
    if (args.mask != null && args.lengths != null) throw new TypeError(`${what}: give either mask or lengths, not both`);
    let steps = args.mask != null ? maskFromTensor(args.mask, B, T, what) : args.lengths != null ? maskFromLengths(args.lengths, B, T, what) : null;
    const training = optionalBool(args.training, 'training', false);
    const dropoutScale = training && this.dropout > 0 ? this.dropoutMask(B * I, this.dropout) : null;
    if (dropoutScale) xv = scaleFeatures(xv, dropoutScale, B, T, I);
    const recurrentScale = training && this.recurrentDropout > 0 ? this.dropoutMask(B * this.units, this.recurrentDropout) : null;
    if (this.goBackwards) {
      xv = reverseSequence(xv, B, T, I, steps?.lengths ?? null);
      if (steps) steps = reverseSteps(steps, B, T);
    }
    return { x, xv, states, steps, dropoutScale, recurrentScale, training };
  }

  /**
   * The layer's result from the kernel's sequence output (B, T, H) and the
   * last states (B, H) each. With a step mask, outputs that are constant
   * zeros are zeroed (in a copy: the kernel's array may be its cache).
   */
  protected outputs(output: Float32Array, lastStates: Float32Array[], steps: StepMask | null, B: number, T: number): Float32Tensor | Float32Tensor[] {
    const H = this.units;
    const last = lastStates[0];
    if (this.stateful) this.carried = lastStates.map((s) => s.slice());
    const out = this.returnSequences
      ? float32Tensor(steps ? zeroSequence(output, steps, H) : output, [B, T, H])
      : float32Tensor(steps ? zeroEmptyRows(last, steps, H) : last, [B, H]);
    if (!this.returnState) return out;
    // The first state is the last output: a separate copy, so the two
    // tensors never share memory.
    return [out, ...lastStates.map((s, i) => float32Tensor(i === 0 ? s.slice() : s, [B, H]))];
  }

  /**
   * Checks backward's upstream gradients: `dOutput` has the output's shape,
   * `dStates` one (B, H) tensor per state (or null). Returns the sequence
   * gradient (returnSequences) and one gradient per last state, where the
   * output's gradient counts towards the first state when the output is
   * the last state.
   */
  protected upstream(
    dOutput: Tensor | null,
    dStates: Array<Tensor | null>,
    dStateNames: readonly string[],
    steps: StepMask | null,
    B: number,
    T: number,
  ): { dSequence: Float32Array | null; dLast: Array<Float32Array | null> } {
    const H = this.units;
    const what = `${this.label} ${this.name}`;
    let dSequence: Float32Array | null = null;
    const dLast: Array<Float32Array | null> = this.stateNames.map(() => null);
    if (dOutput !== null && dOutput !== undefined) {
      const d = requireTensor(dOutput, `${what} dOutput`);
      requireShape(d, this.returnSequences ? [B, T, H] : [B, H], `${what} dOutput`);
      const dv = d.view() as Float32Array;
      requireFinite(dv, `${what} dOutput`);
      // Outputs that are constant zeros pass no gradient.
      if (this.returnSequences) dSequence = steps ? zeroSequence(dv, steps, H) : dv;
      else dLast[0] = steps ? zeroEmptyRows(dv, steps, H) : dv.slice();
    }
    dStates.forEach((ds, i) => {
      if (ds === null || ds === undefined) return;
      const name = `${what} ${dStateNames[i]}`;
      const d = requireTensor(ds, name);
      requireShape(d, [B, H], name);
      const dv = d.view() as Float32Array;
      requireFinite(dv, name);
      const acc = dLast[i];
      if (!acc) dLast[i] = dv.slice();
      else for (let k = 0; k < acc.length; k++) acc[k] += dv[k];
    });
    return { dSequence, dLast };
  }

  /** True inside adoptWeights: checkedWeights keeps the arrays it is given. */
  private adopting = false;

  /** @internal See Layer.adoptWeights: the shapes are checked, the values neither checked nor copied. */
  override adoptWeights(weights: Tensor[]): void {
    this.adopting = true;
    try {
      this.setWeights(weights);
    } finally {
      this.adopting = false;
    }
  }

  /**
   * Checks `setWeights`' argument: [kernel (I, G*H), recurrentKernel
   * (H, G*H), bias of `biasShape`] (no bias without useBias), all finite;
   * I from the kernel when not built yet. Builds the layer if needed and
   * returns copies of the values (the arrays themselves in adoptWeights).
   */
  protected checkedWeights(weights: Tensor[], gates: number, biasShape: number[], biasNote = ''): { kernel: Float32Array; recurrentKernel: Float32Array; bias: Float32Array | null } {
    const what = `${this.label} ${this.name}`;
    if (!Array.isArray(weights)) throw new TypeError(`${what}: setWeights expects an array of tensors`);
    const expected = this.useBias ? 3 : 2;
    if (weights.length !== expected) {
      throw new RangeError(`${what}: setWeights expects ${expected} tensors [kernel, recurrentKernel${this.useBias ? ', bias' : ''}], got ${weights.length}`);
    }
    const GH = gates * this.units;
    const kernel = requireTensor(weights[0], `${what} kernel`);
    if (kernel.rank !== 2) throw new RangeError(`${what} kernel must have shape [inputSize, ${GH}], got ${formatShape(kernel.shape)}`);
    const I = this.built ? this.inputSize : kernel.shape[0];
    requireShape(kernel, [I, GH], `${what} kernel`);
    const recurrent = requireTensor(weights[1], `${what} recurrentKernel`);
    requireShape(recurrent, [this.units, GH], `${what} recurrentKernel`);
    const bias = this.useBias ? requireTensor(weights[2], `${what} bias`) : null;
    if (bias) requireShape(bias, biasShape, `${what} bias${biasNote}`);
    if (this.adopting) {
      if (!this.built) this.build([null, null, I]);
      return { kernel: kernel.view() as Float32Array, recurrentKernel: recurrent.view() as Float32Array, bias: bias ? (bias.view() as Float32Array) : null };
    }
    for (const [t, n] of [[kernel, 'kernel'], [recurrent, 'recurrentKernel'], [bias, 'bias']] as const) {
      if (t) requireFinite(t.view() as Float32Array, `${what} ${n}`);
    }
    if (!this.built) this.build([null, null, I]);
    return {
      kernel: (kernel.view() as Float32Array).slice(),
      recurrentKernel: (recurrent.view() as Float32Array).slice(),
      bias: bias ? (bias.view() as Float32Array).slice() : null,
    };
  }

  /**
   * Initial weights for `gates` gate blocks: kernel (I, G*H), recurrent
   * kernel (H, G*H) and bias (G*H), from the layer's initializers and seed.
   */
  protected initialWeights(I: number, gates: number): { kernel: Float32Array; recurrentKernel: Float32Array; bias: (length: number) => Float32Array } {
    const H = this.units;
    const rng = new Random(this.seed);
    const kernel = initialize(this.kernelInitializer, I, gates * H, rng);
    const recurrentKernel = initialize(this.recurrentInitializer, H, gates * H, rng, (args) => backend().sgemm(args));
    return { kernel, recurrentKernel, bias: (length) => initialize(this.biasInitializer, 1, length, rng) };
  }

  /**
   * stateful: forget the carried states, so the next call starts from zeros,
   * or from `states` (one (B, H) tensor per state) when given.
   */
  resetStates(states?: Tensor | Tensor[]): void {
    if (!this.stateful) throw new Error(`${this.label} ${this.name}: resetStates() is for stateful layers (stateful: true)`);
    if (states === undefined || states === null) {
      this.carried = null;
      return;
    }
    const list = Array.isArray(states) ? states : [states];
    const first = requireTensor(list[0], `${this.label} ${this.name} resetStates(states)[0]`);
    this.carried = this.initialStates(list, first.shape[0]).map((s) => s.slice());
  }

  /** n scales, each 0 with probability `rate`, else 1 / (1 - rate). */
  private dropoutMask(n: number, rate: number): Float32Array {
    const out = new Float32Array(n);
    const keep = 1 / (1 - rate);
    for (let i = 0; i < n; i++) out[i] = this.dropoutRng.next() < rate ? 0 : keep;
    return out;
  }

  private carriedStates(B: number): Float32Array[] {
    const carried = this.carried as Float32Array[];
    const had = carried[0].length / this.units;
    if (had !== B) {
      throw new RangeError(`${this.label} ${this.name} is stateful and carries states for a batch of ${had}, got a batch of ${B}; keep the batch size or call resetStates()`);
    }
    return carried;
  }

  /**
   * dL/dx in the input's time order, from the kernel's (reversed when
   * goBackwards), through the dropout mask the call used.
   */
  protected inputGradient(dx: Float32Array, steps: StepMask | null, dropoutScale: Float32Array | null, B: number, T: number): Float32Tensor {
    const I = this.inputSize;
    let d = this.goBackwards ? reverseSequence(dx, B, T, I, steps?.lengths ?? null) : dx;
    if (dropoutScale) d = scaleFeatures(d, dropoutScale, B, T, I);
    return float32Tensor(d, [B, T, I]);
  }

  /**
   * The regularizers' penalty on the current weights: add it to the loss.
   * `backward` already adds its gradient to `getGradients()`.
   */
  override regularizationLoss(): number {
    if (!this.built) return 0;
    const regs = [this.kernelRegularizer, this.recurrentRegularizer, this.biasRegularizer];
    return this.getWeights().reduce((sum, w, i) => (regs[i] ? sum + penalty(regs[i] as Regularizer, w.view()) : sum), 0);
  }

  /** Stores backward's weight gradients plus the regularizers' gradients. */
  protected setGradients(grads: Float32Tensor[]): void {
    const regs = [this.kernelRegularizer, this.recurrentRegularizer, this.biasRegularizer];
    if (regs.some((r) => r)) {
      const weights = this.getWeights();
      grads.forEach((g, i) => {
        const r = regs[i];
        if (r) addPenaltyGradient(r, weights[i].view(), g.view());
      });
    }
    this.gradients = grads;
  }

  protected requireBuilt(what: string): void {
    if (!this.built) throw new Error(`${this.label} ${this.name}: ${what} before the layer is built; call build(inputShape), setWeights() or apply() first`);
  }

  private initialStates(state: Tensor | Tensor[] | undefined, batch: number): Float32Array[] {
    const H = this.units;
    const what = `${this.label} ${this.name}`;
    if (state === undefined || state === null) return this.stateNames.map(() => new Float32Array(batch * H));
    const list = Array.isArray(state) ? state : [state];
    if (list.length !== this.stateNames.length) {
      const count = this.stateNames.length === 1 ? 'one tensor' : `${this.stateNames.length} tensors`;
      throw new RangeError(`${what}: initialState must hold ${count} [${this.stateNames.join(', ')}] of shape (batch, ${H}), got ${list.length}`);
    }
    return list.map((s, i) => {
      const t = requireTensor(s, `${what} initialState[${i}]`);
      requireShape(t, [batch, H], `${what} initialState[${i}]`);
      const v = t.view() as Float32Array;
      requireFinite(v, `${what} initialState[${i}]`);
      return v;
    });
  }
}

function checkRate(value: unknown, option: string): number {
  const rate = value ?? 0;
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new RangeError(`${option} must be a number in [0, 1), got ${JSON.stringify(value)}`);
  return rate;
}

/** x (B, T, I) * scale (B, I) at every timestep, in a copy. */
function scaleFeatures(x: Float32Array, scale: Float32Array, B: number, T: number, I: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * I;
      for (let i = 0; i < I; i++) out[o + i] = x[o + i] * scale[b * I + i];
    }
  return out;
}

/** output (B, T, H) -> its last step (B, H). */
export function lastStep(output: Float32Array, B: number, T: number, H: number): Float32Array {
  const last = new Float32Array(B * H);
  for (let b = 0; b < B; b++) last.set(output.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  return last;
}
