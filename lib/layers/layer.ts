/**
 * The base of every layer, as Keras does it: a layer is its config, a
 * `build` that makes the weights once the input shape is known, a `call`
 * that computes (keeping what `backward` needs when training), and a
 * `backward`. `getConfig()` returns plain JSON that the constructor accepts.
 */
import { formatShape } from '../errors.js';
import { Tensor } from '../tensor.js';
import { optionalBool } from '../validate.js';
import { isSymbolic, Node, SymbolicTensor } from './symbolic.js';

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
  /** (B, T) mask of the input, `'bool'` or 0/1 numbers (Keras semantics). */
  mask?: Tensor;
}

/**
 * @internal What a model's graph run gives a layer: the mode and the mask
 * that came with each input (from `Embedding({maskZero})`, `Masking`, or
 * passed through by the layers between).
 */
export interface NodeContext {
  training: boolean;
  /** One entry per input: its (B, T) mask, or null. */
  masks: Array<Tensor | null>;
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

  /** Creates the weights for inputs of this shape (batch dimension first; a list for several inputs). */
  abstract build(inputShape: Shape | Shape[]): void;

  /** The output shape for inputs of this shape (a list for several outputs). */
  abstract computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[];

  /** The weights, in Keras order, as new tensors. */
  abstract getWeights(): Tensor<'float32'>[];

  /** Replaces the weights (Keras order and shapes); values are copied. */
  abstract setWeights(weights: Tensor[]): void;

  /**
   * As `setWeights`, for the training step: the tensors are this layer's own
   * `getWeights()`, updated in place by the optimizer and checked finite, and
   * nothing else holds them, so a layer may keep their arrays instead of
   * checking and copying them again (at 6 MB of weights that was a tenth of
   * a training step).
   * @internal
   */
  adoptWeights(weights: Tensor[]): void {
    this.setWeights(weights);
  }

  /**
   * The weights' names in `getWeights()` order, as Keras and tfjs save them
   * under the layer's name (`kernel`, `recurrent_kernel`, `bias`, `gamma`,
   * `moving_mean`, `forward_gru/kernel`, ...).
   */
  weightNames(): string[] {
    return [];
  }

  /**
   * Which of the weights training updates, in `getWeights()` order: all of
   * them when the layer is trainable, except those a layer keeps itself
   * (BatchNormalization's moving statistics).
   */
  trainableWeightFlags(): boolean[] {
    return this.weightNames().map(() => this.trainable);
  }

  /**
   * Gradients of the weights from the last `backward`, in `getWeights()`
   * order (regularizer gradients included).
   */
  getGradients(): Tensor<'float32'>[] {
    return [];
  }

  /** The regularizers' penalty on the current weights (0 without regularizers). */
  regularizationLoss(): number {
    return 0;
  }

  /** Number of weight values (trainable or not). */
  countParams(): number {
    return this.built ? this.getWeights().reduce((n, w) => n + w.size, 0) : 0;
  }

  /**
   * @internal Runs the layer inside a model: `inputs` in the order the node
   * recorded them (main input(s) first, then recurrent initial states).
   * Resolves to every output, in `computeOutputShape` order. With
   * `ctx.training` it keeps what `backwardNode` needs.
   */
  abstract forwardNode(inputs: Tensor[], ctx: NodeContext): Promise<Tensor[]>;

  /**
   * @internal Backpropagates through the last training `forwardNode`:
   * `dOutputs` holds dL/d(output) per output (null: no gradient reaches it).
   * Resolves to dL/d(input) per input (null for inputs without a gradient,
   * such as token ids); the weight gradients go to `getGradients()`.
   */
  abstract backwardNode(dOutputs: Array<Tensor | null>): Promise<Array<Tensor | null>>;

  /**
   * @internal The mask of each output, given the node's inputs and their
   * masks. The default passes the first input's mask through (Keras's
   * `supports_masking` layers: Dense, Dropout, activations, ...).
   */
  computeMask(inputs: Tensor[], masks: Array<Tensor | null>): Array<Tensor | null> {
    void inputs;
    return [masks[0] ?? null];
  }

