/**
 * The Masking layer (Keras `Masking`, tfjs `layers.masking`): a step (a
 * position of the input without its last axis) whose features all equal
 * `maskValue` is masked: the output mask is `any(x != maskValue, axis=-1)`,
 * and the output is the input times that mask (masked steps' features
 * become 0, as Keras multiplies by the mask). Any incoming mask is replaced.
 * No weights.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, Tensor } from '../../tensor.js';
import { requireTensor } from '../../validate.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkArgs, CoreLayer, dims, finiteNumber, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link Masking}. */
export interface MaskingLayerArgs extends CoreLayerArgs {
  /** The value that marks padding (default 0). */
  maskValue?: number;
}

export class Masking extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Masking';
  readonly maskValue: number;
  private saved: { keep: Uint8Array; shape: number[] } | null = null;

  constructor(args: MaskingLayerArgs = {}) {
    checkArgs(args, ['maskValue'], 'Masking', 'masking', '{maskValue: 0}');
    super(args, 'masking', 'Masking');
    this.maskValue = finiteNumber(args.maskValue, 'maskValue', 0);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  build(inputShape: Shape | Shape[]): void {
    this.checkShape(inputShape, 2, '[batch, ..., features]');
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...this.checkShape(inputShape, 2, '[batch, ..., features]')];
  }

  getWeights(): Float32Tensor[] {
    return [];
  }

  setWeights(weights: Tensor[]): void {
    this.noWeights(weights);
  }

  /** Per step (input without its last axis): 1 when any feature differs from maskValue. */
  private keep(value: unknown): { x: Float32Array; keep: Uint8Array; shape: number[] } {
    const t = requireTensor(value, `${this.what} input`);
    if (t.rank < 2) throw new RangeError(`${this.what} input must have shape [batch, ..., features], got ${formatShape(t.shape)}`);
    const x = this.floatInput(t);
    const shape = dims(t);
    const F = shape[shape.length - 1];
    const steps = F === 0 ? 0 : x.length / F;
    const keep = new Uint8Array(steps);
    for (let s = 0; s < steps; s++) {
      for (let f = 0; f < F; f++) {
        if (x[s * F + f] !== this.maskValue) {
          keep[s] = 1;
          break;
        }
      }
    }
    return { x, keep, shape };
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const { x, keep, shape } = this.keep(inputs[0]);
    const F = shape[shape.length - 1];
    const y = new Float32Array(x.length);
    for (let s = 0; s < keep.length; s++) if (keep[s]) y.set(x.subarray(s * F, (s + 1) * F), s * F);
    this.saved = ctx.training ? { keep, shape } : null;
    return [float32Tensor(y, shape)];
  }

  /** @internal dL/dx = dL/dy times the mask (constant). */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { keep, shape } = this.saved;
    const dy = this.upstream(dOutputs[0], shape);
    if (dy === null) return [null];
    const F = shape[shape.length - 1];
    const dx = new Float32Array(dy.length);
    for (let s = 0; s < keep.length; s++) if (keep[s]) dx.set(dy.subarray(s * F, (s + 1) * F), s * F);
    return [float32Tensor(dx, shape)];
  }

  /** The mask `any(x != maskValue, axis=-1)`, bool, the input's shape without its last axis. */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void masks;
    const { keep, shape } = this.keep(inputs[0]);
    return [new Tensor(keep, shape.slice(0, -1), 'bool')];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), maskValue: this.maskValue };
  }
}
