/**
 * The model (tfjs `LayersModel`, Keras functional `Model`): a graph of
 * layers from symbolic inputs to outputs, with the Keras workflow on top —
 * compile, fit, evaluate, predict, weights, summary. The graph lives in
 * `graph.ts`, the training step in `lib/training/`.
 */
import { formatShape } from '../errors.js';
import { float32Tensor, type Tensor } from '../tensor.js';
import { checkKnownOptions, type Layer, type Shape } from '../layers/layer.js';
import { isSymbolic, type SymbolicTensor } from '../layers/symbolic.js';
import { InputLayer } from './inputLayer.js';
import { Graph } from './graph.js';
import { concatRows, sampleCount, sliceRows, toTensors, type DataSlot, type ModelData } from './data.js';
import { summaryLines } from './summary.js';
import { Trainer, type CompileArgs } from '../training/trainer.js';
import { fitLoop, evaluateLoop, type ModelFitArgs, type ModelEvaluateArgs } from '../training/fit.js';
import type { History } from '../training/history.js';
import type { Logs } from '../training/callbacks/callback.js';
import { requireInt } from '../validate.js';
import { modelConfig, modelTopology } from '../io/modelConfig.js';
import { saveModel, type SaveConfig, type SaveResult } from '../io/saveModel.js';
import { loadWeights, saveWeights } from '../io/weightsOnly.js';
import { exportOnnx, type ExportOnnxOptions } from '../io/onnx/exportOnnx.js';
import { saveKeras } from '../io/keras/saveKeras.js';

/** Options of {@link model}. */
export interface ModelArgs {
  inputs: SymbolicTensor | SymbolicTensor[];
  outputs: SymbolicTensor | SymbolicTensor[];
  name?: string;
}

/** Options of {@link LayersModel.predict}. */
export interface ModelPredictArgs {
  /** Samples per batch (default 32). */
  batchSize?: number;
  /** 0 (default): quiet. */
  verbose?: 0 | 1;
}

let modelCount = 0;

export class LayersModel {
  /** Keras/tfjs class name of a functional model. */
  static readonly className: string = 'Model';
  readonly name: string;
  /** Set to true (e.g. from a callback) to end `fit` after the current batch. */
  stopTraining = false;
  /** @internal The graph; null for a Sequential model that has not seen its input shape yet. */
  protected graph: Graph | null = null;
  /** @internal Set by compile. */
  trainer: Trainer | null = null;
  /** @internal A fit, evaluate, predict or trainOnBatch is running. */
  private busy: string | null = null;

  constructor(args: ModelArgs | { name?: string }, deferred = false) {
    if (args === null || typeof args !== 'object') throw new TypeError('model(args): args must be an object like {inputs, outputs}');
    if (args.name !== undefined && (typeof args.name !== 'string' || args.name === '')) throw new TypeError('model: name must be a non-empty string');
    this.name = args.name ?? (modelCount++ === 0 ? 'model' : `model_${modelCount - 1}`);
    if (deferred) return;
    const a = args as ModelArgs;
    checkKnownOptions(a, ['inputs', 'outputs', 'name'], 'model');
    const inputs = Array.isArray(a.inputs) ? a.inputs : [a.inputs];
    const outputs = Array.isArray(a.outputs) ? a.outputs : [a.outputs];
    if (!isSymbolic(inputs)) throw new TypeError('model: inputs must be symbolic tensors made by input({shape})');
    if (!isSymbolic(outputs)) throw new TypeError('model: outputs must be symbolic tensors (layers applied to the inputs)');
    for (const s of inputs) {
      if (!(s.sourceLayer instanceof InputLayer)) throw new TypeError(`model: input ${s.name} is not made by input(); give the tensors input() returned`);
    }
    this.graph = new Graph(inputs, outputs);
  }

  /** @internal The graph, built. */
  protected requireGraph(what: string): Graph {
    if (!this.graph) throw new Error(`${this.name}: ${what} needs the model's input shape; give the first layer an inputShape, or call fit/predict first`);
    return this.graph;
  }

  /** The layers, in the order Keras lists them (functional models include their InputLayers). */
  get layers(): Layer[] {
    return this.graph ? this.graph.layers : [];
  }

  /** The symbolic inputs. */
  get inputs(): SymbolicTensor[] {
    return this.requireGraph('inputs').inputs;
  }

  /** The symbolic outputs. */
  get outputs(): SymbolicTensor[] {
    return this.requireGraph('outputs').outputs;
  }

