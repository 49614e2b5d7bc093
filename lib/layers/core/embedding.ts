/**
 * The Embedding layer (Keras `Embedding`, tfjs `layers.embedding`): integer
 * ids of any shape (B, T, ...) -> their rows of `embeddings`
 * (inputDim, outputDim), shape (B, T, ..., outputDim). Ids come as int32,
 * or as float32 holding integers (tfjs accepts both). With `maskZero`, id 0
 * is padding: the output mask is `ids != 0`.
 *
 * Backward scatter-adds dL/d(output) into dL/d(embeddings); the ids have no
 * gradient (null).
 */
import { formatShape } from '../../errors.js';
import { float32Tensor, Tensor } from '../../tensor.js';
import { optionalBool, requireInt, requireTensor } from '../../validate.js';
import { checkInitializer, initialize, Random, type InitializerConfig, type InitializerIdentifier } from '../initializers.js';
import type { NodeContext, Shape } from '../layer.js';
import { checkRegularizer, type Regularizer, type RegularizerIdentifier } from '../regularizers.js';
import { checkArgs, checkSeed, CoreLayer, dims, type CoreLayerArgs, type Float32Tensor } from './coreLayer.js';

/** Largest vocabulary times width: 2^28 floats (1 GiB); beyond it a request is more likely a typo. */
export const MAX_EMBEDDING_SIZE = 2 ** 28;

/** Options of {@link Embedding} (Keras names in camelCase, as tfjs). */
export interface EmbeddingLayerArgs extends CoreLayerArgs {
  /** Vocabulary size: ids are in [0, inputDim). */
  inputDim: number;
  /** Size of each embedding vector. */
  outputDim: number;
  /** Initializer of the embeddings (default `'randomUniform'`: uniform in [-0.05, 0.05], as Keras). */
  embeddingsInitializer?: InitializerIdentifier;
  /** Penalty on the embeddings, added to `regularizationLoss()` and to their gradient. */
  embeddingsRegularizer?: RegularizerIdentifier;
  /** Treat id 0 as padding: the output mask is `ids != 0` (default false). */
  maskZero?: boolean;
  /** Length of the id sequences (tfjs): `inputShape = [inputLength]` (or the list itself). */
  inputLength?: number | number[];
  /** Seed for the initial embeddings. */
  seed?: number;
}

const EMBEDDING_OPTIONS = ['inputDim', 'outputDim', 'embeddingsInitializer', 'embeddingsRegularizer', 'maskZero', 'inputLength', 'seed'];

interface Saved {
  ids: Int32Array;
  outShape: number[];
  /** The ids tensor's shape. */
  idShape: number[];
}

export class Embedding extends CoreLayer {
  /** Keras class name. */
  static readonly className = 'Embedding';
  readonly inputDim: number;
  readonly outputDim: number;
  readonly embeddingsInitializer: InitializerConfig;
  readonly embeddingsRegularizer: Regularizer | null;
  readonly maskZero: boolean;
  readonly inputLength: number | number[] | undefined;
  readonly seed: number | undefined;
  private embeddings: Float32Array = new Float32Array(0);
  private saved: Saved | null = null;

  constructor(args: EmbeddingLayerArgs) {
    checkArgs(args, EMBEDDING_OPTIONS, 'Embedding', 'embedding', '{inputDim: 1000, outputDim: 64}');
    const { inputDim, inputLength, ...rest } = args;
    let inputShape = rest.inputShape;
    if (inputLength !== undefined && inputLength !== null) {
      const list = Array.isArray(inputLength) ? inputLength : [inputLength];
      list.forEach((d) => requireInt(d, 'inputLength', 1));
      if (inputShape === undefined && rest.batchInputShape === undefined) inputShape = list;
    }
    super({ ...rest, inputShape }, 'embedding', 'Embedding');
    this.inputDim = requireInt(inputDim, 'inputDim', 1);
    this.outputDim = requireInt(args.outputDim, 'outputDim', 1);
    if (this.inputDim * this.outputDim > MAX_EMBEDDING_SIZE) {
      throw new RangeError(`Embedding: inputDim * outputDim must be at most ${MAX_EMBEDDING_SIZE}, got ${this.inputDim} * ${this.outputDim}`);
    }
    this.inputLength = inputLength === null ? undefined : Array.isArray(inputLength) ? [...inputLength] : inputLength;
    this.embeddingsInitializer = checkInitializer(args.embeddingsInitializer ?? 'randomUniform', 'embeddingsInitializer');
    this.embeddingsRegularizer = checkRegularizer(args.embeddingsRegularizer, 'embeddingsRegularizer');
    this.maskZero = optionalBool(args.maskZero, 'maskZero', false);
    this.seed = checkSeed(args.seed);
    if (args.weights !== undefined) this.setWeights(args.weights);
  }

