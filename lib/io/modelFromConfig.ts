/**
 * Builds a model from its saved architecture: the `modelTopology` of a
 * TensorFlow.js model.json (`{class_name: 'Sequential' | 'Model', config}`,
 * snake_case, as tfjs and Keras 2 write it; Keras 3's functional node
 * format and `Functional` class name are read too), or from this library's
 * camelCase `model.getConfig()`.
 *
 * Functional models are rebuilt as tfjs's `Container.fromConfig` does: every
 * layer is made first, then each recorded node is applied to the symbolic
 * tensors it names, deferring nodes whose inputs do not exist yet. Layer
 * names from the file are kept (`gru_GRU2`).
 */
import { ModelFileError } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import type { SymbolicTensor } from '../layers/symbolic.js';
import { InputLayer } from '../models/inputLayer.js';
import { LayersModel } from '../models/layersModel.js';
import { Sequential } from '../models/sequential.js';
import { layerConfigFromKeras, type ReadContext } from './kerasConfig.js';
import { layerFromKeras } from './layerRegistry.js';
import { modelConfigToKeras } from './modelConfig.js';
import { describe } from './weightsFormat.js';

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function fail(where: string, message: string): never {
  throw new ModelFileError(`${where}: ${message}`, { path: where });
}

/** Whether `keras_version` says Keras 3 (whose hard_sigmoid is clip(x/6 + 0.5)). */
export function readContext(kerasVersion: unknown): ReadContext {
  return { keras3: typeof kerasVersion === 'string' && /^3\./.test(kerasVersion) };
}

/**
 * A model from a model.json `modelTopology` (`{class_name, config,
 * keras_version}`, or Keras's `{model_config: {...}, keras_version}`).
 * `where` names the file in messages.
 */
export function modelFromTopology(topology: unknown, where = 'modelTopology'): LayersModel {
  if (!isDict(topology)) fail(where, `modelTopology must be an object {class_name, config}, got ${describe(topology)}`);
  let t = topology;
  const kerasVersion = t.keras_version;
  if (isDict(t.model_config)) t = t.model_config;
  const ctx = readContext(kerasVersion ?? t.keras_version);
  const className = t.class_name;
  const config = t.config;
  if (typeof className !== 'string') fail(where, `modelTopology.class_name must be a string ('Sequential' or 'Model'), got ${describe(className)}`);
  if (!isDict(config)) fail(where, `modelTopology.config must be an object, got ${describe(config)}`);
  if (className === 'Sequential') return sequentialFromKeras(config, ctx, where);
  if (className === 'Model' || className === 'Functional') return functionalFromKeras(config, ctx, where);
  return fail(where, `model class ${JSON.stringify(className)} is not supported; expected 'Sequential' or 'Model'`);
}

/** A model from this library's `model.getConfig()` and the model's class name. */
export function modelFromConfig(className: 'Sequential' | 'Model', config: Dict): LayersModel {
  return modelFromTopology({ class_name: className, config: modelConfigToKeras(className, config) }, 'model config');
}

function modelName(config: Dict, where: string): string | undefined {
  const name = config.name;
  if (name === undefined || name === null) return undefined;
  if (typeof name !== 'string' || name === '') fail(where, `the model's name must be a non-empty string, got ${describe(name)}`);
  return name;
}

interface LayerData {
  className: string;
  config: Dict;
  name: string;
  entry: Dict;
}

function layerList(config: Dict, where: string): LayerData[] {
  const layers = config.layers;
  if (!Array.isArray(layers)) fail(where, `the model config has no layers list (got ${describe(layers)})`);
  return (layers as unknown[]).map((entry, i) => {
    if (!isDict(entry)) fail(where, `layers[${i}] must be an object {class_name, config}, got ${describe(entry)}`);
    const className = entry.class_name;
    const cfg = entry.config;
    if (typeof className !== 'string') fail(where, `layers[${i}].class_name must be a string, got ${describe(className)}`);
    if (!isDict(cfg)) fail(where, `layers[${i}] (${className}).config must be an object, got ${describe(cfg)}`);
    const name = typeof cfg.name === 'string' ? cfg.name : typeof entry.name === 'string' ? entry.name : undefined;
    const config = name !== undefined && cfg.name === undefined ? { ...cfg, name } : cfg;
    return { className, config, name: name ?? `(layer ${i})`, entry };
  });
}

