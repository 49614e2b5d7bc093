/**
 * One training or test step of a compiled model: run the graph, the
 * losses (one per output, weighted) and the regularizers, backpropagate,
 * clip and apply the optimizer, update the metrics. Also what `compile`
 * checks and how fit's data is turned into tensors.
 */
import { NonFiniteError } from '../errors.js';
import { float32Tensor, Tensor } from '../tensor.js';
import { requireFinite } from '../validate.js';
import type { Layer } from '../layers/layer.js';
import type { LayersModel } from '../models/layersModel.js';
import type { Graph } from '../models/graph.js';
import { sampleCount, toTensors, type ModelData } from '../models/data.js';
import { getOptimizer } from './optimizers.js';
import type { Optimizer, OptimizerVariable } from './optimizer.js';
import { getLoss, logitsActivation, withFromLogits, type Loss } from './losses.js';
import { getMetric, Mean, type Metric } from './metrics.js';
import type { Logs } from './callbacks/callback.js';
import { checkKnownOptions } from '../layers/layer.js';

/** A loss: a Keras/tfjs name (`'meanSquaredError'`, `'binary_crossentropy'`, ...) or a loss object. */
export type LossIdentifier = string | Loss;
/** A metric: a Keras/tfjs name (`'accuracy'`, `'mae'`, ...) or a metric object. */
export type MetricIdentifier = string | Metric;

/** Options of `compile` (tfjs `ModelCompileArgs`). */
export interface CompileArgs {
  /** An optimizer (`train.adam(0.01)`, `optimizers.adam({...})`) or a name (`'adam'`, `'sgd'`, `'rmsprop'`, ...) with Keras defaults. */
  optimizer: string | Optimizer;
  /** A loss name or object; one per output as a list or an object by output name. */
  loss: LossIdentifier | LossIdentifier[] | Record<string, LossIdentifier>;
  /** Metric names (`'accuracy'`, `'mae'`, ...), for every output, or per output as an object by output name. */
  metrics?: MetricIdentifier[] | Record<string, MetricIdentifier | MetricIdentifier[]>;
  /** Weight of each output's loss in the total (default 1 each). */
  lossWeights?: number[] | Record<string, number>;
}

/** fit's data as tensors: inputs, targets, and a weight per sample (null: all 1). */
export interface PreparedData {
  xs: Tensor[];
  ys: Tensor[];
  weights: Float32Array | null;
  n: number;
}

/** A layer whose output is a sigmoid or softmax of logits it keeps (Dense with such an activation). */
interface LogitsLayer extends Layer {
  activation: string;
  lastLogits(): Tensor | null;
  backwardFromLogits(dLogits: Tensor): Promise<Array<Tensor | null>>;
}

export class Trainer {
  readonly optimizer: Optimizer;
  /** What compile was given (saved with the model as its training config). */
  readonly lossSpec: CompileArgs['loss'];
  readonly metricSpec: CompileArgs['metrics'];
  readonly lossWeightSpec: CompileArgs['lossWeights'];
  private losses: Loss[] = [];
  private lossWeights: number[] = [];
  private metrics: Metric[][] = [];
  /** The running mean of each loss over an epoch, weighted by batch size (Keras's loss tracker). */
  private lossTrackers: Mean[] = [];
  private attachedTo: Graph | null = null;
  /** Per output: the layer whose logits the loss reads, or null. */
  private fused: Array<LogitsLayer | null> = [];
  /** Per output: the loss on logits, where fused. */
  private logitLosses: Array<Loss | null> = [];

  constructor(
    private readonly model: LayersModel,
    args: CompileArgs,
  ) {
    if (args === null || typeof args !== 'object') throw new TypeError('compile(args): args must be an object like {optimizer: "adam", loss: "meanSquaredError"}');
    checkKnownOptions(args, ['optimizer', 'loss', 'metrics', 'lossWeights'], 'compile');
    if (args.optimizer === undefined) throw new TypeError('compile: optimizer is required (a name like "adam" or an optimizer object)');
    if (args.loss === undefined) throw new TypeError('compile: loss is required (a name like "meanSquaredError")');
    this.optimizer = getOptimizer(args.optimizer);
    this.lossSpec = args.loss;
    this.metricSpec = args.metrics;
    this.lossWeightSpec = args.lossWeights;
    // Names are checked now, so a typo fails at compile, not at fit.
    for (const l of perOutputList(args.loss, null, 'loss')) getLoss(l as LossIdentifier);
    const metricNames = args.metrics === undefined || args.metrics === null ? [] : Array.isArray(args.metrics) ? args.metrics : Object.values(args.metrics).flat();
    // Only the name is checked here; which accuracy is decided per output at attach.
    for (const id of metricNames) getMetric(id as MetricIdentifier, { outputShape: [null, 1] });
  }

