/**
 * The BatchNormalization layer (Keras `BatchNormalization`, tfjs
 * `layers.batchNormalization`), as Keras 3 does it:
 *
 * - training (and trainable): each channel of `axis` is normalised with the
 *   mean and the biased variance of the batch over every other axis, and the
 *   moving statistics are updated with that same biased variance:
 *   `moving = moving * momentum + batch * (1 - momentum)`;
 * - inference, or a frozen layer (`trainable: false`, even in training):
 *   the moving statistics.
 *
 * y = gamma * (x - mean) / sqrt(var + epsilon) + beta. Weights in Keras
 * order: [gamma, beta, moving_mean, moving_variance] (gamma without
 * `scale: false`, beta without `center: false`), each (C); only gamma and
 * beta are trained. With a mask (shape of the input without its last axis)
 * the batch statistics are weighted by it, as Keras 3 does: masked steps do
 * not count (they are still normalised).
 *
 * Backward goes through the batch statistics in training, through the
 * fixed moving statistics otherwise.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool, requireTensor } from '../../validate.js';
import { checkInitializer, initialize, Random, type InitializerConfig, type InitializerIdentifier } from '../initializers.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import { checkArgs, CoreLayer, dims, finiteNumber, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link BatchNormalization} (Keras names in camelCase, as tfjs). */
export interface BatchNormalizationLayerArgs extends CoreLayerArgs {
  /** The channel axis, normalised separately (default -1, the last); not the batch axis. */
  axis?: number;
  /** Momentum of the moving statistics (default 0.99), in [0, 1]. */
  momentum?: number;
  /** Added to the variance (default 1e-3), > 0. */
  epsilon?: number;
  /** Add beta (default true). */
  center?: boolean;
  /** Multiply by gamma (default true). */
  scale?: boolean;
  /** Initializer of beta (default `'zeros'`). */
  betaInitializer?: InitializerIdentifier;
  /** Initializer of gamma (default `'ones'`). */
  gammaInitializer?: InitializerIdentifier;
  /** Initializer of the moving mean (default `'zeros'`). */
  movingMeanInitializer?: InitializerIdentifier;
  /** Initializer of the moving variance (default `'ones'`). */
  movingVarianceInitializer?: InitializerIdentifier;
  /** Penalty on beta. */
  betaRegularizer?: RegularizerIdentifier;
  /** Penalty on gamma. */
  gammaRegularizer?: RegularizerIdentifier;
}

const BN_OPTIONS = [
  'axis',
  'momentum',
  'epsilon',
  'center',
  'scale',
  'betaInitializer',
  'gammaInitializer',
  'movingMeanInitializer',
  'movingVarianceInitializer',
  'betaRegularizer',
  'gammaRegularizer',
];

/** Keras's `backend.epsilon()`, added to the masked count as Keras 3 does. */
const KERAS_EPSILON = 1e-7;

interface Saved {
  x: Float32Array;
  shape: number[];
  /** The channel axis as an index. */
  a: number;
  /** Per value's row (input without its last axis): 0/1 weights; null: all count. */
  mask: Float32Array | null;
  /** The statistics used, per channel. */
  mean: Float64Array;
  invStd: Float64Array;
  /** Per channel: the count of values in the statistics (masked: + 1e-7). */
  count: Float64Array;
  /** Whether the batch statistics were used (backward goes through them). */
  batchStats: boolean;
  gamma: Float32Array | null;
}

