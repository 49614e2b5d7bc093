/**
 * The base of every layer, as Keras does it: a layer is its config, a
 * `build` that makes the weights once the input shape is known, a `call`
 * that computes (keeping what `backward` needs when training), and a
 * `backward`. `getConfig()` returns plain JSON that the constructor accepts.
 */
import { formatShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { optionalBool } from '../validate.js';

/** A shape with unknown dimensions as null, e.g. `[null, null, 4]`. */
export type Shape = Array<number | null>;

/** Options every layer accepts (tfjs names). */
export interface LayerArgs {
  /** Layer name; unique names like `gru`, `gru_1` are made when omitted. */
  name?: string;
  /** Shape of one sample, without the batch dimension, e.g. `[null, 4]`. */
  inputShape?: Shape;
  /** Full input shape including the batch dimension. */
  batchInputShape?: Shape;
  /** Whether the layer's weights are updated by training (default true). */
  trainable?: boolean;
  /** Fixed batch size: with `inputShape`, gives `batchInputShape` (tfjs). */
  batchSize?: number;
  /** Recurrent layers: features per step; `inputShape = [inputLength ?? null, inputDim]` (tfjs). */
  inputDim?: number;
  /** Recurrent layers: timesteps, with `inputDim` (tfjs). */
  inputLength?: number;
  /** Initial weights, as `setWeights` takes them (tfjs). */
  weights?: Tensor[];
  /** Only `'float32'`. */
  dtype?: 'float32';
}

/** The option names every layer takes (LayerArgs). */
export const LAYER_OPTIONS: readonly string[] = ['name', 'inputShape', 'batchInputShape', 'trainable', 'batchSize', 'inputDim', 'inputLength', 'weights', 'dtype'];

/**
 * Throws a TypeError naming the first option the layer does not know: a
 * misspelt option (`returnSequence`) must not be silently ignored.
 */
export function checkKnownOptions(args: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(args)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(key)}; the options are ${[...known].sort().join(', ')}`);
    }
  }
}

/** Keyword arguments of `apply`/`call`. */
export interface CallArgs {
  /** Run in training mode: keep what `backward` needs. Default false. */
  training?: boolean;
}

const nameCounts = new Map<string, number>();

/** Keras-style unique names: `gru`, then `gru_1`, `gru_2`, ... */
export function uniqueLayerName(prefix: string): string {
  const n = nameCounts.get(prefix) ?? 0;
  nameCounts.set(prefix, n + 1);
  return n === 0 ? prefix : `${prefix}_${n}`;
}

export abstract class Layer {
  /** The layer's name. */
  readonly name: string;
  /** Whether training updates this layer's weights. */
  trainable: boolean;
  /** Input shape given at construction (with the batch dimension), if any. */
  readonly batchInputShape: Shape | null;
  /** True once `build` has made the weights. */
  built = false;

  protected constructor(args: LayerArgs, defaultPrefix: string) {
    if (args.name !== undefined && (typeof args.name !== 'string' || args.name === '')) {
      throw new TypeError(`name must be a non-empty string, got ${JSON.stringify(args.name)}`);
    }
    this.name = args.name ?? uniqueLayerName(defaultPrefix);
    this.trainable = optionalBool(args.trainable, 'trainable', true);
    if (args.dtype !== undefined && args.dtype !== 'float32') throw new TypeError(`dtype must be 'float32', got ${JSON.stringify(args.dtype)}`);
    let inputShape = args.inputShape;
    if (args.inputDim !== undefined) {
      if (inputShape !== undefined) throw new TypeError('give inputShape or inputDim/inputLength, not both');
      inputShape = [args.inputLength ?? null, args.inputDim];
    } else if (args.inputLength !== undefined) {
      throw new TypeError('inputLength needs inputDim');
    }
    if (args.batchSize !== undefined && (typeof args.batchSize !== 'number' || !Number.isInteger(args.batchSize) || args.batchSize < 1)) {
      throw new TypeError(`batchSize must be a positive integer, got ${JSON.stringify(args.batchSize)}`);
    }
    if (args.batchInputShape !== undefined) this.batchInputShape = checkShapeArg(args.batchInputShape, 'batchInputShape');
    else if (inputShape !== undefined) this.batchInputShape = [args.batchSize ?? null, ...checkShapeArg(inputShape, 'inputShape')];
    else this.batchInputShape = null;
  }

  /** Creates the weights for inputs of this shape (batch dimension first). */
  abstract build(inputShape: Shape): void;

  /** The output shape for inputs of this shape. */
  abstract computeOutputShape(inputShape: Shape): Shape | Shape[];

  /** The weights, in Keras order, as new tensors. */
  abstract getWeights(): Tensor<'float32'>[];

  /** Replaces the weights (Keras order and shapes); values are copied. */
  abstract setWeights(weights: Tensor[]): void;

  /** The layer's configuration: plain JSON that the constructor accepts. */
  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = { name: this.name, trainable: this.trainable };
    if (this.batchInputShape) config.batchInputShape = [...this.batchInputShape];
    return config;
  }

  /** Builds on first use, checks the input, then calls. */
  protected ensureBuilt(inputShape: Shape): void {
    if (!this.built) {
      if (this.batchInputShape) {
        const expected = this.batchInputShape;
        const ok = expected.length === inputShape.length && expected.every((d, i) => d === null || d === inputShape[i]);
        if (!ok) throw new RangeError(`layer ${this.name} expects input shape ${formatShape(expected)}, got ${formatShape(inputShape)}`);
      }
      this.build(inputShape);
    }
  }
}

function checkShapeArg(shape: unknown, name: string): Shape {
  if (!Array.isArray(shape)) throw new TypeError(`${name} must be an array like [null, 4], got ${JSON.stringify(shape)}`);
  for (const d of shape) {
    if (d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
      throw new TypeError(`${name} must hold positive integers or null, got ${JSON.stringify(shape)}`);
    }
  }
  return [...shape] as Shape;
}