  /** Creates embeddings (inputDim, outputDim); the ids' shape does not matter. */
  build(inputShape: Shape | Shape[]): void {
    this.checkShape(inputShape, 1, '[batch, ...ids]');
    this.embeddings = initialize(this.embeddingsInitializer, this.inputDim, this.outputDim, new Random(this.seed));
    this.built = true;
  }

  /** [B, ...] -> [B, ..., outputDim]. */
  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return [...this.checkShape(inputShape, 1, '[batch, ...ids]'), this.outputDim];
  }

  /** [embeddings (inputDim, outputDim)]. */
  getWeights(): Float32Tensor[] {
    this.requireBuilt('getWeights');
    return [float32Tensor(this.embeddings.slice(), [this.inputDim, this.outputDim])];
  }

  /** Sets [embeddings (inputDim, outputDim)] (copied; finite). */
  setWeights(weights: Tensor[]): void {
    const [e] = this.checkedWeights(weights, [{ name: 'embeddings', shape: [this.inputDim, this.outputDim] }]);
    if (!this.built) this.build([null, null]);
    this.embeddings = e;
    this.saved = null;
  }

  override weightNames(): string[] {
    return ['embeddings'];
  }

  protected override weightRegularizers(): Array<Regularizer | null> {
    return [this.embeddingsRegularizer];
  }

  /** The ids as integers, checked: int32, or float32 holding integers, each in [0, inputDim). */
  private ids(value: unknown): { ids: Int32Array; shape: number[] } {
    const what = `${this.what} input`;
    const t = requireTensor(value, what, ['int32', 'float32']);
    if (t.rank < 1) throw new RangeError(`${what} must have shape [batch, ...], got ${formatShape(t.shape)}`);
    this.checkDeclared(t);
    const v = t.view();
    const shape = dims(t);
    const ids = v instanceof Int32Array ? v : new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const id = v[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.inputDim) {
        const kind = Number.isInteger(id) ? `out of range [0, ${this.inputDim})` : 'not an integer id';
        throw new RangeError(`${what}: id ${id} at ${position(i, shape)} is ${kind}`);
      }
      if (ids !== v) ids[i] = id;
    }
    return { ids, shape };
  }

  /** @internal Looks up each id's row. */
  async forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]> {
    const { ids, shape } = this.ids(inputs[0]);
    this.requireBuilt('forward');
    const D = this.outputDim, E = this.embeddings;
    const out = new Float32Array(ids.length * D);
    for (let i = 0; i < ids.length; i++) out.set(E.subarray(ids[i] * D, ids[i] * D + D), i * D);
    const outShape = [...shape, D];
    this.saved = ctx.training ? { ids, outShape, idShape: shape } : null;
    return [float32Tensor(out, outShape)];
  }

  /** @internal dL/d(embeddings) by scatter-add; resolves to [null] (ids have no gradient). */
  async backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>> {
    if (!this.saved) throw this.noForward();
    const { ids, outShape } = this.saved;
    const dy = this.upstream(dOutputs[0], outShape);
    const D = this.outputDim;
    const acc = new Float64Array(this.inputDim * D);
    if (dy) {
      for (let i = 0; i < ids.length; i++) {
        const o = ids[i] * D, s = i * D;
        for (let d = 0; d < D; d++) acc[o + d] += dy[s + d];
      }
    }
    this.setGradients([Float32Array.from(acc)], [[this.inputDim, D]]);
    return [null];
  }

  /** With maskZero, the mask of the output is `ids != 0` (bool, the ids' shape); else none. */
  override computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void masks;
    if (!this.maskZero) return [null];
    const x = requireTensor(inputs[0], `${this.what} input`, ['int32', 'float32']);
    const v = x.view();
    const m = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) m[i] = v[i] !== 0 ? 1 : 0;
    return [new Tensor(m, x.shape, 'bool')];
  }

  override getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = {
      ...super.getConfig(),
      inputDim: this.inputDim,
      outputDim: this.outputDim,
      embeddingsInitializer: this.embeddingsInitializer,
      embeddingsRegularizer: this.embeddingsRegularizer,
      maskZero: this.maskZero,
    };
    if (this.inputLength !== undefined) config.inputLength = Array.isArray(this.inputLength) ? [...this.inputLength] : this.inputLength;
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}

/** Flat index -> `[b, t, ...]` in a tensor of `shape`. */
function position(flat: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let a = shape.length - 1; a >= 0; a--) {
    idx.unshift(flat % shape[a]);
    flat = Math.floor(flat / shape[a]);
  }
  return `[${idx.join(', ')}]`;
}
