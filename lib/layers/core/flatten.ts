/**
 * The Flatten layer (Keras `Flatten`, tfjs `layers.flatten`): (B, d1, d2, ...)
 * -> (B, d1 * d2 * ...); a (B) input gives (B, 1). With
 * `dataFormat: 'channelsFirst'` the channel axis (1) is moved last before
 * flattening, as Keras does. No weights; the mask is dropped.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { requireOneOf, requireTensor } from '../../validate.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkArgs, CoreLayer, dims, invertPermutation, knownSize, transpose, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link Flatten}. */
export interface FlattenLayerArgs extends CoreLayerArgs {
  /** `'channelsLast'` (default) or `'channelsFirst'` (axis 1 is moved last before flattening). */
  dataFormat?: 'channelsLast' | 'channelsFirst';
}

export class Flatten extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Flatten';
  readonly dataFormat: 'channelsLast' | 'channelsFirst';
  /** The input shape of the last training forward. */
  private saved: { shape: number[] } | null = null;

  constructor(args: FlattenLayerArgs = {}) {
    checkArgs(args, ['dataFormat'], 'Flatten', 'flatten', '{}');
    super(args, 'flatten', 'Flatten');
    this.dataFormat = args.dataFormat === undefined ? 'channelsLast' : requireOneOf(args.dataFormat, 'dataFormat', ['channelsLast', 'channelsFirst'] as const);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  build(inputShape: Shape | Shape[]): void {
    this.checkShape(inputShape, 1, '[batch, ...]');
    this.built = true;
  }

  /** [B, d1, d2, ...] -> [B, d1 * d2 * ...] (null when a dimension is unknown). */
  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkShape(inputShape, 1, '[batch, ...]');
    return [shape[0], shape.length === 1 ? 1 : knownSize(shape.slice(1))];
  }

  getWeights(): Float32Tensor[] {
    return [];
  }

  setWeights(weights: Tensor[]): void {
    this.noWeights(weights);
  }

  /** channelsFirst with rank > 2: [0, 2, ..., r-1, 1]. */
  private perm(rank: number): number[] | null {
    if (this.dataFormat !== 'channelsFirst' || rank <= 2) return null;
    return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const x = requireTensor(inputs[0], `${this.what} input`);
    if (x.rank < 1) throw new RangeError(`${this.what} input must have a batch dimension, got ${formatShape(x.shape)}`);
    const v = this.floatInput(x);
    const shape = dims(x);
    const perm = this.perm(shape.length);
    const out = perm ? transpose(v, shape, perm) : v.slice();
    this.saved = ctx.training ? { shape } : null;
    return [float32Tensor(out, [shape[0], shape.slice(1).reduce((p, d) => p * d, 1)])];
  }

  /** @internal dL/dx: dL/dy in the input's shape. */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { shape } = this.saved;
    const B = shape[0], F = shape.slice(1).reduce((p, d) => p * d, 1);
    const dy = this.upstream(dOutputs[0], [B, F]);
    if (dy === null) return [null];
    const perm = this.perm(shape.length);
    const dx = perm ? transpose(dy, perm.map((a) => shape[a]), invertPermutation(perm)) : dy.slice();
    return [float32Tensor(dx, shape)];
  }

  /** Keras's Flatten does not carry a mask. */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs, masks;
    return [null];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dataFormat: this.dataFormat };
  }
}
