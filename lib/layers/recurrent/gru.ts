/**
 * The GRU layer (Keras `GRU`, tfjs `layers.gru`), on whichever backend is
 * active. Weights in Keras layout and gate order (z, r, h):
 * kernel (I, 3H), recurrentKernel (H, 3H), bias (3H), or (2, 3H) when
 * `resetAfter` (row 0 input bias, row 1 recurrent bias).
 */
import { backend } from '../../backend/index.js';
import type { GruForwardResult, GruParams, GruSpec, KernelBackend } from '../../backend/types.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool } from '../../validate.js';
import { lastStep, RecurrentLayer, type CheckedCall, type Float32Tensor, type RecurrentCallArgs, type RecurrentLayerArgs } from './recurrentLayer.js';
import type { Shape } from '../layer.js';
import type { StepMask } from './stepMask.js';

export { MAX_UNITS } from './recurrentLayer.js';

/** Options of {@link GRU} (Keras names in camelCase, as tfjs). */
export interface GRULayerArgs extends RecurrentLayerArgs {
  /**
   * Apply the reset gate after the recurrent matmul (default true: PyTorch,
   * CuDNN and the Keras 2.x/3 default, with a (2, 3H) bias). false is the
   * original Cho et al. form and the only one tfjs has.
   */
  resetAfter?: boolean;
}

/** Keyword arguments of {@link GRU.apply}: `initialState` is one (B, H) tensor. */
export type GRUCallArgs = RecurrentCallArgs;

/** Gradients from {@link GRU.backward}. */
export interface GRUBackwardResult {
  /** dL/dx, shape (B, T, I). */
  dx: Tensor<'float32'>;
  /** dL/d(initial state), shape (B, H). */
  dInitialState: Tensor<'float32'>;
}

/** What a training call keeps for backward. */
interface Saved {
  kernels: KernelBackend;
  spec: GruSpec;
  params: GruParams;
  steps: StepMask | null;
  dropoutScale: Float32Array | null;
  forward: GruForwardResult;
}

export class GRU extends RecurrentLayer {
  /** Keras class name. */
  static readonly className = 'GRU';
  readonly resetAfter: boolean;
  /** The weights; replaced as a whole (never mutated) when they change. */
  private params: GruParams = { kernel: new Float32Array(0), recurrentKernel: new Float32Array(0), inputBias: null, recurrentBias: null };
  private saved: Saved | null = null;

  constructor(args: GRULayerArgs) {
    super(args, 'gru', 'GRU', ['h'], ['resetAfter']);
    this.resetAfter = optionalBool(args.resetAfter, 'resetAfter', true);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /** Shape of the bias: (3H), or (2, 3H) when resetAfter. */
  private biasShape(): number[] {
    return this.resetAfter ? [2, 3 * this.units] : [3 * this.units];
  }

  /**
   * Creates the weights for inputs of shape [batch, timesteps, features]
   * with the layer's initializers (Keras defaults: Glorot-uniform kernel,
   * orthogonal recurrent kernel, zero bias).
   */
  build(inputShape: Shape): void {
    const I = this.featuresOf(inputShape);
    const H = this.units;
    const w = this.initialWeights(I, 3);
    this.inputSize = I;
    this.params = {
      kernel: w.kernel,
      recurrentKernel: w.recurrentKernel,
      inputBias: this.useBias ? w.bias(3 * H) : null,
      recurrentBias: this.useBias && this.resetAfter ? w.bias(3 * H) : null,
    };
    this.built = true;
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
    const H = this.units;
    const w = this.checkedWeights(weights, 3, this.biasShape(), this.resetAfter ? ' (resetAfter: row 0 input bias, row 1 recurrent bias)' : '');
    this.params = {
      kernel: w.kernel,
      recurrentKernel: w.recurrentKernel,
      inputBias: w.bias ? w.bias.slice(0, 3 * H) : null,
      recurrentBias: w.bias && this.resetAfter ? w.bias.slice(3 * H, 6 * H) : null,
    };
    this.dropSaved();
  }

  /**
   * Forgets the last training call, giving its cache's memory back to the
   * kernels now (new weights or a new training call make it useless; the
   * training step sets new weights after every batch).
   */
  private dropSaved(): void {
    if (this.saved) this.saved.kernels.releaseCache(this.saved.forward);
    this.saved = null;
  }

  protected async run({ x, xv, states, steps, dropoutScale, recurrentScale, training }: CheckedCall): Promise<Float32Tensor | Float32Tensor[]> {
    // The previous training call's cache is no longer needed (backward pairs
    // with the latest one): hand its memory back before this call asks.
    if (training) this.dropSaved();
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
    const h0 = states[0];
    const kernels = backend();
    // Inference without the sequence: the kernel hands back only the last state.
    const lastOnly = !training && !this.returnSequences && T > 0;
    const forward = await kernels.gruForward(spec, params, xv, h0, steps?.read ?? null, recurrentScale, training, lastOnly);
    // backward runs on the backend that made the cache, even if the user
    // switches backends in between.
    this.saved = training ? { kernels, spec, params, steps, dropoutScale, forward } : null;
    return this.outputs(forward.output, [lastOnly ? forward.output : lastStep(forward.output, B, T, H)], steps, B, T);
  }

  protected async backwardFromList(dOutput: Tensor | null, dStates: Array<Tensor | null>): Promise<{ dx: Float32Tensor; dInitialState: Float32Tensor[] }> {
    const r = await this.backward(dOutput, dStates[0] ?? null);
    return { dx: r.dx, dInitialState: [r.dInitialState] };
  }

  /**
   * Backpropagates through the last training call: `dOutput` is dL/d(output)
   * (same shape as the output; null for none), `dState` dL/d(last state)
   * (returnState). Resolves to dL/dx and dL/d(initial state); the weight
   * gradients are then available from {@link getGradients}.
   */
  async backward(dOutput: Tensor | null, dState: Tensor | null = null): Promise<GRUBackwardResult> {
    return this.exclusively('backward', () => this.backwardNow(dOutput, dState));
  }

  private async backwardNow(dOutput: Tensor | null, dState: Tensor | null): Promise<GRUBackwardResult> {
    if (!this.saved) throw new Error(`GRU ${this.name}: backward needs a preceding apply(x, {training: true})`);
    const { kernels, spec, params, steps, dropoutScale, forward } = this.saved;
    const { batch: B, steps: T, units: H } = spec;
    const { dSequence, dLast } = this.upstream(dOutput, [dState], ['dState'], steps, B, T);
    const g = await kernels.gruBackward(spec, params, forward, dSequence, dLast[0]);
    const grads = [float32Tensor(g.dKernel, [spec.inputSize, 3 * H]), float32Tensor(g.dRecurrentKernel, [H, 3 * H])];
    if (this.useBias) grads.push(float32Tensor(this.joinBias(g.dInputBias, g.dRecurrentBias), this.biasShape()));
    this.setGradients(grads);
    return { dx: this.inputGradient(g.dx, steps, dropoutScale, B, T), dInitialState: float32Tensor(g.dh0, [B, H]) };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), resetAfter: this.resetAfter };
  }

  private joinBias(input: Float32Array | null, recurrent: Float32Array | null): Float32Array {
    const H3 = 3 * this.units;
    const out = new Float32Array(this.resetAfter ? 2 * H3 : H3);
    if (input) out.set(input.subarray(0, H3));
    if (this.resetAfter && recurrent) out.set(recurrent.subarray(0, H3), H3);
    return out;
  }
}