  /** Symbolic tensors this layer produced, one list per time it was applied in a graph. */
  readonly inboundNodes: Node[] = [];

  /**
   * @internal The shape `build` and `computeOutputShape` take, from the
   * shapes of a node's inputs: the single input's shape, or the list for
   * layers with several inputs. Recurrent layers take the first (the rest
   * are initial states).
   */
  protected nodeInputShape(shapes: Shape[]): Shape | Shape[] {
    return shapes.length === 1 ? shapes[0] : shapes;
  }

  /**
   * @internal Applies the layer to symbolic tensors (functional API):
   * builds it for their shapes, checks them, records a node and returns the
   * symbolic outputs.
   */
  protected applySymbolic(inputs: SymbolicTensor[], callArgs: Record<string, unknown> = {}): SymbolicTensor | SymbolicTensor[] {
    const shape = this.nodeInputShape(inputs.map((s) => s.shape));
    this.ensureBuilt(shape);
    const out = this.computeOutputShape(shape);
    const shapes = (isShapeList(out) ? out : [out]) as Shape[];
    const node = new Node(this, inputs, callArgs);
    node.outputs = shapes.map((s, i) => new SymbolicTensor('float32', s, node, i, shapes.length === 1 ? this.name : `${this.name}/${i}`));
    this.inboundNodes.push(node);
    return node.outputs.length === 1 ? node.outputs[0] : node.outputs;
  }

  /**
   * Applies the layer. To symbolic tensors (functional API) it returns
   * symbolic outputs at once; to tensors it computes and resolves to the
   * output(s). Builds the layer on first use.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[], kwargs?: CallArgs): SymbolicTensor | SymbolicTensor[];
  apply(inputs: Tensor | Tensor[], kwargs?: CallArgs): Promise<Tensor | Tensor[]>;
  apply(inputs: Tensor | Tensor[] | SymbolicTensor | SymbolicTensor[], kwargs: CallArgs = {}): SymbolicTensor | SymbolicTensor[] | Promise<Tensor | Tensor[]> {
    if (isSymbolic(inputs)) return this.applySymbolic(Array.isArray(inputs) ? inputs : [inputs]);
    return this.applyConcrete(inputs as Tensor | Tensor[], kwargs);
  }

  private async applyConcrete(inputs: Tensor | Tensor[], kwargs: CallArgs): Promise<Tensor | Tensor[]> {
    if (kwargs === null || typeof kwargs !== 'object' || Array.isArray(kwargs)) {
      throw new TypeError(`${this.name}: the second argument of apply must be an object like {training, mask}`);
    }
    const list = Array.isArray(inputs) ? inputs : [inputs];
    for (const [i, t] of list.entries()) {
      if (!(t instanceof Tensor)) throw new TypeError(`${this.name}: input ${i} must be a Tensor (make one with tensor()), got ${t === null ? 'null' : typeof t}`);
    }
    const training = optionalBool(kwargs.training, 'training', false);
    this.ensureBuilt(this.nodeInputShape(list.map((t) => [...t.shape])));
    const out = await this.forwardNode(list, { training, masks: list.map((_, i) => (i === 0 ? (kwargs.mask ?? null) : null)) });
    return out.length === 1 ? out[0] : out;
  }

  /** The layer's configuration: plain JSON that the constructor accepts. */
  getConfig(): Record<string, unknown> {
    const config: Record<string, unknown> = { name: this.name, trainable: this.trainable };
    if (this.batchInputShape) config.batchInputShape = [...this.batchInputShape];
    return config;
  }

  /** Builds on first use, checking the input against a declared inputShape. */
  protected ensureBuilt(inputShape: Shape | Shape[]): void {
    if (!this.built) {
      if (this.batchInputShape && !isShapeList(inputShape)) {
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

/** True when `shape` is a list of shapes rather than one shape. */
export function isShapeList(shape: Shape | Shape[]): shape is Shape[] {
  return shape.length > 0 && Array.isArray(shape[0]);
}