function makeLayer(data: LayerData, ctx: ReadContext): Layer {
  if (data.className === 'InputLayer') {
    try {
      return new InputLayer(layerConfigFromKeras(data.config, 'InputLayer', ctx) as never);
    } catch (e) {
      if (e instanceof ModelFileError) throw e;
      throw new ModelFileError(`layer ${JSON.stringify(data.name)} (class InputLayer): ${(e as Error).message}`, { cause: e });
    }
  }
  return layerFromKeras(data.className, data.config, ctx);
}

function sequentialFromKeras(config: Dict, ctx: ReadContext, where: string): LayersModel {
  const model = new Sequential({ name: modelName(config, where) });
  for (const data of layerList(config, where)) {
    const layer = makeLayer(data, ctx);
    try {
      model.add(layer);
    } catch (e) {
      throw new ModelFileError(`${where}: cannot add layer ${JSON.stringify(data.name)} (class ${data.className}) to the Sequential model: ${(e as Error).message}`, { path: where, cause: e });
    }
  }
  return model;
}

/** A reference to a layer's output: [layerName, nodeIndex, tensorIndex]. */
type Ref = [string, number, number];

function isRef(v: unknown): boolean {
  return Array.isArray(v) && v.length >= 3 && typeof v[0] === 'string' && Number.isInteger(v[1]) && Number.isInteger(v[2]);
}

/** A Keras 3 KerasTensor in a node: `{class_name: '__keras_tensor__', config: {keras_history: [layer, node, tensor]}}`. */
function kerasTensorRef(v: unknown): Ref | null {
  if (!isDict(v) || v.class_name !== '__keras_tensor__' || !isDict(v.config)) return null;
  const h = v.config.keras_history;
  return isRef(h) ? [(h as unknown[])[0] as string, (h as unknown[])[1] as number, (h as unknown[])[2] as number] : null;
}

function collectKerasTensors(v: unknown, out: Ref[]): void {
  const ref = kerasTensorRef(v);
  if (ref) out.push(ref);
  else if (Array.isArray(v)) for (const x of v) collectKerasTensors(x, out);
}

/** Call kwargs that carry no tensors and change nothing in the graph. */
const HARMLESS_KWARGS = new Set(['training', 'mask']);

/** One inbound node of a layer as the refs it reads (inputs, then initial states). */
function nodeRefs(node: unknown, layerName: string, where: string): Ref[] {
  const bad = (): never => fail(where, `layer ${JSON.stringify(layerName)}: cannot read inbound node ${describe(node)}`);
  const kwargRefs = (kwargs: unknown, refs: Ref[]): void => {
    if (!isDict(kwargs)) return;
    for (const [k, v] of Object.entries(kwargs)) {
      if (v === null || v === undefined || HARMLESS_KWARGS.has(k)) continue;
      if (k === 'initial_state' || k === 'initialState') {
        const found: Ref[] = [];
        collectKerasTensors(v, found);
        if (found.length === 0 && Array.isArray(v)) {
          for (const r of v) {
            if (!isRef(r)) bad();
            found.push([(r as unknown[])[0] as string, (r as unknown[])[1] as number, (r as unknown[])[2] as number]);
          }
        }
        refs.push(...found);
        continue;
      }
      fail(where, `layer ${JSON.stringify(layerName)}: call argument ${JSON.stringify(k)} (${describe(v)}) is not supported`);
    }
  };
  if (isDict(node)) {
    // Keras 3: {args: [...], kwargs: {...}}.
    const refs: Ref[] = [];
    collectKerasTensors(node.args, refs);
    kwargRefs(node.kwargs, refs);
    if (refs.length === 0) bad();
    return refs;
  }
  if (!Array.isArray(node)) return bad();
  const refs: Ref[] = [];
  let kwargs: unknown = {};
  for (const item of node) {
    if (!isRef(item)) bad();
    const it = item as unknown[];
    refs.push([it[0] as string, it[1] as number, it[2] as number]);
    if (it[3] !== undefined) kwargs = it[3];
  }
  kwargRefs(kwargs, refs);
  return refs;
}