  /** Names of the outputs: the names of the layers that produce them (Keras). */
  get outputNames(): string[] {
    return this.outputs.map((s) => s.sourceLayer.name);
  }

  /** Names of the inputs. */
  get inputNames(): string[] {
    return this.inputs.map((s) => s.sourceLayer.name);
  }

  /** The layer with this name, or at this index. */
  getLayer(nameOrIndex: string | number): Layer {
    const layers = this.layers;
    if (typeof nameOrIndex === 'number') {
      const l = layers[nameOrIndex];
      if (!l) throw new RangeError(`${this.name}: no layer at index ${nameOrIndex} (the model has ${layers.length})`);
      return l;
    }
    const l = layers.find((x) => x.name === nameOrIndex);
    if (!l) throw new RangeError(`${this.name}: no layer named ${JSON.stringify(nameOrIndex)}; the layers are ${layers.map((x) => x.name).join(', ')}`);
    return l;
  }

  /** @internal Input slots for data conversion. */
  inputSlots(): DataSlot[] {
    return this.inputs.map((s) => ({ name: s.sourceLayer.name, shape: s.shape, dtype: (s.sourceLayer as InputLayer).dtype }));
  }

  /** @internal Output slots for data conversion (sparse for sparse crossentropy outputs). */
  outputSlots(): DataSlot[] {
    return this.outputs.map((s, i) => ({ name: s.sourceLayer.name, shape: s.shape, dtype: 'float32' as const, sparse: this.trainer?.isSparse(i) ?? false }));
  }

  /** @internal For Sequential: makes the graph from the data's shape if needed. */
  protected ensureGraphFor(_x: unknown): void {}

  /**
   * Every weight of every layer, layer by layer in `layers` order, each in
   * its layer's Keras order (GRU: kernel, recurrent kernel, bias; Dense:
   * kernel (in, out), bias).
   */
  getWeights(): Tensor<'float32'>[] {
    return this.layers.flatMap((l) => (l.built ? l.getWeights() : []));
  }

  /** Sets every weight, in `getWeights()` order and shapes. All or nothing. */
  setWeights(weights: Tensor[]): void {
    if (!Array.isArray(weights)) throw new TypeError(`${this.name}: setWeights expects an array of tensors`);
    const counts = this.layers.map((l) => l.weightNames().length);
    const total = counts.reduce((a, b) => a + b, 0);
    if (weights.length !== total) throw new RangeError(`${this.name}: setWeights expects ${total} tensors (${this.layers.map((l, i) => `${l.name}: ${counts[i]}`).join(', ')}), got ${weights.length}`);
    const before = this.getWeights();
    let offset = 0;
    try {
      for (const [i, l] of this.layers.entries()) {
        if (counts[i] > 0) l.setWeights(weights.slice(offset, offset + counts[i]));
        offset += counts[i];
      }
    } catch (e) {
      // Put back what was set before the failing layer.
      let o = 0;
      for (const [i, l] of this.layers.entries()) {
        if (counts[i] > 0 && l.built) {
          try {
            l.setWeights(before.slice(o, o + counts[i]));
          } catch {
            /* the layer was not built before; nothing to restore */
          }
        }
        o += counts[i];
      }
      throw e;
    }
  }

  /** Number of weight values of the model. */
  countParams(): number {
    return this.layers.reduce((n, l) => n + l.countParams(), 0);
  }

  /**
   * Prints the Keras-style table: each layer, its output shape, its
   * parameter count, and (for functional models) what it is connected to;
   * then the totals. `printFn` receives each line (default console.log).
   */
  summary(lineLength?: number, positions?: number[], printFn: (line: string) => void = console.log): void {
    for (const line of summaryLines(this, this.requireGraph('summary'), { lineLength, positions })) printFn(line);
  }

  /**
   * Sets the optimizer, the loss(es) and the metrics for training: an
   * optimizer object (`train.adam(0.01)`, `optimizers.adam({...})`) or name
   * (`'adam'`), a loss name (`'meanSquaredError'`, `'binaryCrossentropy'`,
   * ...) or one per output, and metric names (`['accuracy']`).
   */
  compile(args: CompileArgs): void {
    // A rejected compile leaves the model as it was.
    const trainer = new Trainer(this, args);
    if (this.graph) trainer.attach(this.graph);
    this.trainer = trainer;
  }

  /** The compiled optimizer. */
  get optimizer(): Trainer['optimizer'] {
    if (!this.trainer) throw new Error(`${this.name}: no optimizer before compile()`);
    return this.trainer.optimizer;
  }

