/**
 * The LayerNormalization layer (Keras `LayerNormalization`, tfjs
 * `layers.layerNormalization`): each sample is normalised over `axis` (one
 * axis or a list, default the last) with its own mean and biased variance,
 * y = gamma * (x - mean) / sqrt(var + epsilon) + beta, the same in training
 * and inference. Weights [gamma, beta] (Keras order), of the shape of the
 * normalised axes. `rmsScaling` (Keras 3): y = gamma * x / sqrt(var + epsilon),
 * no beta. The mask passes through.
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, type Tensor } from '../../tensor.js';
import { optionalBool, requireTensor } from '../../validate.js';
import { checkInitializer, initialize, Random, type InitializerConfig, type InitializerIdentifier } from '../initializers.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import { checkArgs, CoreLayer, dims, finiteNumber, invertPermutation, transpose, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Options of {@link LayerNormalization} (Keras names in camelCase, as tfjs). */
export interface LayerNormalizationLayerArgs extends CoreLayerArgs {
  /** The axis or axes to normalise over (default -1); not the batch axis. */
  axis?: number | number[];
  /** Added to the variance (default 1e-3), > 0. */
  epsilon?: number;
  /** Add beta (default true). */
  center?: boolean;
  /** Multiply by gamma (default true). */
  scale?: boolean;
  /** Keras 3: scale by gamma / sqrt(var + epsilon) only (center and scale ignored; weights [gamma]). Default false. */
  rmsScaling?: boolean;
  /** Initializer of beta (default `'zeros'`). */
  betaInitializer?: InitializerIdentifier;
  /** Initializer of gamma (default `'ones'`). */
  gammaInitializer?: InitializerIdentifier;
  /** Penalty on beta. */
  betaRegularizer?: RegularizerIdentifier;
  /** Penalty on gamma. */
  gammaRegularizer?: RegularizerIdentifier;
}

const LN_OPTIONS = ['axis', 'epsilon', 'center', 'scale', 'rmsScaling', 'betaInitializer', 'gammaInitializer', 'betaRegularizer', 'gammaRegularizer'];

interface Layout {
  /** Transpose putting the normalised axes last (null: they already are). */
  perm: number[] | null;
  /** Groups (samples x other positions) and values per group. */
  groups: number;
  M: number;
}

interface Saved {
  /** x with the normalised axes last, (groups, M). */
  x: Float32Array;
  shape: number[];
  layout: Layout;
  mean: Float64Array;
  invStd: Float64Array;
}

