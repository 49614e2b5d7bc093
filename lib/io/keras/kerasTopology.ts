/**
 * Keras model configurations as real Keras files hold them (Keras 2.x
 * `model_config`, tf.keras 2.x, Keras 3 `config.json`), brought to the
 * form `modelFromTopology` reads, and their compile settings to the
 * `training_config` form `compileArgsFromTrainingConfig` reads.
 *
 * What changes:
 * - Keras ≤ 2.2 Sequential: `config` is the bare list of layers;
 * - Keras 3 wrappers (`module`, `registered_name`, `build_config`) are
 *   dropped; a Sequential built without an InputLayer gets its input shape
 *   from `build_input_shape` / the first layer's `build_config`;
 * - options that exist only in Keras and change nothing at their default
 *   value (`optional: false`, `sparse: false`, `synchronized: false`,
 *   `renorm: false`, `fused`, `lora_rank: null`, ...) are dropped; any other
 *   value is left for the layer to refuse, naming the layer, its class and
 *   the option;
 * - layers inside a Bidirectional lose `zero_output_for_mask` (Keras sets it
 *   there; this library's Bidirectional zeroes masked outputs already);
 * - `CuDNNGRU` / `CuDNNLSTM` (Keras 2) become `GRU(reset_after=True)` /
 *   `LSTM` with sigmoid gates, the functions CuDNN computes (their weights
 *   are converted on loading, see `kerasWeights.ts`).
 */
import { ModelFileError } from '../../errors.js';
import { describe } from '../weightsFormat.js';

type Dict = Record<string, unknown>;

function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Keys dropped when their value is one of these (Keras options that change nothing here). */
const DROP_IF: Record<string, unknown[]> = {
  optional: [false],
  sparse: [false],
  ragged: [false],
  synchronized: [false],
  renorm: [false],
  renorm_clipping: [null],
  virtual_batch_size: [null],
  adjustment: [null],
  lora_rank: [null],
  lora_alpha: [null],
  quantization_config: [null],
  rms_scaling: [false],
  autocast: [true, false],
};
/** Keys dropped whatever their value (no effect on what the layer computes). */
const DROP_ALWAYS = new Set(['fused', 'renorm_momentum', 'module', 'registered_name', 'shared_object_id']);

/** Keras layer classes read as another class, with the options that class needs. */
const CLASS_ALIASES: Record<string, { className: string; config: Dict }> = {
  CuDNNGRU: { className: 'GRU', config: { reset_after: true, recurrent_activation: 'sigmoid', activation: 'tanh' } },
  CuDNNLSTM: { className: 'LSTM', config: { recurrent_activation: 'sigmoid', activation: 'tanh' } },
};

/** A layer config with the Keras-only default options dropped (recursively into wrapped layers). */
function cleanLayerConfig(config: Dict, inBidirectional: boolean): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(config)) {
    if (DROP_ALWAYS.has(k)) continue;
    if (k in DROP_IF && DROP_IF[k].some((d) => d === v)) continue;
    if (k === 'zero_output_for_mask' && inBidirectional) continue;
    out[k] = v;
  }
  return out;
}

/** One `{class_name, config, ...}` layer entry, normalised; `inBidirectional` for the wrapped layer of a Bidirectional. */
export function normalizeLayerEntry(entry: Dict, inBidirectional = false): Dict {
  let className = entry.class_name;
  let config = isDict(entry.config) ? entry.config : {};
  if (typeof className === 'string' && CLASS_ALIASES[className]) {
    const alias = CLASS_ALIASES[className];
    config = { ...config, ...alias.config };
    className = alias.className;
  }
  const cleaned = cleanLayerConfig(config, inBidirectional);
  // tf.keras 2 saves a built BatchNormalization's axis as a list ([2]).
  if (className === 'BatchNormalization' && Array.isArray(cleaned.axis) && cleaned.axis.length === 1) cleaned.axis = cleaned.axis[0];
  const isBidi = className === 'Bidirectional';
  for (const key of ['layer', 'backward_layer', 'cell']) {
    const inner = cleaned[key];
    if (isDict(inner) && typeof inner.class_name === 'string') cleaned[key] = normalizeLayerEntry(inner, isBidi);
  }
  const out: Dict = {};
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'module' || k === 'registered_name' || k === 'build_config') continue;
    out[k] = v;
  }
  out.class_name = className;
  out.config = cleaned;
  return out;
}