  /** Binds the compiled losses and metrics to the model's outputs (once the graph exists). */
  attach(graph: Graph): void {
    if (this.attachedTo === graph) return;
    const shared = graph.sharedLayers();
    if (shared.length > 0) throw new Error(`${this.model.name}: layer ${shared[0].name} is applied more than once; training a model with shared layers is not supported (predict works)`);
    const names = graph.outputs.map((s) => s.sourceLayer.name);
    this.losses = perOutputList(this.lossSpec, names, 'loss').map((l) => getLoss(l as LossIdentifier));
    const weights = this.lossWeightSpec === undefined ? names.map(() => 1) : perOutputList(this.lossWeightSpec, names, 'lossWeights');
    this.lossWeights = weights.map((w, i) => {
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw new RangeError(`lossWeights[${i}] must be a finite number >= 0, got ${JSON.stringify(w)}`);
      return w;
    });
    this.metrics = graph.outputs.map((s, i) => {
      const ids = metricsFor(this.metricSpec, names[i], names.length);
      return ids.map((id) => getMetric(id, { lossName: this.losses[i].name, outputShape: s.shape }));
    });
    this.lossTrackers = names.length > 1 ? names.map((n) => new Mean(`${n}_loss`)) : [];
    this.lossTrackers.unshift(new Mean('loss'));
    this.fused = graph.outputs.map((s, i) => logitsLayerFor(s.node.layer, this.losses[i], graph, s.id));
    this.logitLosses = this.fused.map((f, i) => (f ? withFromLogits(this.losses[i]) : null));
    this.attachedTo = graph;
  }

  /** Whether output i's loss takes integer class ids. */
  isSparse(i: number): boolean {
    return this.losses[i]?.name === 'sparseCategoricalCrossentropy';
  }

  /** The names of the values in the logs, in order: loss first. */
  logNames(): string[] {
    const multi = this.metrics.length > 1;
    const names = this.lossTrackers.map((t) => t.name);
    this.metrics.forEach((list, i) => {
      for (const m of list) names.push(multi ? `${this.outputName(i)}_${m.name}` : m.name);
    });
    return names;
  }

  private outputName(i: number): string {
    return (this.attachedTo as Graph).outputs[i].sourceLayer.name;
  }

  resetMetrics(): void {
    for (const t of this.lossTrackers) t.reset();
    for (const list of this.metrics) for (const m of list) m.reset();
  }

  /** Converts and checks fit/evaluate's data; folds class weights into the sample weights. */
  prepare(x: ModelData, y: ModelData, sampleWeight: Tensor | number[] | undefined, classWeight: Record<number, number> | undefined, what: string): PreparedData {
    const xs = toTensors(x, this.model.inputSlots(), `${what} x`);
    const ys = toTensors(y, this.model.outputSlots(), `${what} y`);
    const n = sampleCount([...xs, ...ys], `${what} x and y`);
    if (n === 0) throw new RangeError(`${what}: no samples`);
    let weights: Float32Array | null = null;
    if (sampleWeight !== undefined && sampleWeight !== null) {
      const w = sampleWeight instanceof Tensor ? (sampleWeight.view() as ArrayLike<number>) : sampleWeight;
      if (!Array.isArray(w) && !ArrayBuffer.isView(w)) throw new TypeError(`${what}: sampleWeight must be a tensor or an array of numbers`);
      if (w.length !== n) throw new RangeError(`${what}: sampleWeight has ${w.length} values for ${n} samples`);
      weights = Float32Array.from(w as ArrayLike<number>);
      weights.forEach((v, i) => {
        if (!Number.isFinite(v) || v < 0) throw new RangeError(`${what}: sampleWeight[${i}] is ${v}; weights must be finite and >= 0`);
      });
    }
    if (classWeight !== undefined && classWeight !== null) {
      if (typeof classWeight !== 'object') throw new TypeError(`${what}: classWeight must be an object like {0: 1, 1: 5}`);
      if (ys.length !== 1) throw new TypeError(`${what}: classWeight is for single-output models; use sampleWeight`);
      const w = weights ?? new Float32Array(n).fill(1);
      const classes = classIds(ys[0], this.isSparse(0));
      classes.forEach((c, i) => {
        const cw = classWeight[c];
        if (cw === undefined) throw new RangeError(`${what}: classWeight has no weight for class ${c} (sample ${i})`);
        if (typeof cw !== 'number' || !Number.isFinite(cw) || cw < 0) throw new RangeError(`${what}: classWeight[${c}] must be a finite number >= 0`);
        w[i] *= cw;
      });
      weights = w;
    }
    return { xs, ys, weights, n };
  }

