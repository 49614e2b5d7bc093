/**
 * A model's architecture as configuration: `getConfig()` in this library's
 * camelCase form, and the `modelTopology` of a TensorFlow.js model.json
 * (Keras's `{class_name, config, keras_version, backend}` with snake_case
 * keys). Also the training config (`compile`'s loss, metrics and
 * optimizer) as tfjs saves it.
 *
 * Sequential: `{name, layers: [{className, config}]}` (the input shape in
 * the first layer's `batchInputShape`). Functional (class `Model`):
 * `{name, layers: [{name, className, config, inboundNodes}], inputLayers,
 * outputLayers}`, where each inbound node lists the tensors the layer was
 * applied to as `[layerName, nodeIndex, tensorIndex, kwargs]` (a recurrent
 * layer's initial states follow its input in the same node), as tfjs's
 * `Container.getConfig` writes it.
 *
 * Only serialisation lives here (it needs no model class at run time);
 * building a model from a config is `modelFromConfig.ts`.
 */
import type { Layer } from '../layers/layer.js';
import type { Node, SymbolicTensor } from '../layers/symbolic.js';
import type { LayersModel } from '../models/layersModel.js';
import type { InputLayer } from '../models/inputLayer.js';
import { getLoss, type Loss } from '../training/losses.js';
import type { Metric } from '../training/metrics.js';
import { version } from '../version.js';
import { layerConfigToKeras, toPythonic, toSnakeCase } from './kerasConfig.js';

type Json = ReturnType<typeof toPythonic>;

/** What `generatedBy` says in files this library writes. */
export const GENERATED_BY = `gatedrnn ${version}`;
/** `keras_version` in files this library writes ('hard_sigmoid' there means clip(0.2x + 0.5), as tfjs). */
export const KERAS_VERSION = `gatedrnn ${version}`;
/** `backend` in files this library writes: the tfjs family of formats. */
export const BACKEND = 'tensor_flow.js';

/** The class name a layer is saved under (its `static className`). */
export function layerClassName(layer: Layer): string {
  const name = (layer.constructor as unknown as { className?: unknown }).className;
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`layer ${layer.name} (${layer.constructor.name}) cannot be saved: its class has no static className`);
  }
  return name;
}

/** The model's class name: `'Sequential'` or `'Model'`. */
export function modelClassName(model: LayersModel): string {
  return (model.constructor as unknown as { className: string }).className;
}

/** The model's nodes: every node between its inputs and outputs. */
function modelNodes(model: LayersModel): Set<Node> {
  const nodes = new Set<Node>();
  const visit = (node: Node): void => {
    if (nodes.has(node)) return;
    nodes.add(node);
    for (const s of node.inputs) visit(s.node);
  };
  for (const s of model.inputs) visit(s.node);
  for (const s of model.outputs) visit(s.node);
  return nodes;
}

/** A layer's config with its class, ready for a `layers` list. */
function layerEntry(layer: Layer): { className: string; config: Record<string, unknown> } {
  return { className: layerClassName(layer), config: layer.getConfig() };
}

/**
 * The model's configuration in camelCase (tfjs `model.getConfig()`): plain
 * JSON from which `modelFromConfig` rebuilds the same architecture.
 */
export function modelConfig(model: LayersModel): Record<string, unknown> {
  if (modelClassName(model) === 'Sequential') return sequentialConfig(model);
  return functionalConfig(model);
}

function sequentialConfig(model: LayersModel): Record<string, unknown> {
  const entries = model.layers.map(layerEntry);
  const built = model.layers.length > 0 && hasGraph(model);
  if (built) {
    const input = model.inputs[0].sourceLayer as InputLayer;
    if (input.dtype !== 'float32' || input.name !== `${model.layers[0].name}_input`) {
      // An InputLayer entry keeps an int32 input or a named one (Keras's Sequential config has one too).
      entries.unshift(layerEntry(input));
    } else if (entries.length > 0 && entries[0].config.batchInputShape === undefined) {
      // Built from data (deferred build): keep the input shape, as the first layer's.
      entries[0] = { ...entries[0], config: { ...entries[0].config, batchInputShape: [...(input.batchInputShape ?? [])] } };
    }
  }
  return { name: model.name, layers: entries };
}

function hasGraph(model: LayersModel): boolean {
  try {
    return model.inputs.length > 0;
  } catch {
    return false;
  }
}

