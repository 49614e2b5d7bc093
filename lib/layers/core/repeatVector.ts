/**
 * The RepeatVector layer (Keras `RepeatVector`, tfjs `layers.repeatVector`):
 * (B, F) -> (B, n, F), each row repeated n times (an encoder's last state
 * fed to every step of a decoder). Backward sums over the n copies. No
 * weights; no mask.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { requireInt, requireTensor } from '../../validate.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkArgs, CoreLayer, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link RepeatVector}. */
export interface RepeatVectorLayerArgs extends CoreLayerArgs {
  /** How many times to repeat (>= 1). */
  n: number;
}

export class RepeatVector extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'RepeatVector';
  readonly n: number;
  private saved: { B: number; F: number } | null = null;

  constructor(args: RepeatVectorLayerArgs) {
    checkArgs(args, ['n'], 'RepeatVector', 'repeatVector', '{n: 10}');
    super(args, 'repeat_vector', 'RepeatVector');
    this.n = requireInt(args.n, 'n', 1);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  private check2d(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkShape(inputShape, 2, '[batch, features]');
    if (shape.length !== 2) throw new RangeError(`${this.what} input must have shape [batch, features], got ${formatShape(shape)}`);
    return shape;
  }

  build(inputShape: Shape | Shape[]): void {
    this.check2d(inputShape);
    this.built = true;
  }

  /** [B, F] -> [B, n, F]. */
  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const [B, F] = this.check2d(inputShape);
    return [B, this.n, F];
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
    if (t.rank !== 2) throw new RangeError(`${this.what} input must have shape [batch, features], got ${formatShape(t.shape)}`);
    const x = this.floatInput(t);
    const [B, F] = t.shape;
    const n = this.n;
    const y = new Float32Array(B * n * F);
    for (let b = 0; b < B; b++) {
      const row = x.subarray(b * F, (b + 1) * F);
      for (let k = 0; k < n; k++) y.set(row, (b * n + k) * F);
    }
    this.saved = ctx.training ? { B, F } : null;
    return [float32Tensor(y, [B, n, F])];
  }

  /** @internal dL/dx: the sum of dL/dy over the n copies. */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { B, F } = this.saved;
    const n = this.n;
    const dy = this.upstream(dOutputs[0], [B, n, F]);
    if (dy === null) return [null];
    const dx = new Float32Array(B * F);
    const acc = new Float64Array(F);
    for (let b = 0; b < B; b++) {
      acc.fill(0);
      for (let k = 0; k < n; k++) {
        const o = (b * n + k) * F;
        for (let f = 0; f < F; f++) acc[f] += dy[o + f];
      }
      for (let f = 0; f < F; f++) dx[b * F + f] = acc[f];
    }
    return [float32Tensor(dx, [B, F])];
  }

  /** No mask (Keras's RepeatVector does not carry one). */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs, masks;
    return [null];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), n: this.n };
  }
}