/** The Keras class name of each layer of a normalised topology, before aliasing (CuDNNGRU stays CuDNNGRU). */
export interface NormalizedTopology {
  /** `{class_name, config, keras_version}` for `modelFromTopology`. */
  topology: Dict;
  /** The file's layer entries (`class_name` as in the file), model layers only (no leading Sequential InputLayer). */
  layers: Array<{ name: string; className: string }>;
  /** Sequential or Functional/Model. */
  className: string;
}

/**
 * A model config from a Keras file (`{class_name, config}`; Keras 3 adds
 * `module`, `build_config`, `compile_config`) in the form
 * `modelFromTopology` reads, with `keras_version` attached.
 */
export function normalizeTopology(raw: unknown, kerasVersion: string | undefined, where: string): NormalizedTopology {
  if (!isDict(raw)) throw new ModelFileError(`${where}: the model config must be a JSON object {class_name, config}, got ${describe(raw)}`, { path: where });
  const className = raw.class_name;
  if (typeof className !== 'string') throw new ModelFileError(`${where}: the model config has no class_name (got ${describe(className)})`, { path: where });
  if (className !== 'Sequential' && className !== 'Model' && className !== 'Functional') {
    throw new ModelFileError(`${where}: model class ${JSON.stringify(className)} is not supported: only Sequential and functional (Model/Functional) models can be loaded, not subclassed models`, { path: where });
  }
  let config: Dict;
  if (Array.isArray(raw.config)) config = { name: 'sequential', layers: raw.config };
  else if (isDict(raw.config)) config = { ...raw.config };
  else throw new ModelFileError(`${where}: the model config has no config object (got ${describe(raw.config)})`, { path: where });
  if (!Array.isArray(config.layers)) throw new ModelFileError(`${where}: the model config has no layers list (got ${describe(config.layers)})`, { path: where });
  const fileLayers = (config.layers as unknown[]).map((e, i) => {
    if (!isDict(e)) throw new ModelFileError(`${where}: layers[${i}] must be an object {class_name, config}, got ${describe(e)}`, { path: where });
    return e;
  });
  const layers = fileLayers.map((e) => normalizeLayerEntry(e));
  for (const [i, e] of layers.entries()) {
    const cls = e.class_name;
    if (cls === 'Sequential' || cls === 'Functional' || cls === 'Model') {
      const name = (e.config as Dict).name ?? e.name ?? `(layer ${i})`;
      throw new ModelFileError(`${where}: layer ${JSON.stringify(name)} (class ${cls}): a model nested inside a model is not supported; flatten it into one model`, { path: where });
    }
  }
  if (className === 'Sequential' && layers.length > 0 && layers[0].class_name !== 'InputLayer') {
    // Keras 3 Sequential built by model.build(shape) or on data: no InputLayer entry.
    const first = layers[0].config as Dict;
    if (first.batch_input_shape === undefined && first.batch_shape === undefined && first.input_shape === undefined) {
      const shape = config.build_input_shape ?? (isDict(fileLayers[0].build_config) ? fileLayers[0].build_config.input_shape : undefined) ?? (isDict(raw.build_config) ? raw.build_config.input_shape : undefined);
      if (Array.isArray(shape)) layers[0] = { ...layers[0], config: { ...first, batch_input_shape: shape } };
    }
  }
  delete config.build_input_shape;
  config.layers = layers;
  const entryName = (e: Dict, i: number): string => {
    const c = e.config as Dict;
    return typeof c.name === 'string' ? c.name : typeof e.name === 'string' ? e.name : `(layer ${i})`;
  };
  const modelLayers = fileLayers
    .map((e, i) => ({ name: entryName(e, i), className: String(e.class_name) }))
    .filter((l, i) => !(className === 'Sequential' && i === 0 && l.className === 'InputLayer'));
  return { topology: { class_name: className, config, keras_version: kerasVersion ?? null }, layers: modelLayers, className };
}

// ---------------------------------------------------------------- compile settings

/** Keras loss classes → this library's loss names. */
const LOSS_CLASSES: Record<string, string> = {
  MeanSquaredError: 'meanSquaredError',
  MeanAbsoluteError: 'meanAbsoluteError',
  MeanAbsolutePercentageError: 'meanAbsolutePercentageError',
  MeanSquaredLogarithmicError: 'meanSquaredLogarithmicError',
  BinaryCrossentropy: 'binaryCrossentropy',
  CategoricalCrossentropy: 'categoricalCrossentropy',
  SparseCategoricalCrossentropy: 'sparseCategoricalCrossentropy',
  Huber: 'huber',
};