function functionalConfig(model: LayersModel): Record<string, unknown> {
  const nodes = modelNodes(model);
  // Index of each node among its layer's nodes that belong to this model.
  const nodeIndex = new Map<Node, number>();
  for (const layer of model.layers) {
    let kept = 0;
    for (const node of layer.inboundNodes) if (nodes.has(node)) nodeIndex.set(node, kept++);
  }
  const ref = (s: SymbolicTensor): [string, number, number] => [s.sourceLayer.name, nodeIndex.get(s.node) ?? 0, s.outputIndex];
  const layers = model.layers.map((layer) => {
    const inboundNodes: unknown[] = [];
    for (const node of layer.inboundNodes) {
      if (!nodes.has(node) || node.inputs.length === 0) continue;
      const kwargs = { ...node.callArgs };
      inboundNodes.push(node.inputs.map((s) => [...ref(s), kwargs]));
    }
    return { name: layer.name, ...layerEntry(layer), inboundNodes };
  });
  return {
    name: model.name,
    layers,
    inputLayers: model.inputs.map(ref),
    outputLayers: model.outputs.map(ref),
  };
}

/** Our model config (from {@link modelConfig}) in the file's snake_case form. */
export function modelConfigToKeras(className: string, config: Record<string, unknown>): Record<string, Json> {
  const layers = (config.layers as Array<Record<string, unknown>>).map((entry) => {
    const out: Record<string, Json> = {};
    if (entry.name !== undefined) out.name = entry.name as string;
    out.class_name = entry.className as string;
    out.config = layerConfigToKeras(entry.config as Record<string, unknown>);
    if (entry.inboundNodes !== undefined) {
      out.inbound_nodes = (entry.inboundNodes as unknown[][][]).map((node) =>
        node.map(([layerName, nodeIdx, tensorIdx, kwargs]) => [layerName as string, nodeIdx as number, tensorIdx as number, toPythonic(kwargs ?? {})]),
      );
    }
    return out;
  });
  const out: Record<string, Json> = { name: config.name as string, layers };
  if (className !== 'Sequential') {
    out.input_layers = config.inputLayers as Json;
    out.output_layers = config.outputLayers as Json;
  }
  return out;
}

/** The `modelTopology` of model.json: `{class_name, config, keras_version, backend}`. */
export function modelTopology(model: LayersModel): Record<string, Json> {
  const className = modelClassName(model);
  return {
    class_name: className,
    config: modelConfigToKeras(className, modelConfig(model)),
    keras_version: KERAS_VERSION,
    backend: BACKEND,
  };
}

// ---------------------------------------------------------------- training config

/** A loss as saved: its canonical name in snake_case (tfjs), or `{class_name, config}` when it has options. */
function lossToJson(loss: unknown): Json {
  if (typeof loss === 'string') return toSnakeCase(getLoss(loss).name);
  const l = loss as Loss & { options?: Record<string, unknown> };
  const options = l.options ?? {};
  const nonDefault = Object.entries(options).filter(([k, v]) => !((k === 'fromLogits' && v === false) || (k === 'labelSmoothing' && v === 0)));
  if (nonDefault.length === 0) return toSnakeCase(l.name);
  return { class_name: l.name, config: toPythonic(options) };
}

/** A metric as saved: the name it was asked for (its name in the logs). */
function metricToJson(metric: unknown): Json {
  return typeof metric === 'string' ? metric : (metric as Metric).name;
}

function mapSpec(spec: unknown, one: (v: unknown) => Json): Json {
  if (Array.isArray(spec)) return spec.map(one);
  if (spec !== null && typeof spec === 'object' && Object.getPrototypeOf(spec) === Object.prototype && !('compute' in spec) && !('update' in spec)) {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(spec as Record<string, unknown>)) out[k] = Array.isArray(v) ? v.map(one) : one(v);
    return out;
  }
  return one(spec);
}

/**
 * The training config tfjs saves beside the topology (`trainingConfig` in
 * model.json): `{loss, metrics, optimizer_config: {class_name, config}}`,
 * plus `loss_weights` when compile had them. Null for a model that was not
 * compiled.
 */
export function trainingConfig(model: LayersModel): Record<string, Json> | null {
  const trainer = model.trainer;
  if (!trainer) return null;
  const spec = trainer;
  const out: Record<string, Json> = {
    loss: mapSpec(spec.lossSpec, lossToJson),
    metrics: spec.metricSpec === undefined || spec.metricSpec === null ? [] : mapSpec(spec.metricSpec, metricToJson),
    optimizer_config: { class_name: trainer.optimizer.className, config: JSON.parse(JSON.stringify(trainer.optimizer.getConfig())) as Json },
  };
  if (spec.lossWeightSpec !== undefined && spec.lossWeightSpec !== null) out.loss_weights = JSON.parse(JSON.stringify(spec.lossWeightSpec)) as Json;
  return out;
}
