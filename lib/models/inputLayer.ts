/**
 * The input of a model (Keras `InputLayer`, tfjs `input()`): a layer with no
 * weights whose one node has no inputs and produces the model's input
 * placeholder.
 */
import { formatShape } from '../errors.js';
import type { DataType, Tensor } from '../tensor.js';
import { Layer, type Shape } from '../layers/layer.js';
import { Node, SymbolicTensor } from '../layers/symbolic.js';

/** Options of {@link input}. */
export interface InputArgs {
  /** Shape of one sample, without the batch dimension, e.g. `[null, 4]` (timesteps unknown, 4 features). */
  shape?: Shape;
  /** Full shape including the batch dimension. */
  batchShape?: Shape;
  /** `'float32'` (default), or `'int32'` for token ids feeding an Embedding. */
  dtype?: 'float32' | 'int32';
  /** Name of the input (and of its InputLayer). */
  name?: string;
}

export class InputLayer extends Layer {
  /** Keras class name. */
  static readonly className = 'InputLayer';
  readonly dtype: 'float32' | 'int32';
  /** The placeholder this layer produces. */
  readonly output: SymbolicTensor;

  constructor(args: InputArgs & { batchInputShape?: Shape; inputShape?: Shape; sparse?: boolean }) {
    if (args === null || typeof args !== 'object') throw new TypeError('input(args): args must be an object like {shape: [null, 4]}');
    const known = ['shape', 'batchShape', 'dtype', 'name', 'batchInputShape', 'inputShape', 'sparse'];
    for (const key of Object.keys(args)) {
      if (!known.includes(key)) throw new TypeError(`input: unknown option ${JSON.stringify(key)}; the options are shape, batchShape, dtype, name`);
    }
    const batchShape = args.batchShape ?? args.batchInputShape;
    const shape = args.shape ?? args.inputShape;
    if (batchShape === undefined && shape === undefined) throw new TypeError('input: give shape (without the batch dimension), e.g. {shape: [null, 4]}');
    if (batchShape !== undefined && shape !== undefined) throw new TypeError('input: give shape or batchShape, not both');
    super({ name: args.name, ...(batchShape !== undefined ? { batchInputShape: batchShape } : { inputShape: shape }) }, 'input');
    if (args.dtype !== undefined && args.dtype !== 'float32' && args.dtype !== 'int32') {
      throw new TypeError(`input: dtype must be 'float32' or 'int32', got ${JSON.stringify(args.dtype)}`);
    }
    if (args.sparse) throw new TypeError('input: sparse inputs are not supported');
    this.dtype = args.dtype ?? 'float32';
    this.built = true;
    const node = new Node(this, []);
    this.output = new SymbolicTensor(this.dtype, [...(this.batchInputShape as Shape)], node, 0, this.name);
    node.outputs = [this.output];
    this.inboundNodes.push(node);
  }

  build(): void {
    this.built = true;
  }

  computeOutputShape(): Shape {
    return [...(this.batchInputShape as Shape)];
  }

  getWeights(): Tensor<'float32'>[] {
    return [];
  }

  setWeights(weights: Tensor[]): void {
    if (!Array.isArray(weights) || weights.length !== 0) throw new RangeError(`InputLayer ${this.name} has no weights`);
  }

  /** @internal Checks the fed tensor against the declared shape and dtype. */
  async forwardNode(inputs: Tensor[]): Promise<Tensor[]> {
    return [this.check(inputs[0])];
  }

  /** @internal */
  async backwardNode(): Promise<Array<Tensor | null>> {
    return [];
  }

  override computeMask(_inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    return [masks[0] ?? null];
  }

  /** Checks a tensor fed to this input. */
  check(t: Tensor): Tensor {
    const expected = this.batchInputShape as Shape;
    const ok = t.shape.length === expected.length && expected.every((d, i) => d === null || d === t.shape[i]);
    if (!ok) throw new RangeError(`input ${this.name} expects shape ${formatShape(expected)}, got ${formatShape(t.shape)}`);
    return t;
  }

  override getConfig(): Record<string, unknown> {
    return { batchInputShape: [...(this.batchInputShape as Shape)], dtype: this.dtype, sparse: false, name: this.name };
  }

  /** The dtype data fed to this input is converted to. */
  get inputDtype(): DataType {
    return this.dtype;
  }
}

/**
 * A symbolic input of a functional model (tfjs `tf.input`): apply layers to
 * it, then make a model with `model({inputs, outputs})`.
 */
export function input(args: InputArgs): SymbolicTensor {
  return new InputLayer(args).output;
}
