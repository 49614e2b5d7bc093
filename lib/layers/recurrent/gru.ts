/**
 * The GRU layer (Keras `GRU`, tfjs `layers.gru`), on whichever backend is
 * active. Weights in Keras layout and gate order (z, r, h):
 * kernel (I, 3H), recurrentKernel (H, 3H), bias (3H), or (2, 3H) when
 * `resetAfter` (row 0 input bias, row 1 recurrent bias).
 */
import { backend } from '../../backend/index.js';
import {
  CANDIDATE_ACTIVATIONS,
  GATE_ACTIVATIONS,
  type CandidateActivation,
  type GateActivation,
  type GruForwardResult,
  type GruParams,
  type GruSpec,
  type KernelBackend,
} from '../../backend/types.js';
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';

/** A float32 tensor, what every GRU output and gradient is. */
type Float32Tensor = Tensor<'float32'>;
import { optionalBool, requireFinite, requireInt, requireOneOf, requireShape, requireTensor } from '../../validate.js';
import { glorotUniform, orthogonal, Random } from '../initializers.js';
import { Layer, type CallArgs, type LayerArgs, type Shape } from '../layer.js';

/**
 * Largest `units`: the recurrent kernel alone is then 3 * 8192^2 floats
 * (800 MB), and its orthogonal initialisation takes minutes; beyond that a
 * request is far more likely a typo than a model.
 */
export const MAX_UNITS = 8192;

/** Options of {@link GRU} (Keras names in camelCase, as tfjs). */
export interface GRULayerArgs extends LayerArgs {
  /** Size of the hidden state, H. */
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
  /**
   * Apply the reset gate after the recurrent matmul (default true: PyTorch,
   * CuDNN and the Keras 2.x/3 default, with a (2, 3H) bias). false is the
   * original Cho et al. form and the only one tfjs has.
   */
  resetAfter?: boolean;
  /** Return the whole sequence (B, T, H) instead of the last output (B, H). */
  returnSequences?: boolean;
  /** Also return the last state: `apply` resolves to `[output, state]`. */
  returnState?: boolean;
  /** Seed for the initial weights (glorotUniform kernel, orthogonal recurrent kernel, zero bias). */
  seed?: number;
}

/** Keyword arguments of {@link GRU.apply}. */
export interface GRUCallArgs extends CallArgs {
  /** Initial state (B, H), alone or as a one-element array; zeros when omitted. */
  initialState?: Tensor | Tensor[];
}

/** Gradients from {@link GRU.backward}. */
export interface GRUBackwardResult {
  /** dL/dx, shape (B, T, I). */
  dx: Tensor<'float32'>;
  /** dL/d(initial state), shape (B, H). */
  dInitialState: Tensor<'float32'>;
}

/** A call's arguments after the checks. */
interface CheckedCall {
  x: Tensor;
  xv: Float32Array;
  h0: Float32Array;
  training: boolean;
}

/** What a training call keeps for backward. */
interface Saved {
  kernels: KernelBackend;
  spec: GruSpec;
  params: GruParams;
  x: Float32Array;
  h0: Float32Array;
  forward: GruForwardResult;
}

export class GRU extends Layer {
  /** Keras class name. */
  static readonly className = 'GRU';
  readonly units: number;
  readonly activation: CandidateActivation;
  readonly recurrentActivation: GateActivation;
  readonly useBias: boolean;
  readonly resetAfter: boolean;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly seed: number | undefined;
  private inputSize = 0;
  /** The weights; replaced as a whole (never mutated) when they change. */
  private params: GruParams = { kernel: new Float32Array(0), recurrentKernel: new Float32Array(0), inputBias: null, recurrentBias: null };
  private saved: Saved | null = null;
  private gradients: Float32Tensor[] | null = null;

