/**
 * The Sequential model (tfjs `tf.sequential`, Keras `Sequential`): a stack
 * of single-output layers, each reading the previous one's output. The
 * graph is made as soon as the input shape is known: from the first layer's
 * `inputShape`, or from the first data given to fit/predict (Keras's
 * deferred build).
 */
import { Tensor, tensor, type TensorLike } from '../tensor.js';
import { Layer } from '../layers/layer.js';
import { SymbolicTensor } from '../layers/symbolic.js';
import { InputLayer } from './inputLayer.js';
import { Graph } from './graph.js';
import { LayersModel } from './layersModel.js';

/** Options of {@link sequential}. */
export interface SequentialArgs {
  /** The layers, first to last. */
  layers?: Layer[];
  name?: string;
}

export class Sequential extends LayersModel {
  static override readonly className: string = 'Sequential';
  private readonly stack: Layer[] = [];
  private inputLayer: InputLayer | null = null;
  private lastOutput: SymbolicTensor | null = null;

  constructor(args: SequentialArgs = {}) {
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw new TypeError('sequential(args): args must be an object like {layers: [...]}');
    for (const key of Object.keys(args)) {
      if (key !== 'layers' && key !== 'name') throw new TypeError(`sequential: unknown option ${JSON.stringify(key)}; the options are layers, name`);
    }
    super({ name: args.name ?? undefined }, true);
    if (args.layers !== undefined) {
      if (!Array.isArray(args.layers)) throw new TypeError('sequential: layers must be an array of layers');
      for (const l of args.layers) this.add(l);
    }
  }

  /** The layers, first to last (without the InputLayer, as Keras lists them). */
  override get layers(): Layer[] {
    return [...this.stack];
  }

  /** Appends a layer. With the input shape known, it is applied (built and checked) at once. */
  add(layer: Layer): void {
    if (!(layer instanceof Layer)) throw new TypeError(`Sequential.add: expected a layer (e.g. layers.dense({units: 1})), got ${layer === null ? 'null' : typeof layer}`);
    if (layer instanceof InputLayer) {
      if (this.stack.length > 0 || this.inputLayer) throw new TypeError('Sequential.add: an InputLayer can only come first');
      this.inputLayer = layer;
      this.lastOutput = layer.output;
      return;
    }
    if (this.stack.includes(layer)) throw new TypeError(`Sequential.add: layer ${layer.name} is already in the model`);
    if (this.stack.some((l) => l.name === layer.name)) throw new TypeError(`Sequential.add: the model already has a layer named ${JSON.stringify(layer.name)}`);
    if (!this.lastOutput && this.stack.length === 0 && layer.batchInputShape) {
      this.inputLayer = new InputLayer({ batchInputShape: layer.batchInputShape, name: `${layer.name}_input` });
      this.lastOutput = this.inputLayer.output;
    }
    if (this.lastOutput) this.lastOutput = this.applyNext(layer, this.lastOutput);
    this.stack.push(layer);
    if (this.lastOutput && this.inputLayer) this.graph = new Graph([this.inputLayer.output], [this.lastOutput]);
  }

  /** Removes the last layer. */
  pop(): void {
    if (this.stack.length === 0) throw new Error('Sequential.pop: the model has no layers');
    this.stack.pop();
    if (this.graph && this.inputLayer) {
      this.lastOutput = this.inputLayer.output;
      // Re-applying makes fresh nodes; the layers keep their weights.
      for (const l of this.stack) this.lastOutput = this.applyNext(l, this.lastOutput);
      this.graph = this.stack.length > 0 ? new Graph([this.inputLayer.output], [this.lastOutput]) : null;
    }
  }

  private applyNext(layer: Layer, x: SymbolicTensor): SymbolicTensor {
    const out = layer.apply(x);
    if (Array.isArray(out)) {
      throw new TypeError(`Sequential: layer ${layer.name} has ${out.length} outputs; every layer of a Sequential model must have one (returnState needs the functional API: model({inputs, outputs}))`);
    }
    return out;
  }

  /** Builds the graph for inputs of this shape (batch dimension first), as Keras's `build`. */
  build(inputShape: Array<number | null>): void {
    if (this.graph) return;
    if (this.stack.length === 0) throw new Error('Sequential: add layers before building');
    this.inputLayer = new InputLayer({ batchInputShape: [null, ...inputShape.slice(1)], name: `${this.stack[0].name}_input` });
    let out = this.inputLayer.output;
    for (const l of this.stack) out = this.applyNext(l, out);
    this.lastOutput = out;
    this.graph = new Graph([this.inputLayer.output], [out]);
    if (this.trainer) this.trainer.attach(this.graph);
  }

  protected override ensureGraphFor(x: unknown): void {
    if (this.graph) return;
    if (this.stack.length === 0) throw new Error(`${this.name}: the model has no layers`);
    let t: Tensor;
    if (x instanceof Tensor) t = x;
    else if (Array.isArray(x) && x.length === 1 && x[0] instanceof Tensor) t = x[0];
    else {
      try {
        t = tensor(x as TensorLike);
      } catch (e) {
        throw new TypeError(`x: ${(e as Error).message}`);
      }
    }
    if (t.rank < 1) throw new RangeError('x must have a batch dimension');
    this.build([null, ...t.shape.slice(1)]);
  }
}

/** A Sequential model (tfjs `tf.sequential`): `sequential({layers: [...]})`. */
export function sequential(args: SequentialArgs = {}): Sequential {
  return new Sequential(args);
}
