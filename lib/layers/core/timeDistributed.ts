/**
 * The TimeDistributed wrapper (Keras `TimeDistributed`, tfjs
 * `layers.timeDistributed`): applies a layer to every timestep of
 * (B, T, ...) by running it once on (B*T, ...) and reshaping the result to
 * (B, T, ...). Works for any layer whose forward takes a batch of samples
 * (Dense, Activation, Dropout, Embedding, LayerNormalization, Flatten, ...).
 * The weights, their names and gradients are the inner layer's (Keras and
 * tfjs save them under the wrapper's name, e.g. `time_distributed/kernel`).
 * The (B, T) mask passes through; the inner layer gets none.
 */
import { formatShape } from '../../errors.js';
import type { Tensor } from '../../tensor.js';
import { requireTensor } from '../../validate.js';
import { Layer, type NodeContext, type Shape } from '../layer.js';
import { GRU } from '../recurrent/gru.js';
import { LSTM } from '../recurrent/lstm.js';
import { SimpleRNN } from '../recurrent/simpleRnn.js';
import { Activation } from './activation.js';
import { BatchNormalization } from './batchNormalization.js';
import { checkArgs, CoreLayer, dims, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';
import { Dense } from './dense.js';
import { Dropout } from './dropout.js';
import { Embedding } from './embedding.js';
import { Flatten } from './flatten.js';
import { LayerNormalization } from './layerNormalization.js';
import { Masking } from './masking.js';
import { Permute } from './permute.js';
import { RepeatVector } from './repeatVector.js';
import { Reshape } from './reshape.js';

/** A layer as its class name and config (`{className: 'Dense', config: {units: 4}}`). */
export interface SerializedLayer {
  className: string;
  config: Record<string, unknown>;
}

/** Options of {@link TimeDistributed}. */
export interface TimeDistributedLayerArgs extends CoreLayerArgs {
  /** The layer to apply at each timestep (used itself, not copied), or its `{className, config}`. */
  layer: Layer | SerializedLayer;
}

type LayerClass = new (config: never) => Layer;

/** The classes a `{className, config}` inner layer may name, unless {@link TimeDistributed.deserialize} is replaced. */
const KNOWN: Record<string, LayerClass> = {
  Dense,
  Activation,
  Dropout,
  Embedding,
  BatchNormalization,
  LayerNormalization,
  Flatten,
  Masking,
  Permute,
  RepeatVector,
  Reshape,
  GRU,
  LSTM,
  SimpleRNN,
};

interface Saved {
  B: number;
  T: number;
  inShape: number[];
  outShape: number[];
}

export class TimeDistributed extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'TimeDistributed';
  /**
   * Makes the inner layer from `{className, config}`; a model registry may
   * replace it to reach every layer class.
   */
  static deserialize: (className: string, config: Record<string, unknown>) => Layer = (className, config) => {
    const cls = KNOWN[className];
    if (!cls) throw new TypeError(`TimeDistributed: unknown layer class ${JSON.stringify(className)}; expected one of ${Object.keys(KNOWN).join(', ')}`);
    return new cls(config as never);
  };
  /** The wrapped layer. */
  readonly layer: Layer;
  private saved: Saved | null = null;

  constructor(args: TimeDistributedLayerArgs) {
    checkArgs(args, ['layer'], 'TimeDistributed', 'timeDistributed', '{layer: layers.dense({units: 8})}');
    const inner = args.layer;
    let layer: Layer;
    if (inner instanceof Layer) layer = inner;
    else if (inner && typeof inner === 'object' && typeof (inner as SerializedLayer).className === 'string' && (inner as SerializedLayer).config && typeof (inner as SerializedLayer).config === 'object') {
      layer = TimeDistributed.deserialize((inner as SerializedLayer).className, (inner as SerializedLayer).config);
    } else {
      throw new TypeError('TimeDistributed: layer must be a layer (e.g. layers.dense({units: 8})) or its {className, config}');
    }
    const { layer: _drop, weights, ...rest } = args;
    void _drop;
    super(rest, 'time_distributed', 'TimeDistributed');
    this.layer = layer;
    if (this.batchInputShape && this.batchInputShape.length < 3) {
      throw new RangeError(`TimeDistributed takes inputs of shape [batch, timesteps, ...]: inputShape must have at least 2 entries, got ${formatShape(this.batchInputShape.slice(1))}`);
    }
    if (weights !== undefined) this.setWeights(weights);
  }

  /** [B, T, ...rest] -> the inner layer's input shape [B*T, ...rest]. */
  private innerShape(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkShape(inputShape, 3, '[batch, timesteps, ...]');
    const [B, T] = shape;
    return [B === null || T === null ? null : B * T, ...shape.slice(2)];
  }

  /** Builds the inner layer for [B*T, ...rest] (unless it is built already). */
  build(inputShape: Shape | Shape[]): void {
    const inner = this.innerShape(inputShape);
    if (!this.layer.built) this.layer.build(inner);
    this.built = true;
  }

  /** [B, T, ...] -> [B, T, ...the inner layer's output without its batch axis]. */
  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const shape = this.checkShape(inputShape, 3, '[batch, timesteps, ...]');
    const out = this.layer.computeOutputShape(this.innerShape(shape));
    if (Array.isArray(out[0])) throw new TypeError(`${this.what}: the inner layer ${this.layer.name} has several outputs`);
    return [shape[0], shape[1], ...(out as Shape).slice(1)];
  }

  /** The inner layer's weights. */
  getWeights(): Float32Tensor[] {
    return this.layer.getWeights();
  }

  /** Sets the inner layer's weights. */
  setWeights(weights: Tensor[]): void {
    this.layer.setWeights(weights);
    this.saved = null;
  }

  /** The inner layer's weight names (Keras saves them under the wrapper's name). */
  override weightNames(): string[] {
    return this.layer.weightNames();
  }

  override trainableWeightFlags(): boolean[] {
    return this.layer.trainableWeightFlags().map((f) => f && this.trainable);
  }

  override getGradients(): Float32Tensor[] {
    return this.layer.getGradients();
  }

  override regularizationLoss(): number {
    return this.layer.regularizationLoss();
  }

  override countParams(): number {
    return this.layer.countParams();
  }

  /** @internal */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const x = requireTensor(inputs[0], `${this.what} input`, ['float32', 'int32']);
    if (x.rank < 3) throw new RangeError(`${this.what} input must have shape [batch, timesteps, ...], got ${formatShape(x.shape)}`);
    this.checkDeclared(x);
    const inShape = dims(x);
    const [B, T] = inShape;
    if (!this.built) this.build(inShape);
    const outs = await this.layer.forwardNode([x.reshape([B * T, ...inShape.slice(2)])], { training: ctx.training, masks: [null] });
    if (outs.length !== 1) throw new TypeError(`${this.what}: the inner layer ${this.layer.name} has several outputs`);
    const outShape = [B, T, ...outs[0].shape.slice(1)];
    this.saved = ctx.training ? { B, T, inShape, outShape } : null;
    return [outs[0].reshape(outShape)];
  }

  /** @internal Backward of the inner layer on (B*T, ...). */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { B, T, inShape, outShape } = this.saved;
    const dy = this.upstream(dOutputs[0], outShape);
    const [dx] = await this.layer.backwardNode([dy === null ? null : (dOutputs[0] as Tensor).reshape([B * T, ...outShape.slice(2)])]);
    return [dx ? dx.reshape(inShape) : null];
  }

  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), layer: { className: (this.layer.constructor as unknown as { className: string }).className, config: this.layer.getConfig() } };
  }
}