  /** One optimizer step on a batch. Resolves to the logs so far this epoch (loss before the update). */
  async trainStep(xs: Tensor[], ys: Tensor[], weights: Float32Array | null): Promise<Logs> {
    const graph = this.attachedTo as Graph;
    const forward = await graph.forward(xs, true);
    const n = xs[0].shape[0];
    const dOutputs: Tensor[] = [];
    const dLogits = new Map<number, Tensor>();
    let total = 0;
    const perOutput: number[] = [];
    graph.outputs.forEach((s, i) => {
      const pred = forward.values.get(s.id) as Tensor;
      const fused = this.fused[i];
      const logits = fused?.lastLogits() ?? null;
      const r = logits ? computeLoss(this.logitLosses[i] as Loss, ys[i], logits, weights) : computeLoss(this.losses[i], ys[i], pred, weights);
      const lw = this.lossWeights[i];
      total += lw * r.value;
      perOutput.push(r.value);
      const g = r.grad;
      if (lw !== 1) for (let k = 0; k < g.length; k++) g[k] *= lw;
      if (logits) dLogits.set(s.id, float32Tensor(g, logits.shape));
      else dOutputs[i] = float32Tensor(g, pred.shape);
    });
    const layers = graph.layers;
    total += layers.reduce((sum, l) => sum + l.regularizationLoss(), 0);
    if (!Number.isFinite(total)) {
      // Recorded so TerminateOnNaN sees it; no update from a non-finite loss.
      this.track(total, perOutput, n);
      this.updateMetrics(graph, forward.values, ys, weights);
      return this.logs();
    }
    try {
      const reached = await graph.backward(forward, graph.outputs.map((_, i) => dOutputs[i] ?? null), dLogits, this.fused);
      this.applyGradients(layers, reached);
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      // The loss was finite but a gradient or an updated weight overflowed:
      // the run diverges. No weight changes; NaN in the logs lets
      // TerminateOnNaN (or the user) see it, as Keras's NaN loss would.
      this.track(NaN, perOutput.map(() => NaN), n);
      this.updateMetrics(graph, forward.values, ys, weights);
      return this.logs();
    }
    this.track(total, perOutput, n);
    this.updateMetrics(graph, forward.values, ys, weights);
    return this.logs();
  }

  /** Loss and metrics on a batch, no update. Resolves to the logs so far. */
  async testStep(xs: Tensor[], ys: Tensor[], weights: Float32Array | null): Promise<Logs> {
    const graph = this.attachedTo as Graph;
    const forward = await graph.forward(xs, false);
    let total = 0;
    const perOutput: number[] = [];
    graph.outputs.forEach((s, i) => {
      const r = computeLoss(this.losses[i], ys[i], forward.values.get(s.id) as Tensor, weights);
      total += this.lossWeights[i] * r.value;
      perOutput.push(r.value);
    });
    total += graph.layers.reduce((sum, l) => sum + l.regularizationLoss(), 0);
    this.track(total, perOutput, xs[0].shape[0]);
    this.updateMetrics(graph, forward.values, ys, weights);
    return this.logs();
  }

  private track(total: number, perOutput: number[], n: number): void {
    this.lossTrackers[0].update(total, n);
    perOutput.forEach((v, i) => this.lossTrackers[i + 1]?.update(v, n));
  }

  private updateMetrics(graph: Graph, values: Map<number, Tensor>, ys: Tensor[], weights: Float32Array | null): void {
    graph.outputs.forEach((s, i) => {
      const pred = values.get(s.id) as Tensor;
      for (const m of this.metrics[i]) m.update(ys[i].view(), pred.view() as Float32Array, pred.shape, weights ?? undefined);
    });
  }

  private logs(): Logs {
    const names = this.logNames();
    const values = [...this.lossTrackers.map((t) => t.result()), ...this.metrics.flat().map((m) => m.result())];
    const logs: Logs = {};
    names.forEach((k, i) => (logs[k] = values[i]));
    return logs;
  }

