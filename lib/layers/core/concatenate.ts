/**
 * The Concatenate layer (Keras `Concatenate`, tfjs `layers.concatenate`):
 * joins two or more inputs along `axis` (default -1); their shapes must
 * agree on every other axis. Backward splits the gradient. No weights.
 *
 * Masks as Keras 3: when no input has a mask there is none; otherwise each
 * input's mask (all true for an input without one) is concatenated along
 * `axis`, and along the last axis, where masks have no entry, they are
 * joined with a logical OR (Keras 3's `any`; tf.keras 2 and tfjs used AND).
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, Tensor } from '../../tensor.js';
import { requireInt, requireTensor } from '../../validate.js';
import { isShapeList, type NodeContext, type Shape } from '../layer.js';
import { checkArgs, CoreLayer, dims, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link Concatenate}. */
export interface ConcatenateLayerArgs extends CoreLayerArgs {
  /** The axis to join along (default -1); not the batch axis. */
  axis?: number;
}

interface Saved {
  shapes: number[][];
  outShape: number[];
  a: number;
}

export class Concatenate extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Concatenate';
  readonly axis: number;
  private saved: Saved | null = null;

  constructor(args: ConcatenateLayerArgs = {}) {
    checkArgs(args, ['axis'], 'Concatenate', 'concatenate', '{axis: -1}');
    super(args, 'concatenate', 'Concatenate');
    this.axis = args.axis === undefined ? -1 : requireInt(args.axis, 'axis', Number.MIN_SAFE_INTEGER);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /** Checks a list of input shapes; returns the axis as a non-negative index. */
  private checkShapes(inputShape: Shape | Shape[]): { shapes: Shape[]; a: number } {
    if (!isShapeList(inputShape) || inputShape.length < 2) {
      throw new TypeError(`${this.what} must be applied to a list of at least 2 inputs, got ${isShapeList(inputShape) ? inputShape.length : 'one input'}`);
    }
    const shapes = inputShape;
    const rank = shapes[0].length;
    const a = this.axis < 0 ? this.axis + rank : this.axis;
    if (a < 1 || a >= rank) throw new RangeError(`${this.what}: axis ${this.axis} must name a non-batch axis of the inputs (rank ${rank})`);
    const bad = (): never => {
      throw new RangeError(`${this.what} needs inputs of the same shape except on axis ${this.axis}, got ${shapes.map((s) => formatShape(s)).join(', ')}`);
    };
    for (const s of shapes) {
      if (s.length !== rank) bad();
      for (let d = 0; d < rank; d++) if (d !== a && s[d] !== null && shapes[0][d] !== null && s[d] !== shapes[0][d]) bad();
    }
    return { shapes, a };
  }

  build(inputShape: Shape | Shape[]): void {
    this.checkShapes(inputShape);
    this.built = true;
  }

  /** The shared shape with the sizes along `axis` added (null if one is unknown). */
  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const { shapes, a } = this.checkShapes(inputShape);
    const out: Shape = shapes[0].map((_, d) => shapes.map((s) => s[d]).find((v) => v !== null) ?? null);
    out[a] = shapes.some((s) => s[a] === null) ? null : shapes.reduce((n, s) => n + (s[a] as number), 0);
    return out;
  }

  getWeights(): Float32Tensor[] {
    return [];
  }

  setWeights(weights: Tensor[]): void {
    this.noWeights(weights);
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const values = inputs.map((t, i) => this.floatInput(t, `${this.what} input ${i}`, false));
    const shapes = inputs.map((t) => dims(requireTensor(t, this.what)));
    const { a } = this.checkShapes(shapes);
    const outShape = [...shapes[0]];
    outShape[a] = shapes.reduce((n, s) => n + s[a], 0);
    const out = joinAlong(values, shapes, a, outShape);
    this.saved = ctx.training ? { shapes, outShape, a } : null;
    return [float32Tensor(out, outShape)];
  }

  /** @internal dL/d(input i): its slice of dL/dy. */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { shapes, outShape, a } = this.saved;
    const dy = this.upstream(dOutputs[0], outShape);
    if (dy === null) return shapes.map(() => null);
    const outer = outShape.slice(0, a).reduce((p, d) => p * d, 1);
    const inner = outShape.slice(a + 1).reduce((p, d) => p * d, 1);
    const rowLen = outShape[a] * inner;
    let offset = 0;
    return shapes.map((s) => {
      const chunk = s[a] * inner;
      const dx = new Float32Array(outer * chunk);
      for (let o = 0; o < outer; o++) dx.set(dy.subarray(o * rowLen + offset, o * rowLen + offset + chunk), o * chunk);
      offset += chunk;
      return float32Tensor(dx, s);
    });
  }

  /** Keras 3: the masks (all true where absent) concatenated along axis; along the last axis, OR-ed. */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    if (!masks.some((m) => m)) return [null];
    const shapes = inputs.map((t) => dims(requireTensor(t, this.what)));
    const { a } = this.checkShapes(shapes);
    const rank = shapes[0].length;
    const maskShapes = shapes.map((s) => s.slice(0, -1));
    const bits = inputs.map((_, i) => {
      const m = masks[i];
      return m ? this.maskValues(m, shapes[i], `${this.what} mask ${i}`) : new Uint8Array(maskShapes[i].reduce((p, d) => p * d, 1)).fill(1);
    });
    if (a === rank - 1) {
      const out = new Uint8Array(bits[0].length);
      for (const b of bits) for (let p = 0; p < out.length; p++) out[p] |= b[p];
      return [new Tensor(out, maskShapes[0], 'bool')];
    }
    const outShape = [...maskShapes[0]];
    outShape[a] = maskShapes.reduce((n, s) => n + s[a], 0);
    return [new Tensor(joinAlong(bits, maskShapes, a, outShape), outShape, 'bool')];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), axis: this.axis };
  }
}

/** Concatenates arrays of `shapes` along axis a into one of `outShape`. */
function joinAlong<T extends Float32Array | Uint8Array>(values: T[], shapes: number[][], a: number, outShape: number[]): T {
  const outer = outShape.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = outShape.slice(a + 1).reduce((p, d) => p * d, 1);
  const rowLen = outShape[a] * inner;
  const out = (values[0] instanceof Uint8Array ? new Uint8Array(outer * rowLen) : new Float32Array(outer * rowLen)) as T;
  let offset = 0;
  values.forEach((v, i) => {
    const chunk = shapes[i][a] * inner;
    for (let o = 0; o < outer; o++) out.set(v.subarray(o * chunk, (o + 1) * chunk) as never, o * rowLen + offset);
    offset += chunk;
  });
  return out;
}
