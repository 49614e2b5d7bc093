/**
 * The LSTM layer (Keras `LSTM`, tfjs `layers.lstm`), on whichever backend is
 * active. Weights in Keras layout and gate order (i, f, c, o):
 * kernel (I, 4H), recurrentKernel (H, 4H), bias (4H). PyTorch's nn.LSTM maps
 * onto it with kernel = weight_ih^T, recurrentKernel = weight_hh^T and
 * bias = bias_ih + bias_hh (same gate order).
 */
import { backend } from '../../backend/index.js';
import type { KernelBackend, LstmForwardResult, LstmParams, LstmSpec } from '../../backend/types.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool } from '../../validate.js';
import type { Shape } from '../layer.js';
import type { StepMask } from './stepMask.js';
import { lastStep, RecurrentLayer, type CheckedCall, type Float32Tensor, type RecurrentCallArgs, type RecurrentLayerArgs } from './recurrentLayer.js';

/** Options of {@link LSTM} (Keras names in camelCase, as tfjs). */
export interface LSTMLayerArgs extends RecurrentLayerArgs {
  /** Initialise the forget gate's bias to 1 (default true, as Keras). */
  unitForgetBias?: boolean;
}

/** Keyword arguments of {@link LSTM.apply}: `initialState` is `[h0, c0]`, each (B, H). */
export type LSTMCallArgs = RecurrentCallArgs;

/** Gradients from {@link LSTM.backward}. */
export interface LSTMBackwardResult {
  /** dL/dx, shape (B, T, I). */
  dx: Tensor<'float32'>;
  /** dL/d(initial states) [dh0, dc0], each (B, H). */
  dInitialState: Tensor<'float32'>[];
}

interface Saved {
  kernels: KernelBackend;
  spec: LstmSpec;
  params: LstmParams;
  steps: StepMask | null;
  dropoutScale: Float32Array | null;
  forward: LstmForwardResult;
}

export class LSTM extends RecurrentLayer {
  /** Keras class name. */
  static readonly className = 'LSTM';
  readonly unitForgetBias: boolean;
  /** The weights; replaced as a whole (never mutated) when they change. */
  private params: LstmParams = { kernel: new Float32Array(0), recurrentKernel: new Float32Array(0), bias: null };
  private saved: Saved | null = null;

  constructor(args: LSTMLayerArgs) {
    super(args, 'lstm', 'LSTM', ['h', 'c'], ['unitForgetBias']);
    this.unitForgetBias = optionalBool(args.unitForgetBias, 'unitForgetBias', true);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /**
   * Creates the weights for inputs of shape [batch, timesteps, features]
   * with the layer's initializers (Keras defaults: Glorot-uniform kernel,
   * orthogonal recurrent kernel, zero bias), the forget block of the bias at
   * 1 when unitForgetBias.
   */
  build(inputShape: Shape): void {
    const I = this.featuresOf(inputShape);
    const H = this.units;
    const w = this.initialWeights(I, 4);
    this.inputSize = I;
    let bias: Float32Array | null = null;
    if (this.useBias) {
      bias = w.bias(4 * H);
      if (this.unitForgetBias) bias.fill(1, H, 2 * H);
    }
    this.params = { kernel: w.kernel, recurrentKernel: w.recurrentKernel, bias };
    this.built = true;
  }

  /** [kernel (I,4H), recurrentKernel (H,4H), bias (4H)] (no bias when useBias is false). */
  getWeights(): Float32Tensor[] {
    this.requireBuilt('getWeights');
    const H = this.units;
    const p = this.params;
    const out = [float32Tensor(p.kernel.slice(), [this.inputSize, 4 * H]), float32Tensor(p.recurrentKernel.slice(), [H, 4 * H])];
    if (p.bias) out.push(float32Tensor(p.bias.slice(), [4 * H]));
    return out;
  }

  /**
   * Sets [kernel (I,4H), recurrentKernel (H,4H), bias (4H)] in Keras layout
   * and gate order i, f, c, o. Builds the layer from the kernel's shape if
   * needed. Every value must be finite.
   */
  setWeights(weights: Tensor[]): void {
    const w = this.checkedWeights(weights, 4, [4 * this.units]);
    this.params = { kernel: w.kernel, recurrentKernel: w.recurrentKernel, bias: w.bias };
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
    const spec: LstmSpec = { batch: B, steps: T, inputSize: I, units: H, activation: this.activation, recurrentActivation: this.recurrentActivation };
    const params = this.params;
    const kernels = backend();
    // Inference without the sequence: the kernel hands back only the last state.
    const lastOnly = !training && !this.returnSequences && T > 0;
    const forward = await kernels.lstmForward(spec, params, xv, states[0], states[1], steps?.read ?? null, recurrentScale, training, lastOnly);
    this.saved = training ? { kernels, spec, params, steps, dropoutScale, forward } : null;
    return this.outputs(forward.output, [lastOnly ? forward.output : lastStep(forward.output, B, T, H), forward.c], steps, B, T);
  }

  protected async backwardFromList(dOutput: Tensor | null, dStates: Array<Tensor | null>): Promise<{ dx: Float32Tensor; dInitialState: Float32Tensor[] }> {
    return this.backward(dOutput, dStates[0] ?? null, dStates[1] ?? null);
  }

  /**
   * Backpropagates through the last training call: `dOutput` is dL/d(output)
   * (null for none), `dH` and `dC` dL/d(last h) and dL/d(last c)
   * (returnState). Resolves to dL/dx and [dL/dh0, dL/dc0]; the weight
   * gradients are then available from {@link getGradients}.
   */
  async backward(dOutput: Tensor | null, dH: Tensor | null = null, dC: Tensor | null = null): Promise<LSTMBackwardResult> {
    return this.exclusively('backward', () => this.backwardNow(dOutput, dH, dC));
  }

  private async backwardNow(dOutput: Tensor | null, dH: Tensor | null, dC: Tensor | null): Promise<LSTMBackwardResult> {
    if (!this.saved) throw new Error(`LSTM ${this.name}: backward needs a preceding apply(x, {training: true})`);
    const { kernels, spec, params, steps, dropoutScale, forward } = this.saved;
    const { batch: B, steps: T, units: H } = spec;
    const { dSequence, dLast } = this.upstream(dOutput, [dH, dC], ['dH', 'dC'], steps, B, T);
    const g = await kernels.lstmBackward(spec, params, forward, dSequence, dLast[0], dLast[1]);
    const grads = [float32Tensor(g.dKernel, [spec.inputSize, 4 * H]), float32Tensor(g.dRecurrentKernel, [H, 4 * H])];
    if (g.dBias) grads.push(float32Tensor(g.dBias, [4 * H]));
    this.setGradients(grads);
    return { dx: this.inputGradient(g.dx, steps, dropoutScale, B, T), dInitialState: [float32Tensor(g.dh0, [B, H]), float32Tensor(g.dc0, [B, H])] };
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), unitForgetBias: this.unitForgetBias };
  }
}