/** A loss as the file has it → a name, or `{class_name, config}` with only the options that matter. */
function lossOf(value: unknown): unknown {
  if (typeof value === 'string' || value === null) return value;
  if (Array.isArray(value)) return value.map(lossOf);
  if (!isDict(value)) return value;
  if (typeof value.class_name !== 'string') {
    const out: Dict = {};
    for (const [k, v] of Object.entries(value)) out[k] = lossOf(v);
    return out;
  }
  const cls = value.class_name;
  const cfg = isDict(value.config) ? value.config : {};
  if (cls === 'LossFunctionWrapper' || cls === 'function') return typeof cfg.fn === 'string' ? cfg.fn : cfg.name;
  const name = LOSS_CLASSES[cls] ?? cls;
  const options: Dict = {};
  for (const k of ['from_logits', 'label_smoothing', 'delta']) if (cfg[k] !== undefined && cfg[k] !== null) options[k] = cfg[k];
  const trivial = Object.entries(options).every(([k, v]) => (k === 'from_logits' && v === false) || (k === 'label_smoothing' && v === 0));
  return trivial ? name : { class_name: name, config: options };
}

/** A metric as the file has it → its name (tf.keras wraps them as MeanMetricWrapper). */
function metricOf(value: unknown): unknown {
  if (typeof value === 'string' || value === null) return value;
  if (Array.isArray(value)) {
    const flat = value.flatMap((v) => (Array.isArray(v) ? v : [v])).map(metricOf);
    return flat;
  }
  if (!isDict(value)) return value;
  if (typeof value.class_name !== 'string') {
    const out: Dict = {};
    for (const [k, v] of Object.entries(value)) out[k] = metricOf(v);
    return out;
  }
  const cfg = isDict(value.config) ? value.config : {};
  if (typeof cfg.fn === 'string') return cfg.fn;
  if (typeof cfg.name === 'string') return cfg.name;
  return value.class_name;
}

/** An optimizer config with Keras-only keys dropped and Keras 2's `lr` renamed. */
function optimizerOf(value: unknown): unknown {
  if (typeof value === 'string') return { class_name: value.charAt(0).toUpperCase() + value.slice(1), config: {} };
  if (!isDict(value)) return value;
  const cls = value.class_name;
  const cfg = isDict(value.config) ? { ...value.config } : {};
  if (cfg.lr !== undefined && cfg.learning_rate === undefined) cfg.learning_rate = cfg.lr;
  delete cfg.lr;
  for (const k of ['weight_decay', 'clipnorm', 'global_clipnorm', 'clipvalue', 'ema_momentum', 'ema_overwrite_frequency', 'use_ema', 'loss_scale_factor', 'gradient_accumulation_steps', 'is_legacy_optimizer', 'jit_compile', 'name', 'decay']) {
    const v = cfg[k];
    if (v === null || v === undefined || v === false || k === 'name' || k === 'is_legacy_optimizer' || k === 'jit_compile' || k === 'ema_momentum' || (k === 'decay' && v === 0)) delete cfg[k];
  }
  // tf.keras 2.11+ legacy optimizers are plain names; Keras 3 names are as the classes.
  const className = typeof cls === 'string' ? cls.replace(/^(Legacy|keras\.optimizers\.legacy\.)/, '') : cls;
  return { class_name: className, config: cfg };
}

/**
 * The compile settings of a file as a `training_config`: legacy HDF5's
 * `training_config` (`{loss, metrics, optimizer_config, ...}`) or Keras 3's
 * `compile_config` (`{optimizer, loss, metrics, ...}`). Null when there is none.
 */
export function trainingConfigOf(raw: unknown): Dict | null {
  if (!isDict(raw)) return null;
  const optimizer = raw.optimizer_config ?? raw.optimizer;
  if (optimizer === undefined || optimizer === null || raw.loss === undefined || raw.loss === null) return null;
  const out: Dict = { optimizer_config: optimizerOf(optimizer), loss: lossOf(raw.loss) };
  const metrics = metricOf(raw.metrics);
  if (metrics !== undefined && metrics !== null) out.metrics = metrics;
  if (raw.loss_weights !== undefined && raw.loss_weights !== null) out.loss_weights = raw.loss_weights;
  const wm = raw.weighted_metrics;
  if (wm !== undefined && wm !== null && !(Array.isArray(wm) && wm.length === 0)) out.weighted_metrics = wm;
  return out;
}