  /**
   * Gathers every trainable weight with its gradient (zeros for layers no
   * gradient reached), lets the optimizer update them, and gives each layer
   * its new weights.
   */
  private applyGradients(layers: Layer[], reached: Set<Layer>): void {
    const vars: OptimizerVariable[] = [];
    const updates: Array<[Layer, Tensor[]]> = [];
    for (const layer of layers) {
      const names = layer.weightNames();
      if (names.length === 0 || !layer.built) continue;
      const flags = layer.trainableWeightFlags();
      if (!flags.some(Boolean)) continue;
      const weights = layer.getWeights();
      const grads = reached.has(layer) ? layer.getGradients() : null;
      weights.forEach((w, k) => {
        if (!flags[k]) return;
        const grad = grads ? (grads[k].view() as Float32Array).slice() : new Float32Array(w.size);
        vars.push({ name: `${layer.name}/${names[k]}`, value: w.view() as Float32Array, grad, shape: w.shape });
      });
      updates.push([layer, weights]);
    }
    this.optimizer.applyGradients(vars);
    // Checked before any layer takes its new weights: all or nothing.
    for (const v of vars) requireFinite(v.value, `the updated weight ${v.name}`);
    for (const [layer, weights] of updates) layer.adoptWeights(weights);
  }
}

/** Keras accepts one value for every output, a list, or an object keyed by output name. */
function perOutputList<T>(spec: T | T[] | Record<string, T>, names: string[] | null, what: string): T[] {
  if (Array.isArray(spec)) {
    if (names && spec.length !== names.length) throw new RangeError(`compile: ${what} has ${spec.length} entries for ${names.length} outputs (${names.join(', ')})`);
    return spec;
  }
  if (spec !== null && typeof spec === 'object' && Object.getPrototypeOf(spec) === Object.prototype && !isLossObject(spec)) {
    const obj = spec as Record<string, T>;
    if (!names) return Object.values(obj);
    for (const k of Object.keys(obj)) if (!names.includes(k)) throw new TypeError(`compile: ${what} names output ${JSON.stringify(k)}; the outputs are ${names.join(', ')}`);
    return names.map((n) => {
      if (!(n in obj)) throw new TypeError(`compile: ${what} has no entry for output ${JSON.stringify(n)}`);
      return obj[n];
    });
  }
  return names ? names.map(() => spec as T) : [spec as T];
}

function isLossObject(v: object): boolean {
  return 'compute' in v;
}

function metricsFor(spec: CompileArgs['metrics'], output: string, outputs: number): MetricIdentifier[] {
  if (spec === undefined || spec === null) return [];
  if (Array.isArray(spec)) return spec;
  if (typeof spec === 'object') {
    const v = (spec as Record<string, MetricIdentifier | MetricIdentifier[]>)[output];
    if (outputs === 1 && v === undefined && Object.keys(spec).length > 0) {
      throw new TypeError(`compile: metrics names outputs ${Object.keys(spec).join(', ')}; the output is ${output}`);
    }
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }
  return [spec as MetricIdentifier];
}

/**
 * The layer whose logits a crossentropy reads instead of its probabilities
 * (as tf.keras does with `_keras_logits`): exact and stable where the
 * probability form clips. Only when the output feeds nothing else.
 */
function logitsLayerFor(layer: Layer, loss: Loss, graph: Graph, outputId: number): LogitsLayer | null {
  const l = layer as Partial<LogitsLayer>;
  if (typeof l.lastLogits !== 'function' || typeof l.backwardFromLogits !== 'function') return null;
  const wanted = logitsActivation(loss);
  if (!wanted || l.activation !== wanted) return null;
  const readElsewhere = graph.nodes.some((n) => n.inputs.some((s) => s.id === outputId));
  if (readElsewhere || graph.nodes.filter((n) => n.layer === layer).length !== 1) return null;
  return l as LogitsLayer;
}

/** The class of each sample: the id (sparse), argmax (one-hot), or the rounded value (binary). */
function classIds(y: Tensor, sparse: boolean): number[] {
  const v = y.view();
  const n = y.shape[0];
  const row = y.size / n;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (sparse || row === 1) out.push(Math.round(v[i * row]));
    else {
      let best = 0;
      for (let k = 1; k < row; k++) if (v[i * row + k] > v[i * row + best]) best = k;
      out.push(best);
    }
  }
  return out;
}

/** A loss on tensors; a non-finite prediction is reported as such, not as a crash deeper down. */
function computeLoss(loss: Loss, yTrue: Tensor, yPred: Tensor, weights: Float32Array | null) {
  return loss.compute(yTrue.view(), yPred.view() as Float32Array, yPred.shape, weights ?? undefined);
}