  /** @internal Runs fn with no other fit/evaluate/predict/trainOnBatch in flight. */
  protected async exclusively<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new Error(`${this.name}: ${what} started while ${this.busy} is still running; await it first`);
    this.busy = what;
    try {
      return await fn();
    } finally {
      this.busy = null;
    }
  }

  /**
   * Computes the outputs for x in batches (any number of samples). Accepts
   * a tensor, nested number arrays, or one per input. Resolves to a tensor
   * (a list for several outputs).
   */
  async predict(x: ModelData, args: ModelPredictArgs = {}): Promise<Tensor<'float32'> | Tensor<'float32'>[]> {
    checkKnownOptions(args ?? {}, ['batchSize', 'verbose'], 'predict');
    this.ensureGraphFor(x);
    const batchSize = args.batchSize === undefined ? 32 : requireInt(args.batchSize, 'batchSize', 1);
    const xs = toTensors(x, this.inputSlots(), 'x');
    const n = sampleCount(xs, 'x');
    return this.exclusively('predict', () => this.predictTensors(xs, n, batchSize));
  }

  /** @internal */
  async predictTensors(xs: Tensor[], n: number, batchSize: number): Promise<Tensor<'float32'> | Tensor<'float32'>[]> {
    const graph = this.requireGraph('predict');
    const parts: Tensor[][] = graph.outputs.map(() => []);
    if (n === 0) throw new RangeError(`${this.name}: predict needs at least one sample`);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const out = await graph.forward(xs.map((t) => sliceRows(t, start, end)), false);
      graph.outputs.forEach((s, i) => parts[i].push(out.values.get(s.id) as Tensor));
    }
    const outs = parts.map((p) => (p.length === 1 ? (p[0] as Tensor<'float32'>) : (concatRows(p) as Tensor<'float32'>)));
    return outs.length === 1 ? outs[0] : outs;
  }

  /** The outputs for one batch (no batching). */
  async predictOnBatch(x: ModelData): Promise<Tensor<'float32'> | Tensor<'float32'>[]> {
    this.ensureGraphFor(x);
    const xs = toTensors(x, this.inputSlots(), 'x');
    const n = sampleCount(xs, 'x');
    return this.exclusively('predictOnBatch', () => this.predictTensors(xs, n, Math.max(1, n)));
  }

  /**
   * Trains for `epochs` passes over (x, y) and resolves to the History of
   * losses and metrics per epoch. The work runs on the backend's async
   * workers: the event loop stays free.
   */
  async fit(x: ModelData, y: ModelData, args: ModelFitArgs = {}): Promise<History> {
    this.ensureGraphFor(x);
    const trainer = this.requireTrainer('fit');
    return this.exclusively('fit', () => fitLoop(this, trainer, x, y, args));
  }

  /**
   * The loss and metrics on (x, y), in batches, as `evaluate` in tfjs: one
   * scalar tensor per value (the loss first), or a single one without
   * metrics.
   */
  async evaluate(x: ModelData, y: ModelData, args: ModelEvaluateArgs = {}): Promise<Tensor<'float32'> | Tensor<'float32'>[]> {
    this.ensureGraphFor(x);
    const trainer = this.requireTrainer('evaluate');
    const logs = await this.exclusively('evaluate', () => evaluateLoop(this, trainer, x, y, args));
    return scalars(logs);
  }

  /**
   * One training step on one batch. Resolves to the loss before the update
   * (the list [loss, ...metrics] when compiled with metrics), as Keras and tfjs do.
   */
  async trainOnBatch(x: ModelData, y: ModelData, args: { sampleWeight?: Tensor | number[]; classWeight?: Record<number, number> } = {}): Promise<number | number[]> {
    this.ensureGraphFor(x);
    const trainer = this.requireTrainer('trainOnBatch');
    return this.exclusively('trainOnBatch', async () => {
      const batch = trainer.prepare(x, y, args.sampleWeight, args.classWeight, 'trainOnBatch');
      trainer.resetMetrics();
      const logs = await trainer.trainStep(batch.xs, batch.ys, batch.weights);
      const values = Object.values(logs);
      return values.length === 1 ? values[0] : values;
    });
  }

  /** Keras `test_on_batch`: loss (and metrics) on one batch, without updating. */
  async testOnBatch(x: ModelData, y: ModelData): Promise<number | number[]> {
    this.ensureGraphFor(x);
    const trainer = this.requireTrainer('testOnBatch');
    return this.exclusively('testOnBatch', async () => {
      const batch = trainer.prepare(x, y, undefined, undefined, 'testOnBatch');
      trainer.resetMetrics();
      const logs = await trainer.testStep(batch.xs, batch.ys, batch.weights);
      const values = Object.values(logs);
      return values.length === 1 ? values[0] : values;
    });
  }

  /** Resets the carried states of every stateful recurrent layer. */
  resetStates(): void {
    for (const l of this.layers) {
      const r = l as unknown as { stateful?: boolean; resetStates?: () => void };
      if (r.stateful && r.resetStates) r.resetStates();
    }
  }

  private requireTrainer(what: string): Trainer {
    const graph = this.requireGraph(what);
    if (!this.trainer) throw new Error(`${this.name}: ${what} needs compile({optimizer, loss}) first`);
    this.trainer.attach(graph);
    return this.trainer;
  }

  /**
   * Saves the model to a directory (`'file://dir'` or a plain path) in the
   * TensorFlow.js layers format: `model.json` + `weights.bin`, with the
   * training config and optimizer state when compiled (`includeOptimizer`,
   * default true). Crash-safe: see `lib/io/saveModel.ts`.
   */
  save(pathOrUrl: string, config?: SaveConfig): Promise<SaveResult> {
    return saveModel(this, pathOrUrl, config);
  }

  /** Saves the weights alone to a directory (`weights_manifest.json` + `weights.bin`). */
  saveWeights(pathOrUrl: string): Promise<SaveResult> {
    return saveWeights(this, pathOrUrl);
  }

  /** Sets the weights from a directory or file written by `saveWeights` or `save`, matched by name. */
  loadWeights(pathOrUrl: string): Promise<void> {
    return loadWeights(this, pathOrUrl);
  }

  /**
   * Saves the model as a Keras 3 `.keras` file that Keras 3 loads
   * (`keras.saving.load_model`) and `loadKerasModel` reads back. See
   * `lib/io/keras/saveKeras.ts` for the layout and what is refused.
   */
  saveKeras(path: string): Promise<{ path: string; bytes: number }> {
    return saveKeras(this, path);
  }

  /**
   * Writes the model as an ONNX file (opset 17) for onnxruntime and other
   * ONNX runtimes: GRU/LSTM/SimpleRNN/Bidirectional as ONNX's recurrent ops,
   * Dense as Gemm/MatMul. See `lib/io/onnx/exportOnnx.ts` for the mapping.
   */
  exportOnnx(path: string, options?: ExportOnnxOptions): Promise<{ path: string; bytes: number }> {
    return exportOnnx(this, path, options);
  }

  /** The architecture as plain JSON (camelCase, tfjs `getConfig`). */
  getConfig(): Record<string, unknown> {
    return modelConfig(this);
  }

  /**
   * The architecture as model.json's `modelTopology` (`{class_name, config,
   * keras_version, backend}`, snake_case): a JSON string, or the object
   * with `returnString` false (tfjs `toJSON`).
   */
  toJSON(unused?: unknown, returnString = true): string | Record<string, unknown> {
    void unused;
    const topology = modelTopology(this);
    return returnString ? JSON.stringify(topology) : topology;
  }

  /** Releases what the model holds (tensors are garbage collected; kept for tfjs compatibility). */
  dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    return { refCountAfterDispose: 0, numDisposedVariables: 0 };
  }

  /** Output shape(s) of the model, batch dimension first. */
  get outputShape(): Shape | Shape[] {
    const shapes = this.outputs.map((s) => s.shape);
    return shapes.length === 1 ? shapes[0] : shapes;
  }

  toString(): string {
    return `${(this.constructor as typeof LayersModel).className} ${this.name}: ${this.graph ? this.graph.inputs.map((s) => formatShape(s.shape)).join(', ') : '(not built)'}`;
  }
}

/** Logs as tfjs's evaluate returns them: one scalar tensor per value. */
function scalars(logs: Logs): Tensor<'float32'> | Tensor<'float32'>[] {
  const out = Object.values(logs).map((v) => float32Tensor(new Float32Array([v]), []));
  return out.length === 1 ? out[0] : out;
}

/**
 * A functional model from symbolic inputs to outputs (tfjs `tf.model`).
 *
 * ```ts
 * const x = input({shape: [null, 4]});
 * const h = layers.gru({units: 16}).apply(x) as SymbolicTensor;
 * const y = layers.dense({units: 1}).apply(h) as SymbolicTensor;
 * const m = model({inputs: x, outputs: y});
 * ```
 */
export function model(args: ModelArgs): LayersModel {
  return new LayersModel(args);
}