function functionalFromKeras(config: Dict, ctx: ReadContext, where: string): LayersModel {
  const list = layerList(config, where);
  const created = new Map<string, Layer>();
  const pending: Array<{ layer: Layer; refs: Ref[] }> = [];
  for (const data of list) {
    if (created.has(data.name)) fail(where, `two layers are named ${JSON.stringify(data.name)}`);
    const layer = makeLayer(data, ctx);
    created.set(data.name, layer);
    const inbound = data.entry.inbound_nodes ?? data.entry.inboundNodes ?? [];
    if (!Array.isArray(inbound)) fail(where, `layer ${JSON.stringify(data.name)}: inbound_nodes must be a list, got ${describe(inbound)}`);
    if (layer instanceof InputLayer) continue;
    for (const node of inbound as unknown[]) pending.push({ layer, refs: nodeRefs(node, data.name, where) });
  }
  const tensorAt = ([name, nodeIdx, tensorIdx]: Ref): SymbolicTensor | null => {
    const layer = created.get(name);
    if (!layer) fail(where, `a node refers to layer ${JSON.stringify(name)}, which the model does not have`);
    const node = (layer as Layer).inboundNodes[nodeIdx];
    if (!node) return null;
    const t = node.outputs[tensorIdx];
    if (!t) fail(where, `a node refers to output ${tensorIdx} of layer ${JSON.stringify(name)}, which has ${node.outputs.length} output(s)`);
    return t;
  };
  // Apply nodes whose inputs exist, in file order, until all are applied (tfjs's fromConfig).
  let queue = pending;
  while (queue.length > 0) {
    const next: typeof queue = [];
    for (const item of queue) {
      // A layer's nodes are applied in their recorded order.
      if (next.some((n) => n.layer === item.layer)) {
        next.push(item);
        continue;
      }
      const inputs = item.refs.map(tensorAt);
      if (inputs.some((t) => t === null)) {
        next.push(item);
        continue;
      }
      try {
        const list = inputs as SymbolicTensor[];
        item.layer.apply(list.length === 1 ? list[0] : list);
      } catch (e) {
        if (e instanceof ModelFileError) throw e;
        throw new ModelFileError(`${where}: cannot apply layer ${JSON.stringify(item.layer.name)} to ${item.refs.map((r) => `${r[0]}[${r[1]}][${r[2]}]`).join(', ')}: ${(e as Error).message}`, { path: where, cause: e });
      }
    }
    if (next.length === queue.length) {
      const stuck = next[0];
      fail(where, `cannot connect layer ${JSON.stringify(stuck.layer.name)}: its inputs ${stuck.refs.map((r) => `${r[0]}[${r[1]}][${r[2]}]`).join(', ')} are never produced`);
    }
    queue = next;
  }
  const refsOf = (value: unknown, what: string): Ref[] => {
    if (isRef(value)) return [value as Ref];
    if (!Array.isArray(value) || !value.every(isRef)) fail(where, `${what} must be a list of [layerName, nodeIndex, tensorIndex], got ${describe(value)}`);
    return value as Ref[];
  };
  const resolve = (r: Ref, what: string): SymbolicTensor => {
    const t = tensorAt(r);
    if (!t) fail(where, `${what} ${describe(r)} names a node that does not exist`);
    return t as SymbolicTensor;
  };
  const inputs = refsOf(config.input_layers ?? config.inputLayers, 'input_layers').map((r) => resolve(r, 'input'));
  const outputs = refsOf(config.output_layers ?? config.outputLayers, 'output_layers').map((r) => resolve(r, 'output'));
  try {
    return new LayersModel({ inputs, outputs, name: modelName(config, where) });
  } catch (e) {
    throw new ModelFileError(`${where}: ${(e as Error).message}`, { path: where, cause: e });
  }
}