export class BatchNormalization extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: InitializerConfig;
  readonly gammaInitializer: InitializerConfig;
  readonly movingMeanInitializer: InitializerConfig;
  readonly movingVarianceInitializer: InitializerConfig;
  readonly betaRegularizer: Regularizer | null;
  readonly gammaRegularizer: Regularizer | null;
  /** Channels C (the size of `axis`), once built. */
  private channels = 0;
  private gamma: Float32Array | null = null;
  private beta: Float32Array | null = null;
  private movingMean: Float32Array = new Float32Array(0);
  private movingVariance: Float32Array = new Float32Array(0);
  private saved: Saved | null = null;

  constructor(args: BatchNormalizationLayerArgs = {}) {
    checkArgs(args, BN_OPTIONS, 'BatchNormalization', 'batchNormalization', '{axis: -1}');
    super(args, 'batch_normalization', 'BatchNormalization');
    const axis = args.axis ?? -1;
    if (typeof axis !== 'number' || !Number.isInteger(axis)) throw new TypeError(`axis must be an integer, got ${JSON.stringify(args.axis)}`);
    this.axis = axis;
    this.momentum = finiteNumber(args.momentum, 'momentum', 0.99);
    if (this.momentum < 0 || this.momentum > 1) throw new RangeError(`momentum must be in [0, 1], got ${this.momentum}`);
    this.epsilon = finiteNumber(args.epsilon, 'epsilon', 1e-3);
    if (!(this.epsilon > 0)) throw new RangeError(`epsilon must be > 0, got ${this.epsilon}`);
    this.center = optionalBool(args.center, 'center', true);
    this.scale = optionalBool(args.scale, 'scale', true);
    this.betaInitializer = checkInitializer(args.betaInitializer ?? 'zeros', 'betaInitializer');
    this.gammaInitializer = checkInitializer(args.gammaInitializer ?? 'ones', 'gammaInitializer');
    this.movingMeanInitializer = checkInitializer(args.movingMeanInitializer ?? 'zeros', 'movingMeanInitializer');
    this.movingVarianceInitializer = checkInitializer(args.movingVarianceInitializer ?? 'ones', 'movingVarianceInitializer');
    this.betaRegularizer = checkRegularizer(args.betaRegularizer, 'betaRegularizer');
    this.gammaRegularizer = checkRegularizer(args.gammaRegularizer, 'gammaRegularizer');
    if (this.batchInputShape) this.resolveAxis(this.batchInputShape.length);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /** The axis as a non-negative index for inputs of this rank, checked. */
  private resolveAxis(rank: number): number {
    const a = this.axis < 0 ? this.axis + rank : this.axis;
    if (a < 1 || a >= rank) {
      throw new RangeError(`${this.what}: axis ${this.axis} must name a non-batch axis of the input (rank ${rank}: 1..${rank - 1} or -1..${1 - rank})`);
    }
    return a;
  }

  /** Creates gamma, beta and the moving statistics, each (C) for C = inputShape[axis]. */
  build(inputShape: Shape | Shape[]): void {
    const shape = this.checkShape(inputShape, 2, '[batch, ..., channels]');
    const a = this.resolveAxis(shape.length);
    const C = shape[a];
    if (typeof C !== 'number' || C < 1) throw new RangeError(`${this.what}: the dimension of axis ${this.axis} must be known, got ${formatShape(shape)}`);
    this.makeWeights(C);
  }

  private makeWeights(C: number): void {
    const rng = new Random();
    this.channels = C;
    this.gamma = this.scale ? initialize(this.gammaInitializer, 1, C, rng) : null;
    this.beta = this.center ? initialize(this.betaInitializer, 1, C, rng) : null;
    this.movingMean = initialize(this.movingMeanInitializer, 1, C, rng);
    this.movingVariance = initialize(this.movingVarianceInitializer, 1, C, rng);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...this.checkShape(inputShape, 2, '[batch, ..., channels]')];
  }

  /** [gamma, beta, moving_mean, moving_variance], each (C); gamma only with scale, beta only with center. */
  getWeights(): Float32Tensor[] {
    this.requireBuilt('getWeights');
    const C = this.channels;
    const out: Float32Tensor[] = [];
    if (this.gamma) out.push(float32Tensor(this.gamma.slice(), [C]));
    if (this.beta) out.push(float32Tensor(this.beta.slice(), [C]));
    out.push(float32Tensor(this.movingMean.slice(), [C]), float32Tensor(this.movingVariance.slice(), [C]));
    return out;
  }

  /**
   * Sets [gamma, beta, moving_mean, moving_variance] (Keras order; gamma
   * only with scale, beta only with center), each (C); builds the layer for
   * C channels if needed. The moving variance must be >= 0.
   */
  setWeights(weights: Tensor[]): void {
    const names = this.weightNames();
    this.checkWeightCount(weights, names);
    let C = this.channels;
    if (!this.built) {
      const first = requireTensor(weights[0], `${this.what} ${names[0]}`);
      if (first.rank !== 1) throw new RangeError(`${this.what} ${names[0]} must have shape [channels], got ${formatShape(first.shape)}`);
      C = first.shape[0];
    }
    const values = this.checkedWeights(weights, names.map((name) => ({ name, shape: [C] })));
    const mv = values[values.length - 1];
    for (let c = 0; c < C; c++) if (mv[c] < 0) throw new RangeError(`${this.what} moving_variance must be >= 0, got ${mv[c]} at [${c}]`);
    if (!this.built) {
      const declared = this.batchInputShape;
      const d = declared ? declared[this.resolveAxis(declared.length)] : null;
      if (d !== null && d !== C) throw new RangeError(`${this.what}: weights for ${C} channels, but the declared input has ${d}`);
      this.makeWeights(C);
    }
    let i = 0;
    this.gamma = this.scale ? values[i++] : null;
    this.beta = this.center ? values[i++] : null;
    this.movingMean = values[i++];
    this.movingVariance = values[i++];
    this.saved = null;
  }

  override weightNames(): string[] {
    return [...(this.scale ? ['gamma'] : []), ...(this.center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  }

  /** gamma and beta follow `trainable`; the moving statistics are never trained (the layer updates them). */
  override trainableWeightFlags(): boolean[] {
    return this.weightNames().map((n) => this.trainable && (n === 'gamma' || n === 'beta'));
  }

  protected override weightRegularizers(): Array<Regularizer | null> {
    return [...(this.scale ? [this.gammaRegularizer] : []), ...(this.center ? [this.betaRegularizer] : []), null, null];
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const xt = requireTensor(inputs[0], `${this.what} input`);
    const x = this.floatInput(xt);
    this.requireBuilt('forward');
    if (xt.rank < 2) throw new RangeError(`${this.what} input must have shape [batch, ..., channels], got ${formatShape(xt.shape)}`);
    const a = this.resolveAxis(xt.rank), C = this.channels;
    if (xt.shape[a] !== C) throw new RangeError(`${this.what} input ${formatShape(xt.shape)} has ${xt.shape[a]} on axis ${this.axis}, built for ${C} channels`);
    const shape = dims(xt);
    const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
    const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
    const last = shape[shape.length - 1];
    const maskBits = ctx.masks[0] ? this.maskValues(ctx.masks[0], shape) : null;
    const mask = maskBits ? Float32Array.from(maskBits) : null;
    // Weight of flat index f: mask[floor(f / last)].
    const batchStats = ctx.training && this.trainable;
    const mean = new Float64Array(C), variance = new Float64Array(C), count = new Float64Array(C);
    if (batchStats) {
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < C; c++) {
          const base = (o * C + c) * inner;
          for (let i = 0; i < inner; i++) {
            const w = mask ? mask[Math.floor((base + i) / last)] : 1;
            mean[c] += w * x[base + i];
            count[c] += w;
          }
        }
      if (mask) for (let c = 0; c < C; c++) count[c] += KERAS_EPSILON;
      for (let c = 0; c < C; c++) mean[c] = count[c] > 0 ? mean[c] / count[c] : 0;
      for (let o = 0; o < outer; o++)
        for (let c = 0; c < C; c++) {
          const base = (o * C + c) * inner, m = mean[c];
          for (let i = 0; i < inner; i++) {
            const w = mask ? mask[Math.floor((base + i) / last)] : 1;
            const d = x[base + i] - m;
            variance[c] += w * d * d;
          }
        }
      for (let c = 0; c < C; c++) variance[c] = count[c] > 0 ? variance[c] / count[c] : 0;
      const mom = this.momentum;
      const mm = new Float32Array(C), mv = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        mm[c] = this.movingMean[c] * mom + mean[c] * (1 - mom);
        mv[c] = this.movingVariance[c] * mom + variance[c] * (1 - mom);
      }
      this.movingMean = mm;
      this.movingVariance = mv;
    } else {
      for (let c = 0; c < C; c++) {
        mean[c] = this.movingMean[c];
        variance[c] = this.movingVariance[c];
      }
    }
    const invStd = new Float64Array(C);
    for (let c = 0; c < C; c++) invStd[c] = 1 / Math.sqrt(variance[c] + this.epsilon);
    const y = new Float32Array(x.length);
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < C; c++) {
        const base = (o * C + c) * inner;
        const g = this.gamma ? this.gamma[c] : 1, b = this.beta ? this.beta[c] : 0;
        const m = mean[c], s = invStd[c] * g;
        for (let i = 0; i < inner; i++) y[base + i] = (x[base + i] - m) * s + b;
      }
    this.saved = ctx.training ? { x, shape, a, mask, mean, invStd, count, batchStats, gamma: this.gamma } : null;
    return [float32Tensor(y, shape)];
  }

  /**
   * @internal Through the batch statistics (training), with s = 1/sqrt(var + eps),
   * g = dy * gamma, w the mask weights (1 without a mask) and n their sum:
   * dx = g s + w (dMean + 2 (x - mean) dVar) / n, where
   * dVar = -s^3/2 Σ g (x - mean) and dMean = -s Σ g - dVar * 2 Σ w (x - mean) / n.
   * Through fixed (moving) statistics: dx = g s.
   */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { x, shape, a, mask, mean, invStd, count, batchStats, gamma } = this.saved;
    const dy = this.upstream(dOutputs[0], shape);
    const C = this.channels;
    const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
    const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
    const last = shape[shape.length - 1];
    const dGamma = new Float64Array(C), dBeta = new Float64Array(C);
    const grads = (): void => {
      const out: Float32Array[] = [];
      if (this.scale) out.push(Float32Array.from(dGamma));
      if (this.center) out.push(Float32Array.from(dBeta));
      out.push(new Float32Array(C), new Float32Array(C));
      this.setGradients(out, out.map(() => [C]));
    };
    if (dy === null) {
      grads();
      return [null];
    }
    // Per channel: Σ dy, Σ dy (x - μ), and for the statistics' terms Σ w (x - μ).
    const sumDy = dBeta, sumDyXc = new Float64Array(C), sumWXc = new Float64Array(C);
    for (let o = 0; o < outer; o++)
      for (let c = 0; c < C; c++) {
        const base = (o * C + c) * inner, m = mean[c];
        for (let i = 0; i < inner; i++) {
          const xc = x[base + i] - m;
          sumDy[c] += dy[base + i];
          sumDyXc[c] += dy[base + i] * xc;
          if (batchStats) sumWXc[c] += (mask ? mask[Math.floor((base + i) / last)] : 1) * xc;
        }
      }
    for (let c = 0; c < C; c++) dGamma[c] = sumDyXc[c] * invStd[c];
    const dx = new Float32Array(x.length);
    for (let c = 0; c < C; c++) {
      const g = gamma ? gamma[c] : 1, s = invStd[c];
      let dVar = 0, dMean = 0;
      if (batchStats && count[c] > 0) {
        dVar = -0.5 * s * s * s * g * sumDyXc[c];
        dMean = -s * g * sumDy[c] - (dVar * 2 * sumWXc[c]) / count[c];
      }
      for (let o = 0; o < outer; o++) {
        const base = (o * C + c) * inner, m = mean[c];
        for (let i = 0; i < inner; i++) {
          let d = dy[base + i] * g * s;
          if (batchStats && count[c] > 0) {
            const w = mask ? mask[Math.floor((base + i) / last)] : 1;
            d += (w * (2 * (x[base + i] - m) * dVar + dMean)) / count[c];
          }
          dx[base + i] = d;
        }
      }
    }
    grads();
    return [float32Tensor(dx, shape)];
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: this.axis,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      betaInitializer: this.betaInitializer,
      gammaInitializer: this.gammaInitializer,
      movingMeanInitializer: this.movingMeanInitializer,
      movingVarianceInitializer: this.movingVarianceInitializer,
      betaRegularizer: this.betaRegularizer,
      gammaRegularizer: this.gammaRegularizer,
    };
  }
}