export class LayerNormalization extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'LayerNormalization';
  readonly axis: number | number[];
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly rmsScaling: boolean;
  readonly betaInitializer: InitializerConfig;
  readonly gammaInitializer: InitializerConfig;
  readonly betaRegularizer: Regularizer | null;
  readonly gammaRegularizer: Regularizer | null;
  /** The dims of the normalised axes, in `axis` order; the shape of gamma and beta. */
  private paramShape: number[] = [];
  private gamma: Float32Array | null = null;
  private beta: Float32Array | null = null;
  private saved: Saved | null = null;

  constructor(args: LayerNormalizationLayerArgs = {}) {
    checkArgs(args, LN_OPTIONS, 'LayerNormalization', 'layerNormalization', '{axis: -1}');
    super(args, 'layer_normalization', 'LayerNormalization');
    const axis = args.axis ?? -1;
    const list = Array.isArray(axis) ? axis : [axis];
    if (list.length === 0 || !list.every((a) => typeof a === 'number' && Number.isInteger(a))) {
      throw new TypeError(`axis must be an integer or a non-empty list of integers, got ${JSON.stringify(args.axis)}`);
    }
    this.axis = Array.isArray(axis) ? [...axis] : axis;
    this.epsilon = finiteNumber(args.epsilon, 'epsilon', 1e-3);
    if (!(this.epsilon > 0)) throw new RangeError(`epsilon must be > 0, got ${this.epsilon}`);
    this.center = optionalBool(args.center, 'center', true);
    this.scale = optionalBool(args.scale, 'scale', true);
    this.rmsScaling = optionalBool(args.rmsScaling, 'rmsScaling', false);
    this.betaInitializer = checkInitializer(args.betaInitializer ?? 'zeros', 'betaInitializer');
    this.gammaInitializer = checkInitializer(args.gammaInitializer ?? 'ones', 'gammaInitializer');
    this.betaRegularizer = checkRegularizer(args.betaRegularizer, 'betaRegularizer');
    this.gammaRegularizer = checkRegularizer(args.gammaRegularizer, 'gammaRegularizer');
    if (this.batchInputShape) this.axesFor(this.batchInputShape.length);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  private get hasGamma(): boolean {
    return this.scale || this.rmsScaling;
  }

  private get hasBeta(): boolean {
    return this.center && !this.rmsScaling;
  }

  /** The normalised axes as non-negative indices for inputs of this rank, checked. */
  private axesFor(rank: number): number[] {
    const list = Array.isArray(this.axis) ? this.axis : [this.axis];
    const axes = list.map((a) => (a < 0 ? a + rank : a));
    axes.forEach((a, i) => {
      if (a < 1 || a >= rank) throw new RangeError(`${this.what}: axis ${list[i]} must name a non-batch axis of the input (rank ${rank})`);
    });
    if (new Set(axes).size !== axes.length) throw new RangeError(`${this.what}: axis ${JSON.stringify(this.axis)} names an axis twice`);
    return axes;
  }

  /** Creates gamma and beta of the shape of the normalised axes. */
  build(inputShape: Shape | Shape[]): void {
    const shape = this.checkShape(inputShape, 2, '[batch, ..., features]');
    const param = this.axesFor(shape.length).map((a) => shape[a]);
    if (param.some((d) => d === null || d < 1)) throw new RangeError(`${this.what}: the normalised axes ${JSON.stringify(this.axis)} must have known sizes, got ${formatShape(shape)}`);
    this.makeWeights(param as number[]);
  }

  private makeWeights(param: number[]): void {
    const rng = new Random();
    const M = param.reduce((p, d) => p * d, 1);
    this.paramShape = param;
    this.gamma = this.hasGamma ? initialize(this.gammaInitializer, 1, M, rng) : null;
    this.beta = this.hasBeta ? initialize(this.betaInitializer, 1, M, rng) : null;
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...this.checkShape(inputShape, 2, '[batch, ..., features]')];
  }

  /** [gamma, beta] of the normalised axes' shape (gamma only with scale or rmsScaling, beta only with center). */
  getWeights(): Float32Tensor[] {
    this.requireBuilt('getWeights');
    const out: Float32Tensor[] = [];
    if (this.gamma) out.push(float32Tensor(this.gamma.slice(), this.paramShape));
    if (this.beta) out.push(float32Tensor(this.beta.slice(), this.paramShape));
    return out;
  }

  /** Sets [gamma, beta] (Keras order; copied; finite). Builds the layer from their shape if needed. */
  setWeights(weights: Tensor[]): void {
    const names = this.weightNames();
    this.checkWeightCount(weights, names);
    let param = this.paramShape;
    if (!this.built && names.length > 0) {
      const first = requireTensor(weights[0], `${this.what} ${names[0]}`);
      const count = Array.isArray(this.axis) ? this.axis.length : 1;
      if (first.rank !== count) throw new RangeError(`${this.what} ${names[0]} must have one dimension per normalised axis (${count}), got ${formatShape(first.shape)}`);
      param = dims(first);
    }
    const values = this.checkedWeights(weights, names.map((name) => ({ name, shape: param })));
    if (!this.built) this.makeWeights(param);
    let i = 0;
    this.gamma = this.hasGamma ? values[i++] : null;
    this.beta = this.hasBeta ? values[i++] : null;
    this.saved = null;
  }

  override weightNames(): string[] {
    return [...(this.hasGamma ? ['gamma'] : []), ...(this.hasBeta ? ['beta'] : [])];
  }

  protected override weightRegularizers(): Array<Regularizer | null> {
    return [...(this.hasGamma ? [this.gammaRegularizer] : []), ...(this.hasBeta ? [this.betaRegularizer] : [])];
  }

  /** How an input of this shape is grouped; checks the normalised axes' sizes. */
  private layout(shape: number[]): Layout {
    const axes = this.axesFor(shape.length);
    const got = axes.map((a) => shape[a]);
    if (got.some((d, i) => d !== this.paramShape[i])) {
      throw new RangeError(`${this.what} input ${formatShape(shape)} has ${formatShape(got)} on axes ${JSON.stringify(this.axis)}, built for ${formatShape(this.paramShape)}`);
    }
    const M = got.reduce((p, d) => p * d, 1);
    const n = shape.reduce((p, d) => p * d, 1);
    const trailing = axes.every((a, i) => a === shape.length - axes.length + i);
    const perm = trailing ? null : [...shape.keys()].filter((a) => !axes.includes(a)).concat(axes);
    return { perm, groups: M === 0 ? 0 : n / M, M };
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const xt = requireTensor(inputs[0], `${this.what} input`);
    const xv = this.floatInput(xt);
    this.requireBuilt('forward');
    const shape = dims(xt);
    if (shape.length < 2) throw new RangeError(`${this.what} input must have shape [batch, ..., features], got ${formatShape(shape)}`);
    const layout = this.layout(shape);
    const { perm, groups, M } = layout;
    const x = perm ? transpose(xv, shape, perm) : xv;
    const mean = new Float64Array(groups), invStd = new Float64Array(groups);
    const y = new Float32Array(x.length);
    const gamma = this.gamma, beta = this.beta;
    for (let g = 0; g < groups; g++) {
      const o = g * M;
      let sum = 0;
      for (let j = 0; j < M; j++) sum += x[o + j];
      const m = sum / M;
      let sq = 0;
      for (let j = 0; j < M; j++) sq += (x[o + j] - m) * (x[o + j] - m);
      const s = 1 / Math.sqrt(sq / M + this.epsilon);
      mean[g] = m;
      invStd[g] = s;
      if (this.rmsScaling) for (let j = 0; j < M; j++) y[o + j] = x[o + j] * s * (gamma ? gamma[j] : 1);
      else for (let j = 0; j < M; j++) y[o + j] = (x[o + j] - m) * s * (gamma ? gamma[j] : 1) + (beta ? beta[j] : 0);
    }
    this.saved = ctx.training ? { x, shape, layout, mean, invStd } : null;
    const out = perm ? transpose(y, perm.map((a) => shape[a]), invertPermutation(perm)) : y;
    return [float32Tensor(out, shape)];
  }

  /**
   * @internal With s = 1/sqrt(var + eps), x̂ = (x - mean) s and g = dy gamma:
   * dx = s (g - mean(g) - x̂ mean(g x̂)); rmsScaling (y = x s gamma):
   * dx = g s - (x - mean) s^3 Σ(g x) / M.
   */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { x, shape, layout, mean, invStd } = this.saved;
    const { perm, groups, M } = layout;
    const dyv = this.upstream(dOutputs[0], shape);
    const dGamma = new Float64Array(M), dBeta = new Float64Array(M);
    const store = (): void => {
      const out: Float32Array[] = [];
      if (this.gamma) out.push(Float32Array.from(dGamma));
      if (this.beta) out.push(Float32Array.from(dBeta));
      this.setGradients(out, out.map(() => this.paramShape));
    };
    if (dyv === null) {
      store();
      return [null];
    }
    const dy = perm ? transpose(dyv, shape, perm) : dyv;
    const gamma = this.gamma;
    const dx = new Float32Array(x.length);
    const g = new Float64Array(M);
    for (let k = 0; k < groups; k++) {
      const o = k * M, m = mean[k], s = invStd[k];
      for (let j = 0; j < M; j++) g[j] = dy[o + j] * (gamma ? gamma[j] : 1);
      if (this.rmsScaling) {
        let sumGx = 0;
        for (let j = 0; j < M; j++) {
          sumGx += g[j] * x[o + j];
          dGamma[j] += dy[o + j] * x[o + j] * s;
        }
        const c = (s * s * s * sumGx) / M;
        for (let j = 0; j < M; j++) dx[o + j] = g[j] * s - (x[o + j] - m) * c;
      } else {
        let sumG = 0, sumGxh = 0;
        for (let j = 0; j < M; j++) {
          const xh = (x[o + j] - m) * s;
          sumG += g[j];
          sumGxh += g[j] * xh;
          dGamma[j] += dy[o + j] * xh;
          dBeta[j] += dy[o + j];
        }
        const mg = sumG / M, mgx = sumGxh / M;
        for (let j = 0; j < M; j++) dx[o + j] = s * (g[j] - mg - (x[o + j] - m) * s * mgx);
      }
    }
    store();
    const out = perm ? transpose(dx, perm.map((a) => shape[a]), invertPermutation(perm)) : dx;
    return [float32Tensor(out, shape)];
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(),
      axis: Array.isArray(this.axis) ? [...this.axis] : this.axis,
      epsilon: this.epsilon,
      center: this.center,
      scale: this.scale,
      rmsScaling: this.rmsScaling,
      betaInitializer: this.betaInitializer,
      gammaInitializer: this.gammaInitializer,
      betaRegularizer: this.betaRegularizer,
      gammaRegularizer: this.gammaRegularizer,
    };
  }
}
