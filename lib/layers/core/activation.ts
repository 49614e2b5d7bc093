/**
 * The Activation layer (Keras `Activation`, tfjs `layers.activation`):
 * applies an activation element-wise (softmax and logSoftmax on the last
 * axis). No weights; the mask passes through.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { requireTensor } from '../../validate.js';
import type { NodeContext, Shape } from '../layer.js';
import { activationBackward, activationForward, checkActivation, type ActivationIdentifier } from './activations.js';
import { checkArgs, CoreLayer, dims, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link Activation}. */
export interface ActivationLayerArgs extends CoreLayerArgs {
  /** The activation, e.g. `'relu'` or `'softmax'`: see {@link ActivationIdentifier}. */
  activation: ActivationIdentifier;
}

interface Saved {
  z: Float32Array;
  y: Float32Array;
  shape: number[];
}

export class Activation extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Activation';
  /** The activation: a model may fuse a final sigmoid/softmax with its loss (see {@link lastLogits}). */
  readonly activation: ActivationIdentifier;
  private saved: Saved | null = null;
  /** The input of the last forward (training or not), for {@link lastLogits}. */
  private logits: { z: Float32Array; shape: number[] } | null = null;

  constructor(args: ActivationLayerArgs) {
    checkArgs(args, ['activation'], 'Activation', 'activation', "{activation: 'relu'}");
    super(args, 'activation', 'Activation');
    if (args.activation === undefined) throw new TypeError("Activation: activation is required, e.g. {activation: 'relu'}");
    this.activation = checkActivation(args.activation);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  build(inputShape: Shape | Shape[]): void {
    this.checkShape(inputShape, 1, '[batch, ...]');
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...this.checkShape(inputShape, 1, '[batch, ...]')];
  }

  getWeights(): Float32Tensor[] {
    return [];
  }

  setWeights(weights: Tensor[]): void {
    this.noWeights(weights);
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const x = requireTensor(inputs[0], `${this.what} input`);
    if (x.rank < 1) throw new RangeError(`${this.what} input must have a batch dimension, got ${formatShape(x.shape)}`);
    const z = this.floatInput(x);
    const shape = dims(x);
    const last = shape[shape.length - 1];
    const y = activationForward(this.activation, z, last);
    this.saved = ctx.training ? { z, y, shape } : null;
    this.logits = { z, shape };
    return [float32Tensor(y === z ? z.slice() : y, shape)];
  }

  /** @internal */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { z, y, shape } = this.saved;
    const dy = this.upstream(dOutputs[0], shape);
    return [dy === null ? null : float32Tensor(activationBackward(this.activation, z, y, dy, shape[shape.length - 1]), shape)];
  }

  /** The input of the last forward, training or not (the logits a model fusing this activation with its loss needs); null before the first. */
  lastLogits(): Float32Tensor | null {
    return this.logits ? float32Tensor(this.logits.z, this.logits.shape) : null;
  }

  /** Backpropagates through the last training forward from dL/d(input) directly (the fused activation + loss path): resolves to [dLogits], checked. */
  async backwardFromLogits(dLogits: Tensor): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const d = this.upstream(dLogits, this.saved.shape, `${this.what} dLogits`);
    return [d === null ? null : float32Tensor(d.slice(), this.saved.shape)];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), activation: this.activation };
  }
}
