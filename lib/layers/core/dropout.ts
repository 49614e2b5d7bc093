/**
 * The Dropout layer (Keras `Dropout`, tfjs `layers.dropout`): in training,
 * each value is zeroed with probability `rate` and the kept ones are scaled
 * by 1 / (1 - rate) (inverted dropout); at inference it is the identity.
 * `noiseShape` shares one draw along the axes where it is 1 (e.g.
 * `[null, 1, null]`: the same features dropped at every timestep). Seeded
 * with `seed`: the sequence of masks is then reproducible. The mask passes
 * through.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { requireTensor } from '../../validate.js';
import { Random } from '../initializers.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkArgs, checkSeed, CoreLayer, dims, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link Dropout} (Keras names in camelCase, as tfjs). */
export interface DropoutLayerArgs extends CoreLayerArgs {
  /** Fraction of the values to drop while training, in [0, 1). */
  rate: number;
  /**
   * Shape of the drop mask, broadcast over the input: one entry per input
   * axis (batch first), each 1 (one draw shared along that axis), the
   * input's size, or null (the input's size).
   */
  noiseShape?: Array<number | null>;
  /** Seed of the drop masks. */
  seed?: number;
}

interface Saved {
  /** Per value: 0 or 1 / (1 - rate); null when nothing was dropped (rate 0). */
  scale: Float32Array | null;
  shape: number[];
}

export class Dropout extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Dropout';
  readonly rate: number;
  readonly noiseShape: Array<number | null> | null;
  readonly seed: number | undefined;
  private readonly rng: Random;
  private saved: Saved | null = null;

  constructor(args: DropoutLayerArgs) {
    checkArgs(args, ['rate', 'noiseShape', 'seed'], 'Dropout', 'dropout', '{rate: 0.5}');
    super(args, 'dropout', 'Dropout');
    const rate = args.rate;
    if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new RangeError(`rate must be a number in [0, 1), got ${JSON.stringify(rate)}`);
    this.rate = rate;
    if (args.noiseShape === undefined || args.noiseShape === null) this.noiseShape = null;
    else {
      if (!Array.isArray(args.noiseShape)) throw new TypeError(`noiseShape must be an array like [null, 1, null], got ${JSON.stringify(args.noiseShape)}`);
      for (const d of args.noiseShape) {
        if (d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d < 1)) throw new TypeError(`noiseShape must hold positive integers or null, got ${JSON.stringify(args.noiseShape)}`);
      }
      this.noiseShape = [...args.noiseShape];
    }
    this.seed = checkSeed(args.seed);
    this.rng = new Random(this.seed);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  build(inputShape: Shape | Shape[]): void {
    const shape = this.checkShape(inputShape, 1, '[batch, ...]');
    if (this.noiseShape) this.resolveNoiseShape(shape);
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

  /** noiseShape against an input shape: nulls filled, each entry 1 or the input's size. */
  private resolveNoiseShape(shape: Shape): Array<number | null> {
    const noise = this.noiseShape as Array<number | null>;
    if (noise.length !== shape.length) throw new RangeError(`${this.what}: noiseShape ${formatShape(noise)} must have one entry per input axis, input shape ${formatShape(shape)}`);
    return noise.map((d, a) => {
      if (d === null) return shape[a];
      if (d !== 1 && shape[a] !== null && d !== shape[a]) throw new RangeError(`${this.what}: noiseShape ${formatShape(noise)} must hold 1 or the input's size on each axis, input shape ${formatShape(shape)}`);
      return d;
    });
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const x = requireTensor(inputs[0], `${this.what} input`);
    if (x.rank < 1) throw new RangeError(`${this.what} input must have a batch dimension, got ${formatShape(x.shape)}`);
    const v = this.floatInput(x);
    const shape = dims(x);
    if (!ctx.training || this.rate === 0) {
      this.saved = ctx.training ? { scale: null, shape } : null;
      return [float32Tensor(v.slice(), shape)];
    }
    const scale = this.dropScale(shape);
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = v[i] * scale[i];
    this.saved = { scale, shape };
    return [float32Tensor(out, shape)];
  }

  /** The scale of each value: 0 with probability rate, else 1 / (1 - rate); shared along noiseShape's 1s. */
  private dropScale(shape: number[]): Float32Array {
    const n = shape.reduce((a, b) => a * b, 1);
    const keep = 1 / (1 - this.rate);
    const draw = (): number => (this.rng.next() < this.rate ? 0 : keep);
    const scale = new Float32Array(n);
    if (!this.noiseShape) {
      for (let i = 0; i < n; i++) scale[i] = draw();
      return scale;
    }
    const noise = this.resolveNoiseShape(shape) as number[];
    const drawn = new Float32Array(noise.reduce((a, b) => a * b, 1));
    for (let i = 0; i < drawn.length; i++) drawn[i] = draw();
    // Stride of each input axis in the drawn array (0 where it broadcasts).
    const rank = shape.length;
    const strides = new Array<number>(rank);
    let s = 1;
    for (let a = rank - 1; a >= 0; a--) {
      strides[a] = noise[a] === 1 && shape[a] !== 1 ? 0 : s;
      s *= noise[a];
    }
    const idx = new Array<number>(rank).fill(0);
    let src = 0;
    for (let i = 0; i < n; i++) {
      scale[i] = drawn[src];
      for (let a = rank - 1; a >= 0; a--) {
        idx[a]++;
        src += strides[a];
        if (idx[a] < shape[a]) break;
        src -= strides[a] * shape[a];
        idx[a] = 0;
      }
    }
    return scale;
  }

  /** @internal dL/dx = dL/dy * the same scale as the forward. */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { scale, shape } = this.saved;
    const dy = this.upstream(dOutputs[0], shape);
    if (dy === null) return [null];
    const dx = new Float32Array(dy.length);
    if (scale) for (let i = 0; i < dy.length; i++) dx[i] = dy[i] * scale[i];
    else dx.set(dy);
    return [float32Tensor(dx, shape)];
  }

  override getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = { ...super.getConfig(), rate: this.rate };
    if (this.noiseShape) config.noiseShape = [...this.noiseShape];
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
