/**
 * The Permute layer (Keras `Permute`, tfjs `layers.permute`): reorders the
 * non-batch axes; `dims` is a permutation of 1..rank-1 (1-indexed, as
 * Keras), e.g. `[2, 1]` swaps time and features of (B, T, F). Backward
 * applies the inverse permutation. No weights; the mask is dropped.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { requireTensor } from '../../validate.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkArgs, CoreLayer, dims, invertPermutation, transpose, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link Permute}. */
export interface PermuteLayerArgs extends CoreLayerArgs {
  /** A permutation of 1..rank-1: output axis i+1 is input axis dims[i]. */
  dims: number[];
}

export class Permute extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Permute';
  readonly dims: number[];
  /** The permutation over all axes (batch first). */
  private readonly perm: number[];
  private saved: { shape: number[] } | null = null;

  constructor(args: PermuteLayerArgs) {
    checkArgs(args, ['dims'], 'Permute', 'permute', '{dims: [2, 1]}');
    super(args, 'permute', 'Permute');
    const d = args.dims;
    const sorted = Array.isArray(d) ? [...d].sort((a, b) => a - b) : null;
    if (!sorted || sorted.length === 0 || sorted.some((v, i) => v !== i + 1)) {
      throw new TypeError(`dims must be a permutation of 1..${Array.isArray(d) ? d.length : 'n'} (1-indexed, the batch axis excluded), got ${JSON.stringify(d)}`);
    }
    this.dims = [...d];
    this.perm = [0, ...d];
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  private checkRank(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkShape(inputShape, 2, `[batch, ${this.dims.map((_, i) => `d${i + 1}`).join(', ')}]`);
    if (shape.length !== this.perm.length) throw new RangeError(`${this.what} (dims ${JSON.stringify(this.dims)}) takes inputs of rank ${this.perm.length}, got ${formatShape(shape)}`);
    return shape;
  }

  build(inputShape: Shape | Shape[]): void {
    this.checkRank(inputShape);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkRank(inputShape);
    return this.perm.map((a) => shape[a]);
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
    const x = this.floatInput(t);
    const shape = this.checkRank(dims(t)) as number[];
    this.saved = ctx.training ? { shape } : null;
    return [float32Tensor(transpose(x, shape, this.perm), this.perm.map((a) => shape[a]))];
  }

  /** @internal */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { shape } = this.saved;
    const outShape = this.perm.map((a) => shape[a]);
    const dy = this.upstream(dOutputs[0], outShape);
    return [dy === null ? null : float32Tensor(transpose(dy, outShape, invertPermutation(this.perm)), shape)];
  }

  /** No mask: the axes it would describe may have moved. */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs, masks;
    return [null];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), dims: [...this.dims] };
  }
}