  constructor(args: GRULayerArgs) {
    if (args === null || typeof args !== 'object') throw new TypeError('layers.gru(args): args must be an object like {units: 32}');
    super(args, 'gru');
    this.units = requireInt(args.units, 'units', 1, MAX_UNITS);
    this.activation = args.activation === undefined ? 'tanh' : requireOneOf(args.activation, 'activation', CANDIDATE_ACTIVATIONS);
    this.recurrentActivation =
      args.recurrentActivation === undefined ? 'sigmoid' : requireOneOf(args.recurrentActivation, 'recurrentActivation', GATE_ACTIVATIONS);
    this.useBias = optionalBool(args.useBias, 'useBias', true);
    this.resetAfter = optionalBool(args.resetAfter, 'resetAfter', true);
    this.returnSequences = optionalBool(args.returnSequences, 'returnSequences', false);
    this.returnState = optionalBool(args.returnState, 'returnState', false);
    if (args.seed !== undefined) requireInt(args.seed, 'seed', 0, 2 ** 32 - 1);
    this.seed = args.seed;
    if (this.batchInputShape && this.batchInputShape.length !== 3) {
      throw new RangeError(`a GRU takes inputs of shape [batch, timesteps, features]: inputShape must be [timesteps|null, features], got ${formatShape(this.batchInputShape.slice(1))}`);
    }
  }

  /** Shape of the bias: (3H), or (2, 3H) when resetAfter. */
  private biasShape(): number[] {
    return this.resetAfter ? [2, 3 * this.units] : [3 * this.units];
  }

