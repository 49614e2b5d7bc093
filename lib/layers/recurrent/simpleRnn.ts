/**
 * The SimpleRNN layer (Keras `SimpleRNN`, tfjs `layers.simpleRNN`):
 * h' = activation(x W + h U + b), on whichever backend is active, with the
 * options every recurrent layer has (masks, lengths, goBackwards, stateful,
 * dropout, recurrentDropout, initializers, regularizers). Weights in Keras
 * layout: kernel (I, H), recurrentKernel (H, H), bias (H); PyTorch's nn.RNN
 * maps onto it with kernel = weight_ih^T, recurrentKernel = weight_hh^T,
 * bias = bias_ih + bias_hh.
 */
import { backend } from '../../backend/index.js';
import type { KernelBackend, RnnForwardResult, RnnParams, RnnSpec } from '../../backend/types.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import type { Shape } from '../layer.js';
import { lastStep, RecurrentLayer, type CheckedCall, type Float32Tensor, type RecurrentCallArgs, type RecurrentLayerArgs } from './recurrentLayer.js';
import type { StepMask } from './stepMask.js';

/** Options of {@link SimpleRNN}: those of every recurrent layer, without `recurrentActivation`. */
export type SimpleRNNLayerArgs = Omit<RecurrentLayerArgs, 'recurrentActivation'>;

/** Keyword arguments of {@link SimpleRNN.apply}: `initialState` is one (B, H) tensor. */
export type SimpleRNNCallArgs = RecurrentCallArgs;

/** Gradients from {@link SimpleRNN.backward}. */
export interface SimpleRNNBackwardResult {
  dx: Tensor<'float32'>;
  dInitialState: Tensor<'float32'>;
}

interface Saved {
  kernels: KernelBackend;
  spec: RnnSpec;
  params: RnnParams;
  steps: StepMask | null;
  dropoutScale: Float32Array | null;
  forward: RnnForwardResult;
}

export class SimpleRNN extends RecurrentLayer {
  /** Keras class name. */
  static readonly className = 'SimpleRNN';
  private params: RnnParams = { kernel: new Float32Array(0), recurrentKernel: new Float32Array(0), bias: null };
  private saved: Saved | null = null;

  constructor(args: SimpleRNNLayerArgs) {
    if (args && typeof args === 'object' && 'recurrentActivation' in args) {
      throw new TypeError('SimpleRNN has no recurrentActivation (it has no gates); use activation');
    }
    super(args, 'simple_rnn', 'SimpleRNN', ['h']);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /** Creates the weights (Keras defaults: Glorot-uniform kernel, orthogonal recurrent kernel, zero bias). */
  build(inputShape: Shape): void {
    const I = this.featuresOf(inputShape);
    const w = this.initialWeights(I, 1);
    this.inputSize = I;
    this.params = { kernel: w.kernel, recurrentKernel: w.recurrentKernel, bias: this.useBias ? w.bias(this.units) : null };
    this.built = true;
  }

  /** [kernel (I,H), recurrentKernel (H,H), bias (H)] (no bias when useBias is false). */
  getWeights(): Float32Tensor[] {
    this.requireBuilt('getWeights');
    const H = this.units;
    const p = this.params;
    const out = [float32Tensor(p.kernel.slice(), [this.inputSize, H]), float32Tensor(p.recurrentKernel.slice(), [H, H])];
    if (p.bias) out.push(float32Tensor(p.bias.slice(), [H]));
    return out;
  }

  /** Sets [kernel (I,H), recurrentKernel (H,H), bias (H)]; builds from the kernel's shape if needed. */
  setWeights(weights: Tensor[]): void {
    const w = this.checkedWeights(weights, 1, [this.units]);
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
    const spec: RnnSpec = { batch: B, steps: T, inputSize: I, units: H, activation: this.activation };
    const params = this.params;
    const kernels = backend();
    // Inference without the sequence: the kernel hands back only the last state.
    const lastOnly = !training && !this.returnSequences && T > 0;
    const forward = await kernels.simpleRnnForward(spec, params, xv, states[0], steps?.read ?? null, recurrentScale, training, lastOnly);
    this.saved = training ? { kernels, spec, params, steps, dropoutScale, forward } : null;
    return this.outputs(forward.output, [lastOnly ? forward.output : lastStep(forward.output, B, T, H)], steps, B, T);
  }

  protected async backwardFromList(dOutput: Tensor | null, dStates: Array<Tensor | null>): Promise<{ dx: Float32Tensor; dInitialState: Float32Tensor[] }> {
    const r = await this.backward(dOutput, dStates[0] ?? null);
    return { dx: r.dx, dInitialState: [r.dInitialState] };
  }

  /** Backpropagates through the last training call (as {@link GRU.backward}). */
  async backward(dOutput: Tensor | null, dState: Tensor | null = null): Promise<SimpleRNNBackwardResult> {
    return this.exclusively('backward', () => this.backwardNow(dOutput, dState));
  }

  private async backwardNow(dOutput: Tensor | null, dState: Tensor | null): Promise<SimpleRNNBackwardResult> {
    if (!this.saved) throw new Error(`SimpleRNN ${this.name}: backward needs a preceding apply(x, {training: true})`);
    const { kernels, spec, params, steps, dropoutScale, forward } = this.saved;
    const { batch: B, steps: T, units: H } = spec;
    const { dSequence, dLast } = this.upstream(dOutput, [dState], ['dState'], steps, B, T);
    const g = await kernels.simpleRnnBackward(spec, params, forward, dSequence, dLast[0]);
    const grads = [float32Tensor(g.dKernel, [spec.inputSize, H]), float32Tensor(g.dRecurrentKernel, [H, H])];
    if (g.dBias) grads.push(float32Tensor(g.dBias, [H]));
    this.setGradients(grads);
    return { dx: this.inputGradient(g.dx, steps, dropoutScale, B, T), dInitialState: float32Tensor(g.dh0, [B, H]) };
  }

  override getConfig(): Record<string, unknown> {
    const { recurrentActivation: _unused, ...config } = super.getConfig();
    return config;
  }
}
