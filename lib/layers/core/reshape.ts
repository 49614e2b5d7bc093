/**
 * The Reshape layer (Keras `Reshape`, tfjs `layers.reshape`): (B, ...) ->
 * (B, ...targetShape), the values in the same order; one entry of
 * targetShape may be -1 (inferred). No weights; no mask.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { requireTensor } from '../../validate.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkArgs, CoreLayer, dims, knownSize, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link Reshape}. */
export interface ReshapeLayerArgs extends CoreLayerArgs {
  /** The shape of one sample (no batch dimension): positive integers, at most one -1. */
  targetShape: number[];
}

export class Reshape extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Reshape';
  readonly targetShape: number[];
  private saved: { shape: number[]; outShape: number[] } | null = null;

  constructor(args: ReshapeLayerArgs) {
    checkArgs(args, ['targetShape'], 'Reshape', 'reshape', '{targetShape: [4, 3]}');
    super(args, 'reshape', 'Reshape');
    const t = args.targetShape;
    if (!Array.isArray(t) || t.some((d) => typeof d !== 'number' || !Number.isInteger(d) || (d < 1 && d !== -1))) {
      throw new TypeError(`targetShape must be an array of positive integers (one may be -1), got ${JSON.stringify(t)}`);
    }
    if (t.filter((d) => d === -1).length > 1) throw new TypeError(`targetShape may hold one -1, got ${JSON.stringify(t)}`);
    this.targetShape = [...t];
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /** targetShape for `size` values per sample (null: unknown), -1 resolved; throws when it cannot fit. */
  private resolve(size: number | null, inputShape: Shape): Shape {
    const t = this.targetShape;
    const fixed = t.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
    const bad = (): never => {
      throw new RangeError(`${this.what}: cannot reshape an input of shape ${formatShape(inputShape)} to [batch, ${t.join(', ')}]`);
    };
    if (!t.includes(-1)) {
      if (size !== null && size !== fixed) bad();
      return [...t];
    }
    if (size === null) return t.map((d) => (d === -1 ? null : d));
    if (fixed === 0 || size % fixed !== 0) bad();
    return t.map((d) => (d === -1 ? size / fixed : d));
  }

  build(inputShape: Shape | Shape[]): void {
    this.computeOutputShape(inputShape);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkShape(inputShape, 1, '[batch, ...]');
    return [shape[0], ...this.resolve(knownSize(shape.slice(1)), shape)];
  }

  getWeights(): Float32Tensor[] {
    return [];
  }

  setWeights(weights: Tensor[]): void {
    this.noWeights(weights);
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const t = requireTensor(inputs[0], `${this.what} input`);
    if (t.rank < 1) throw new RangeError(`${this.what} input must have a batch dimension, got ${formatShape(t.shape)}`);
    const x = this.floatInput(t);
    const shape = dims(t);
    const outShape = [shape[0], ...(this.resolve(shape.slice(1).reduce((p, d) => p * d, 1), shape) as number[])];
    this.saved = ctx.training ? { shape, outShape } : null;
    return [float32Tensor(x.slice(), outShape)];
  }

  /** @internal dL/dx: dL/dy in the input's shape. */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const dy = this.upstream(dOutputs[0], this.saved.outShape);
    return [dy === null ? null : float32Tensor(dy.slice(), this.saved.shape)];
  }

  /** No mask (Keras's Reshape does not carry one). */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs, masks;
    return [null];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), targetShape: [...this.targetShape] };
  }
}
