/**
 * The Dense layer (Keras `Dense`, tfjs `layers.dense`): y = act(x W + b) on
 * the last axis of an input of any rank >= 2, so (B, T, F) gives
 * (B, T, units) (what `TimeDistributed(Dense)` also does). Weights in Keras
 * layout: kernel (F, units), bias (units).
 *
 * Forward and both gradients are one GEMM each on the active backend
 * (`backend().sgemm`: OpenBLAS on native, TypeScript on js), over the N rows
 * of x seen as (N, F).
 *
 * For a model that fuses the output activation with its loss (sigmoid or
 * softmax with crossentropy, as tf.keras does), {@link Dense.lastLogits}
 * gives the pre-activation of the last training forward and
 * {@link Dense.backwardFromLogits} backpropagates from dL/d(logits).
 */
import { backend } from '../../backend/index.js';
import type { KernelBackend } from '../../backend/types.js';
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool, requireInt, requireShape, requireTensor } from '../../validate.js';
import { checkInitializer, initialize, Random, type InitializerConfig, type InitializerIdentifier } from '../initializers.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import { activationBackward, activationForward, checkActivation, type ActivationIdentifier } from './activations.js';
import { checkArgs, checkSeed, columnSums, CoreLayer, dims, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Largest `units`, as the recurrent layers' limit: beyond it a request is more likely a typo. */
export const MAX_DENSE_UNITS = 1 << 20;

/** Options of {@link Dense} (Keras names in camelCase, as tfjs). */
export interface DenseLayerArgs extends CoreLayerArgs {
  /** Output features (1 to 2^20). */
  units: number;
  /** Activation applied to x W + b: `'linear'` (default), `'relu'`, `'softmax'` (last axis), ... see {@link ActivationIdentifier}. */
  activation?: ActivationIdentifier;
  /** Whether the layer has a bias (default true). */
  useBias?: boolean;
  /** Initializer of the kernel (default `'glorotUniform'`). */
  kernelInitializer?: InitializerIdentifier;
  /** Initializer of the bias (default `'zeros'`). */
  biasInitializer?: InitializerIdentifier;
  /** Penalty on the kernel, added to `regularizationLoss()` and to the kernel's gradient. */
  kernelRegularizer?: RegularizerIdentifier;
  /** Penalty on the bias. */
  biasRegularizer?: RegularizerIdentifier;
  /** Input features: `inputShape = [inputDim]` (tfjs). */
  inputDim?: number;
  /** Seed for the initial weights. */
  seed?: number;
}

const DENSE_OPTIONS = ['units', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer', 'kernelRegularizer', 'biasRegularizer', 'inputDim', 'seed'];

/** What a training forward keeps for backward. */
interface Saved {
  kernels: KernelBackend;
  /** x as (N, F). */
  x: Float32Array;
  /** Pre-activation x W + b, (N, units). */
  z: Float32Array;
  /** act(z), (N, units). */
  y: Float32Array;
  kernel: Float32Array;
  inShape: number[];
  outShape: number[];
  N: number;
}

export class Dense extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Dense';
  readonly units: number;
  /** The activation: a model may fuse a final sigmoid/softmax with its loss (see {@link lastLogits}). */
  readonly activation: ActivationIdentifier;
  readonly useBias: boolean;
  readonly kernelInitializer: InitializerConfig;
  readonly biasInitializer: InitializerConfig;
  readonly kernelRegularizer: Regularizer | null;
  readonly biasRegularizer: Regularizer | null;
  readonly seed: number | undefined;
  /** Input features F; known once built. */
  private inputSize = 0;
  /** kernel (F, units), replaced as a whole when the weights change. */
  private kernel: Float32Array = new Float32Array(0);
  private bias: Float32Array | null = null;
  private saved: Saved | null = null;
  /** The pre-activation of the last forward (training or not), for {@link lastLogits}. */
  private logits: { z: Float32Array; shape: number[] } | null = null;

  constructor(args: DenseLayerArgs) {
    checkArgs(args, DENSE_OPTIONS, 'Dense', 'dense', '{units: 8}');
    const { inputDim, ...rest } = args;
    if (inputDim !== undefined) {
      requireInt(inputDim, 'inputDim', 1);
      if (rest.inputShape !== undefined || rest.batchInputShape !== undefined) throw new TypeError('Dense: give inputShape or inputDim, not both');
    }
    super(inputDim !== undefined ? { ...rest, inputShape: [inputDim] } : rest, 'dense', 'Dense');
    this.units = requireInt(args.units, 'units', 1, MAX_DENSE_UNITS);
    this.activation = checkActivation(args.activation);
    this.useBias = optionalBool(args.useBias, 'useBias', true);
    this.kernelInitializer = checkInitializer(args.kernelInitializer ?? 'glorotUniform', 'kernelInitializer');
    this.biasInitializer = checkInitializer(args.biasInitializer ?? 'zeros', 'biasInitializer');
    this.kernelRegularizer = checkRegularizer(args.kernelRegularizer, 'kernelRegularizer');
    this.biasRegularizer = checkRegularizer(args.biasRegularizer, 'biasRegularizer');
    this.seed = checkSeed(args.seed);
    if (this.batchInputShape && this.batchInputShape.length < 2) {
      throw new RangeError(`Dense takes inputs of rank >= 2 [batch, ..., features]: inputShape must not be empty, got ${formatShape(this.batchInputShape.slice(1))}`);
    }
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /** Creates kernel (F, units) and bias (units) for inputs [batch, ..., F] with the layer's initializers and seed. */
  build(inputShape: Shape | Shape[]): void {
    const shape = this.checkShape(inputShape, 2, '[batch, ..., features]');
    const F = shape[shape.length - 1];
    if (typeof F !== 'number' || F < 1) throw new RangeError(`${this.what}: the last (features) dimension of the input must be known, got ${formatShape(shape)}`);
    const rng = new Random(this.seed);
    this.inputSize = F;
    this.kernel = initialize(this.kernelInitializer, F, this.units, rng);
    this.bias = this.useBias ? initialize(this.biasInitializer, 1, this.units, rng) : null;
    this.built = true;
  }

  /** [..., F] -> [..., units]. */
  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkShape(inputShape, 2, '[batch, ..., features]');
    const F = shape[shape.length - 1];
    // A built layer applied again (functional API) must see the features it was built for.
    if (this.built && F !== null && F !== this.inputSize) {
      throw new RangeError(`${this.what} was built for ${this.inputSize} input features, cannot take ${formatShape(shape)}`);
    }
    return [...shape.slice(0, -1), this.units];
  }

  /** [kernel (F, units), bias (units)] (no bias without useBias). */
  getWeights(): Float32Tensor[] {
    this.requireBuilt('getWeights');
    const out = [float32Tensor(this.kernel.slice(), [this.inputSize, this.units])];
    if (this.bias) out.push(float32Tensor(this.bias.slice(), [this.units]));
    return out;
  }

  /**
   * Sets [kernel (F, units), bias (units)] (no bias without useBias); builds
   * the layer from the kernel's shape if needed. Values are copied and must
   * be finite.
   */
  setWeights(weights: Tensor[]): void {
    this.checkWeightCount(weights, this.weightNames());
    const k = requireTensor(weights[0], `${this.what} kernel`);
    if (k.rank !== 2) throw new RangeError(`${this.what} kernel must have shape [inputFeatures, ${this.units}], got ${formatShape(k.shape)}`);
    const F = this.built ? this.inputSize : k.shape[0];
    const expected = [{ name: 'kernel', shape: [F, this.units] }];
    if (this.useBias) expected.push({ name: 'bias', shape: [this.units] });
    const [kernel, bias] = this.checkedWeights(weights, expected);
    if (!this.built) this.build([null, F]);
    this.kernel = kernel;
    this.bias = this.useBias ? bias : null;
    this.saved = null;
    this.logits = null;
  }

  override weightNames(): string[] {
    return this.useBias ? ['kernel', 'bias'] : ['kernel'];
  }

  protected override weightRegularizers(): Array<Regularizer | null> {
    return this.useBias ? [this.kernelRegularizer, this.biasRegularizer] : [this.kernelRegularizer];
  }

  /** @internal y = act(x W + b) on the last axis. */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const xt = requireTensor(inputs[0], `${this.what} input`);
    if (xt.rank < 2) throw new RangeError(`${this.what} input must have shape [batch, ..., features], got ${formatShape(xt.shape)}`);
    const xv = this.floatInput(xt);
    this.requireBuilt('forward');
    const F = this.inputSize, U = this.units;
    requireShape(xt, [...xt.shape.slice(0, -1).map(() => null), F], `${this.what} input (built for ${F} features)`);
    const inShape = dims(xt);
    const N = xv.length / F;
    const kernels = backend();
    const z = new Float32Array(N * U);
    if (this.bias) for (let n = 0; n < N; n++) z.set(this.bias, n * U);
    if (N > 0) kernels.sgemm({ transA: false, transB: false, m: N, n: U, k: F, alpha: 1, a: xv, lda: F, b: this.kernel, ldb: U, beta: this.bias ? 1 : 0, c: z, ldc: U });
    const y = activationForward(this.activation, z, U);
    const outShape = [...inShape.slice(0, -1), U];
    this.saved = ctx.training ? { kernels, x: xv, z, y, kernel: this.kernel, inShape, outShape, N } : null;
    this.logits = { z, shape: outShape };
    return [float32Tensor(y, outShape)];
  }

  /** @internal dL/dx from dL/dy; the weight gradients go to getGradients(). */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    const s = this.requireSaved();
    const dy = this.upstream(dOutputs[0], s.outShape);
    return [this.backwardFromZ(s, dy === null ? null : activationBackward(this.activation, s.z, s.y, dy, this.units))];
  }

  /**
   * The pre-activation x W + b (the logits) of the last forward, training or
   * not, in the output's shape; null before the first. With
   * `activation: 'linear'` it is the output itself. Read-only: it is what
   * backward uses.
   */
  lastLogits(): Float32Tensor | null {
    return this.logits ? float32Tensor(this.logits.z, this.logits.shape) : null;
  }

  /**
   * Backpropagates through the last training forward from dL/d(logits)
   * instead of dL/d(output), skipping the activation's derivative: for a
   * model that fuses the activation with its loss (softmax + categorical
   * crossentropy: dLogits = y - target). Resolves to [dL/dx]; the weight
   * gradients go to getGradients().
   */
  async backwardFromLogits(dLogits: Tensor): Promise<Array<Tensor | null>> {
    const s = this.requireSaved();
    const dz = this.upstream(dLogits, s.outShape, `${this.what} dLogits`);
    return [this.backwardFromZ(s, dz === null ? null : dz.slice())];
  }

  private requireSaved(): Saved {
    if (!this.saved) throw this.noForward();
    return this.saved;
  }

  /** dK = x^T dz, db = column sums of dz, dx = dz K^T. */
  private backwardFromZ(s: Saved, dz: Float32Array | null): Float32Tensor | null {
    const F = this.inputSize, U = this.units, N = s.N;
    const dKernel = new Float32Array(F * U);
    const shapes = this.useBias ? [[F, U], [U]] : [[F, U]];
    if (dz === null) {
      this.setGradients(this.useBias ? [dKernel, new Float32Array(U)] : [dKernel], shapes);
      return null;
    }
    const dx = new Float32Array(N * F);
    if (N > 0) {
      s.kernels.sgemm({ transA: true, transB: false, m: F, n: U, k: N, alpha: 1, a: s.x, lda: F, b: dz, ldb: U, beta: 0, c: dKernel, ldc: U });
      s.kernels.sgemm({ transA: false, transB: true, m: N, n: F, k: U, alpha: 1, a: dz, lda: U, b: s.kernel, ldb: U, beta: 0, c: dx, ldc: F });
    }
    this.setGradients(this.useBias ? [dKernel, columnSums(dz, N, U)] : [dKernel], shapes);
    return float32Tensor(dx, s.inShape);
  }

  /** The mask goes on with the axes Dense keeps: passed through for rank >= 3, dropped for (B, F). */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    return [inputs[0] && inputs[0].rank >= 3 ? (masks[0] ?? null) : null];
  }

  override getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      ...super.getConfig(),
      units: this.units,
      activation: this.activation,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      biasInitializer: this.biasInitializer,
      kernelRegularizer: this.kernelRegularizer,
      biasRegularizer: this.biasRegularizer,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