  /** Creates the weights for inputs of shape [batch, timesteps, features]. */
  build(inputShape: Shape): void {
    if (!Array.isArray(inputShape) || inputShape.length !== 3) {
      throw new RangeError(`GRU ${this.name}: input shape must be [batch, timesteps, features], got ${Array.isArray(inputShape) ? formatShape(inputShape) : String(inputShape)}`);
    }
    for (const d of inputShape) {
      if (d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d < 0)) {
        throw new RangeError(`GRU ${this.name}: input shape must hold non-negative integers or null, got ${formatShape(inputShape)}`);
      }
    }
    const I = inputShape[2];
    if (typeof I !== 'number' || I < 1) {
      throw new RangeError(`GRU ${this.name}: the features dimension of the input must be known, got ${formatShape(inputShape)}`);
    }
    const declared = this.batchInputShape?.[2];
    if (declared !== undefined && declared !== null && declared !== I) {
      throw new RangeError(`GRU ${this.name} was declared with inputShape features ${declared}, cannot build for ${formatShape(inputShape)}`);
    }
    const H = this.units;
    const rng = new Random(this.seed);
    this.inputSize = I;
    this.params = {
      kernel: glorotUniform(I, 3 * H, rng),
      recurrentKernel: orthogonal(H, 3 * H, rng, 1, (args) => backend().sgemm(args)),
      inputBias: this.useBias ? new Float32Array(3 * H) : null,
      recurrentBias: this.useBias && this.resetAfter ? new Float32Array(3 * H) : null,
    };
    this.built = true;
  }

  computeOutputShape(inputShape: Shape): Shape | Shape[] {
    const [B, T] = inputShape;
    const out: Shape = this.returnSequences ? [B, T, this.units] : [B, this.units];
    return this.returnState ? [out, [B, this.units]] : out;
  }

  /** [kernel (I,3H), recurrentKernel (H,3H), bias (3H) or (2,3H)] (no bias when useBias is false). */
  getWeights(): Float32Tensor[] {
    this.requireBuilt('getWeights');
    const H = this.units;
    const p = this.params;
    const out = [float32Tensor(p.kernel.slice(), [this.inputSize, 3 * H]), float32Tensor(p.recurrentKernel.slice(), [H, 3 * H])];
    if (this.useBias) out.push(float32Tensor(this.joinBias(p.inputBias, p.recurrentBias), this.biasShape()));
    return out;
  }

  /**
   * Sets [kernel (I,3H), recurrentKernel (H,3H), bias] in Keras layout; bias
   * is (3H), or (2, 3H) when resetAfter. Builds the layer from the kernel's
   * shape if needed. Every value must be finite.
   */
  setWeights(weights: Tensor[]): void {
    if (!Array.isArray(weights)) throw new TypeError(`GRU ${this.name}: setWeights expects an array of tensors`);
    const expected = this.useBias ? 3 : 2;
    if (weights.length !== expected) {
      throw new RangeError(`GRU ${this.name}: setWeights expects ${expected} tensors [kernel, recurrentKernel${this.useBias ? ', bias' : ''}], got ${weights.length}`);
    }
    const H = this.units;
    const kernel = requireTensor(weights[0], `GRU ${this.name} kernel`);
    if (kernel.rank !== 2) throw new RangeError(`GRU ${this.name} kernel must have shape [inputSize, ${3 * H}], got ${formatShape(kernel.shape)}`);
    const I = this.built ? this.inputSize : kernel.shape[0];
    requireShape(kernel, [I, 3 * H], `GRU ${this.name} kernel`);
    const recurrent = requireTensor(weights[1], `GRU ${this.name} recurrentKernel`);
    requireShape(recurrent, [H, 3 * H], `GRU ${this.name} recurrentKernel`);
    let bias: Tensor | null = null;
    if (this.useBias) {
      bias = requireTensor(weights[2], `GRU ${this.name} bias`);
      requireShape(bias, this.biasShape(), `GRU ${this.name} bias${this.resetAfter ? ' (resetAfter: row 0 input bias, row 1 recurrent bias)' : ''}`);
    }
    for (const [t, n] of [[kernel, 'kernel'], [recurrent, 'recurrentKernel'], [bias, 'bias']] as const) {
      if (t) requireFinite(t.view() as Float32Array, `GRU ${this.name} ${n}`);
    }
    if (!this.built) this.build([null, null, I]);
    const b = bias ? (bias.view() as Float32Array) : null;
    this.params = {
      kernel: (kernel.view() as Float32Array).slice(),
      recurrentKernel: (recurrent.view() as Float32Array).slice(),
      inputBias: b ? b.slice(0, 3 * H) : null,
      recurrentBias: b && this.resetAfter ? b.slice(3 * H, 6 * H) : null,
    };
    this.saved = null;
  }

  /**
   * Runs the layer over a batch of sequences x (B, T, I). Resolves to the
   * output ((B, T, H) with returnSequences, else (B, H)), or to
   * `[output, lastState]` with returnState. Builds the layer on first use.
   * With `training: true` it keeps what {@link backward} needs.
   */
  async apply(inputs: Tensor, kwargs: GRUCallArgs = {}): Promise<Float32Tensor | Float32Tensor[]> {
    // Everything is checked before the first build, so a rejected input
    // never leaves the layer built for the wrong shape.
    const checked = this.checkCall(inputs, kwargs);
    this.ensureBuilt([...checked.x.shape]);
    return this.run(checked);
  }

  /** Same as {@link apply} on a built layer (Keras's `call`). */
  async call(inputs: Tensor, kwargs: GRUCallArgs = {}): Promise<Float32Tensor | Float32Tensor[]> {
    this.requireBuilt('call');
    return this.run(this.checkCall(inputs, kwargs));
  }

  private checkCall(inputs: unknown, kwargs: unknown): CheckedCall {
    const x = requireTensor(inputs, `GRU ${this.name} input`);
    if (x.rank !== 3) throw new RangeError(`GRU ${this.name} input must have shape [batch, timesteps, features], got ${formatShape(x.shape)}`);
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new TypeError(`GRU ${this.name}: the second argument must be an object like {initialState, training}`);
    }
    const args = kwargs as GRUCallArgs;
    const [B, T, I] = x.shape;
    if (B < 1 || T < 1 || I < 1) throw new RangeError(`GRU ${this.name} input needs at least one sequence, one timestep and one feature, got ${formatShape(x.shape)}`);
    if (this.batchInputShape) requireShape(x, this.batchInputShape, `GRU ${this.name} input (declared inputShape)`);
    if (this.built) requireShape(x, [null, null, this.inputSize], `GRU ${this.name} input (built for ${this.inputSize} features)`);
    const xv = x.view() as Float32Array;
    requireFinite(xv, `GRU ${this.name} input`);
    const h0 = this.initialState(args.initialState, B);
    const training = optionalBool(args.training, 'training', false);
    return { x, xv, h0, training };
  }

  private async run({ x, xv, h0, training }: CheckedCall): Promise<Float32Tensor | Float32Tensor[]> {
    const [B, T, I] = x.shape;
    const H = this.units;
    const spec: GruSpec = {
      batch: B,
      steps: T,
      inputSize: I,
      units: H,
      resetAfter: this.resetAfter,
      activation: this.activation,
      recurrentActivation: this.recurrentActivation,
    };
    const params = this.params;
    const kernels = backend();
    const forward = await kernels.gruForward(spec, params, xv, h0, training);
    // backward runs on the backend that made the cache, even if the user
    // switches backends in between.
    this.saved = training ? { kernels, spec, params, x: xv, h0, forward } : null;
    const last = lastStep(forward.output, B, T, H);
    const output = this.returnSequences ? float32Tensor(forward.output, [B, T, H]) : float32Tensor(last, [B, H]);
    return this.returnState ? [output, float32Tensor(last.slice(), [B, H])] : output;
  }

  /**
   * Backpropagates through the last training call: `dOutput` is dL/d(output)
   * (same shape as the output; null for none), `dState` dL/d(last state)
   * (returnState only). Resolves to dL/dx and dL/d(initial state); the
   * weight gradients are then available from {@link getGradients}.
   */
  async backward(dOutput: Tensor | null, dState: Tensor | null = null): Promise<GRUBackwardResult> {
    if (!this.saved) throw new Error(`GRU ${this.name}: backward needs a preceding apply(x, {training: true})`);
    const { kernels, spec, params, x, h0, forward } = this.saved;
    const { batch: B, steps: T, units: H } = spec;
    let dOut: Float32Array | null = null;
    let dLast: Float32Array | null = null;
    if (dOutput !== null && dOutput !== undefined) {
      const d = requireTensor(dOutput, `GRU ${this.name} dOutput`);
      requireShape(d, this.returnSequences ? [B, T, H] : [B, H], `GRU ${this.name} dOutput`);
      requireFinite(d.view() as Float32Array, `GRU ${this.name} dOutput`);
      if (this.returnSequences) dOut = d.view() as Float32Array;
      else dLast = (d.view() as Float32Array).slice();
    }
    if (dState !== null && dState !== undefined) {
      const d = requireTensor(dState, `GRU ${this.name} dState`);
      requireShape(d, [B, H], `GRU ${this.name} dState`);
      requireFinite(d.view() as Float32Array, `GRU ${this.name} dState`);
      const dv = d.view() as Float32Array;
      if (!dLast) dLast = dv.slice();
      else for (let i = 0; i < dLast.length; i++) dLast[i] += dv[i];
    }
    const g = await kernels.gruBackward(spec, params, x, h0, forward, dOut, dLast);
    const grads = [float32Tensor(g.dKernel, [spec.inputSize, 3 * H]), float32Tensor(g.dRecurrentKernel, [H, 3 * H])];
    if (this.useBias) grads.push(float32Tensor(this.joinBias(g.dInputBias, g.dRecurrentBias), this.biasShape()));
    this.gradients = grads;
    return { dx: float32Tensor(g.dx, [B, T, spec.inputSize]), dInitialState: float32Tensor(g.dh0, [B, H]) };
  }

  /** Gradients of the weights from the last {@link backward}, in {@link getWeights} order. */
  getGradients(): Float32Tensor[] {
    if (!this.gradients) throw new Error(`GRU ${this.name}: no gradients yet; call backward() after a training apply()`);
    return this.gradients;
  }

  override getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      recurrentActivation: this.recurrentActivation,
      useBias: this.useBias,
      resetAfter: this.resetAfter,
      returnSequences: this.returnSequences,
      returnState: this.returnState,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }

  private joinBias(input: Float32Array | null, recurrent: Float32Array | null): Float32Array {
    const H3 = 3 * this.units;
    const out = new Float32Array(this.resetAfter ? 2 * H3 : H3);
    if (input) out.set(input.subarray(0, H3));
    if (this.resetAfter && recurrent) out.set(recurrent.subarray(0, H3), H3);
    return out;
  }

  private initialState(state: Tensor | Tensor[] | undefined, batch: number): Float32Array {
    const H = this.units;
    if (state === undefined || state === null) return new Float32Array(batch * H);
    const list = Array.isArray(state) ? state : [state];
    if (list.length !== 1) throw new RangeError(`GRU ${this.name}: initialState must hold one tensor (batch, ${H}), got ${list.length}`);
    const h0 = requireTensor(list[0], `GRU ${this.name} initialState[0]`);
    requireShape(h0, [batch, H], `GRU ${this.name} initialState[0]`);
    const v = h0.view() as Float32Array;
    requireFinite(v, `GRU ${this.name} initialState[0]`);
    return v;
  }

  private requireBuilt(what: string): void {
    if (!this.built) throw new Error(`GRU ${this.name}: ${what} before the layer is built; call build(inputShape), setWeights() or apply() first`);
  }
}

/** output (B, T, H) -> its last step (B, H). */
function lastStep(output: Float32Array, B: number, T: number, H: number): Float32Array {
  const last = new Float32Array(B * H);
  for (let b = 0; b < B; b++) last.set(output.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
  return last;
}
