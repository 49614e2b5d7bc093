/**
 * Layer configurations between this library's form (camelCase options, as
 * the constructors take them and `getConfig()` returns them) and the form
 * saved in a TensorFlow.js / Keras model.json (snake_case keys and values,
 * initializers and regularizers as `{class_name, config}`), following
 * tfjs's `convertTsToPythonic` / `convertPythonicToTs`:
 *
 * - keys: `returnSequences` ⇄ `return_sequences`;
 * - string values too (`hardSigmoid` ⇄ `hard_sigmoid`, `channelsLast` ⇄
 *   `channels_last`), except names;
 * - initializers: `{name: 'glorotUniform'}` ⇄ `{class_name: 'GlorotUniform', config: {seed: null}}`;
 * - regularizers: `{l1, l2}` ⇄ `{class_name: 'L1L2', config: {l1, l2}}`;
 * - wrapped layers (Bidirectional, TimeDistributed): `{className, config}` ⇄ `{class_name, config}`.
 *
 * `'hard_sigmoid'` in a file means clip(0.2x + 0.5) (`hardSigmoid`: tfjs,
 * Keras 2) unless the file was written by Keras 3 (keras_version 3.x),
 * whose hard_sigmoid is clip(x/6 + 0.5) (`hardSigmoidKeras3`). This
 * library writes `hardSigmoidKeras3` as `'hard_sigmoid_keras3'`, which
 * reads back the same and which tfjs refuses rather than misreads.
 */
import { ModelFileError } from '../errors.js';
import type { InitializerConfig } from '../layers/initializers.js';
import { describe } from './weightsFormat.js';

/** tfjs's `toSnakeCase`: `batchInputShape` → `batch_input_shape`. */
export function toSnakeCase(name: string): string {
  const intermediate = name.replace(/(.)([A-Z][a-z0-9]+)/g, '$1_$2');
  const insecure = intermediate.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
  return insecure[0] !== '_' ? insecure : `private${insecure}`;
}

/** tfjs's `toCamelCase`: `batch_input_shape` → `batchInputShape`. */
export function toCamelCase(identifier: string): string {
  if (identifier.length <= 1 || !identifier.includes('_')) return identifier;
  return identifier.replace(/[_]+(\w|$)/g, (_m, p1: string) => p1.toUpperCase());
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a reader needs to know about the file a config comes from. */
export interface ReadContext {
  /** Written by Keras 3: `hard_sigmoid` is clip(x/6 + 0.5). */
  keras3: boolean;
}

// ---------------------------------------------------------------- writing

/** An initializer as Keras/tfjs save it. */
export function initializerToKeras(c: InitializerConfig): Json {
  const pick = (keys: Array<keyof InitializerConfig>): Record<string, Json> => {
    const out: Record<string, Json> = {};
    for (const k of keys) if (c[k] !== undefined) out[k] = c[k] as number;
    return out;
  };
  switch (c.name) {
    case 'zeros':
      return { class_name: 'Zeros', config: {} };
    case 'ones':
      return { class_name: 'Ones', config: {} };
    case 'glorotUniform':
      return { class_name: 'GlorotUniform', config: { seed: null } };
    case 'glorotNormal':
      return { class_name: 'GlorotNormal', config: { seed: null } };
    case 'heUniform':
      return { class_name: 'HeUniform', config: { seed: null } };
    case 'heNormal':
      return { class_name: 'HeNormal', config: { seed: null } };
    // Keras spells these LecunUniform, tfjs LeCunUniform: VarianceScaling is read by both.
    case 'lecunUniform':
      return { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_in', distribution: 'uniform', seed: null } };
    case 'lecunNormal':
      return { class_name: 'VarianceScaling', config: { scale: 1, mode: 'fan_in', distribution: 'normal', seed: null } };
    case 'orthogonal':
      return { class_name: 'Orthogonal', config: { ...pick(['gain']), seed: null } };
    case 'randomNormal':
      return { class_name: 'RandomNormal', config: { ...pick(['mean', 'stddev']), seed: null } };
    case 'truncatedNormal':
      return { class_name: 'TruncatedNormal', config: { ...pick(['mean', 'stddev']), seed: null } };
    case 'randomUniform':
      return { class_name: 'RandomUniform', config: { ...pick(['minval', 'maxval']), seed: null } };
    default:
      throw new TypeError(`cannot save initializer ${JSON.stringify(c)}`);
  }
}

/** A regularizer as Keras/tfjs save it. */
export function regularizerToKeras(r: { l1: number; l2: number } | null): Json {
  return r === null ? null : { class_name: 'L1L2', config: { l1: r.l1, l2: r.l2 } };
}

/** A value of our config in the file's form (`key` is the option it belongs to). */
function valueToKeras(value: unknown, key: string): Json | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (key.endsWith('Initializer') && typeof value === 'object') return initializerToKeras(value as InitializerConfig);
  if (key.endsWith('Regularizer')) return regularizerToKeras(value as { l1: number; l2: number });
  if (typeof value === 'string') return key === 'name' ? value : toSnakeCase(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v) => valueToKeras(v, key) ?? null);
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.className === 'string' && o.config !== null && typeof o.config === 'object' && Object.keys(o).length === 2) {
      // A wrapped layer (Bidirectional, TimeDistributed).
      return { class_name: o.className, config: layerConfigToKeras(o.config as Record<string, unknown>) };
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(o)) {
      const j = valueToKeras(v, k);
      if (j !== undefined) out[toSnakeCase(k)] = j;
    }
    return out;
  }
  throw new TypeError(`cannot save a ${typeof value} in a layer config (option ${key})`);
}

/** A layer's `getConfig()` in the file's form. */
export function layerConfigToKeras(config: Record<string, unknown>): Record<string, Json> {
  return valueToKeras(config, '') as Record<string, Json>;
}

/** Any plain JSON in the file's form (keys and string values snake_case, `name` kept). */
export function toPythonic(value: unknown, key = ''): Json {
  return valueToKeras(value, key) ?? null;
}

// ---------------------------------------------------------------- reading

/** Where a config is read from, for messages. */
export interface LayerWhere {
  layerName: string;
  className: string;
}

function optionError(where: LayerWhere, option: string, message: string): ModelFileError {
  return new ModelFileError(`layer ${JSON.stringify(where.layerName)} (class ${where.className}): option ${JSON.stringify(option)}: ${message}`);
}

const VARIANCE_SCALING: Array<[number, string, string[], InitializerConfig['name']]> = [
  [1, 'fan_avg', ['uniform'], 'glorotUniform'],
  [1, 'fan_avg', ['normal', 'truncated_normal'], 'glorotNormal'],
  [2, 'fan_in', ['uniform'], 'heUniform'],
  [2, 'fan_in', ['normal', 'truncated_normal'], 'heNormal'],
  [1, 'fan_in', ['uniform'], 'lecunUniform'],
  [1, 'fan_in', ['normal', 'truncated_normal'], 'lecunNormal'],
];

/** An initializer from the file: `{class_name, config}` or a name. */
export function initializerFromKeras(value: unknown, where: LayerWhere, option: string): InitializerConfig | string {
  if (typeof value === 'string') return toCamelCase(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw optionError(where, option, `expected an initializer {class_name, config}, got ${describe(value)}`);
  const { class_name: cls, config: raw } = value as { class_name?: unknown; config?: unknown };
  if (typeof cls !== 'string') throw optionError(where, option, `expected an initializer {class_name, config}, got ${describe(value)}`);
  const config = (raw ?? {}) as Record<string, unknown>;
  const num = (k: string): number | undefined => {
    const v = config[k] ?? config[toCamelCase(k)];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw optionError(where, option, `${cls}.${k} must be a finite number, got ${describe(v)}`);
    return v;
  };
  const withKeys = (name: InitializerConfig['name'], keys: string[]): InitializerConfig => {
    const out: InitializerConfig = { name };
    for (const k of keys) {
      const v = num(k);
      if (v !== undefined) (out as unknown as Record<string, number>)[k] = v;
    }
    return out;
  };
  switch (cls) {
    case 'Zeros':
    case 'zeros':
      return { name: 'zeros' };
    case 'Ones':
    case 'ones':
      return { name: 'ones' };
    case 'Constant': {
      const v = num('value');
      if (v === 0) return { name: 'zeros' };
      if (v === 1) return { name: 'ones' };
      throw optionError(where, option, `initializer Constant(${v}) is not supported (only 0 and 1)`);
    }
    case 'GlorotUniform':
      return { name: 'glorotUniform' };
    case 'GlorotNormal':
      return { name: 'glorotNormal' };
    case 'HeUniform':
      return { name: 'heUniform' };
    case 'HeNormal':
      return { name: 'heNormal' };
    case 'LecunUniform':
    case 'LeCunUniform':
      return { name: 'lecunUniform' };
    case 'LecunNormal':
    case 'LeCunNormal':
      return { name: 'lecunNormal' };
    case 'Orthogonal':
      return withKeys('orthogonal', ['gain']);
    case 'RandomNormal':
      return withKeys('randomNormal', ['mean', 'stddev']);
    case 'TruncatedNormal':
      return withKeys('truncatedNormal', ['mean', 'stddev']);
    case 'RandomUniform':
      return withKeys('randomUniform', ['minval', 'maxval']);
    case 'VarianceScaling': {
      const scale = num('scale') ?? 1;
      const mode = toSnakeCase(String(config.mode ?? 'fan_in'));
      const distribution = toSnakeCase(String(config.distribution ?? 'truncated_normal'));
      const found = VARIANCE_SCALING.find(([s, m, d]) => s === scale && m === mode && d.includes(distribution));
      if (found) return { name: found[3] };
      throw optionError(where, option, `initializer VarianceScaling(scale=${scale}, mode=${mode}, distribution=${distribution}) has no equivalent here (supported: Glorot, He and LeCun forms)`);
    }
    default:
      throw optionError(where, option, `unknown initializer class ${JSON.stringify(cls)}; supported: Zeros, Ones, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling`);
  }
}

/** A regularizer from the file: `{class_name: 'L1L2' | 'L1' | 'L2', config}`, or a name. */
export function regularizerFromKeras(value: unknown, where: LayerWhere, option: string): { l1: number; l2: number } | string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw optionError(where, option, `expected a regularizer {class_name, config}, got ${describe(value)}`);
  const { class_name: cls, config: raw } = value as { class_name?: unknown; config?: unknown };
  const config = (raw ?? {}) as Record<string, unknown>;
  const factor = (k: string): number => {
    const v = config[k];
    if (v === undefined || v === null) return 0;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw optionError(where, option, `${String(cls)}.${k} must be a finite number >= 0, got ${describe(v)}`);
    return v;
  };
  switch (cls) {
    case 'L1L2':
    case 'l1_l2':
      return { l1: factor('l1'), l2: factor('l2') };
    case 'L1':
    case 'l1':
      return { l1: factor('l1'), l2: 0 };
    case 'L2':
    case 'l2':
      return { l1: 0, l2: factor('l2') };
    default:
      throw optionError(where, option, `unknown regularizer class ${describe(cls)}; supported: L1L2, L1, L2`);
  }
}

/** An activation name from the file. */
export function activationFromKeras(value: unknown, ctx: ReadContext, where: LayerWhere, option: string): string {
  if (typeof value !== 'string') throw optionError(where, option, `expected an activation name like 'tanh', got ${describe(value)}`);
  if (value === 'hard_sigmoid' || value === 'hardSigmoid') return ctx.keras3 && value === 'hard_sigmoid' ? 'hardSigmoidKeras3' : 'hardSigmoid';
  return toCamelCase(value);
}

/** Options Keras or tfjs write that change nothing here, dropped whatever their value. */
const IGNORED = new Set(['implementation', 'unroll', 'use_cudnn', 'backward_layer']);
/** Options accepted only with their default value. */
const DEFAULT_ONLY: Record<string, unknown> = { time_major: false, ragged: false, zero_output_for_mask: false };

/**
 * A layer config from the file in the form the layer's constructor takes.
 * Null values are dropped (Keras's "none"/default), except `merge_mode`
 * where null means "return both outputs". A GRU config without
 * `reset_after` (tfjs, Keras 1) means `resetAfter: false`.
 */
export function layerConfigFromKeras(config: Record<string, unknown>, className: string, ctx: ReadContext): Record<string, unknown> {
  const where: LayerWhere = { layerName: typeof config.name === 'string' ? config.name : '(unnamed)', className };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (IGNORED.has(key) && !(key === 'unroll' && className === 'RNN')) continue;
    if (key in DEFAULT_ONLY) {
      if (value !== null && value !== DEFAULT_ONLY[key]) throw optionError(where, key, `only ${JSON.stringify(DEFAULT_ONLY[key])} is supported, got ${describe(value)}`);
      continue;
    }
    if (value === null || value === undefined) {
      if (key === 'merge_mode') out.mergeMode = null;
      continue;
    }
    if (key.endsWith('_constraint')) throw optionError(where, key, `weight constraints are not supported (got ${describe(value)})`);
    if (key === 'activity_regularizer') throw optionError(where, key, `activity regularizers are not supported (got ${describe(value)})`);
    const camel = toCamelCase(key);
    if (key === 'name') out.name = value;
    else if (key.endsWith('_initializer')) out[camel] = initializerFromKeras(value, where, key);
    else if (key.endsWith('_regularizer')) out[camel] = regularizerFromKeras(value, where, key);
    else if (key === 'activation' || key === 'recurrent_activation') out[camel] = activationFromKeras(value, ctx, where, key);
    else if (key === 'dtype') out.dtype = dtypeFromKeras(value, where);
    else if (key === 'batch_shape') out.batchInputShape = value;
    else if (key === 'layer' || isSerialized(value)) out[camel] = wrappedFromKeras(value, ctx, where);
    else if (Array.isArray(value) && value.length > 0 && value.every(isSerialized)) out[camel] = value.map((v) => wrappedFromKeras(v, ctx, where));
    else out[camel] = valueFromKeras(value);
  }
  if (className === 'GRU' && out.resetAfter === undefined) out.resetAfter = false;
  return out;
}

/** A nested serialized object (a wrapped layer, an RNN cell): `{class_name, config}`. */
function isSerialized(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.class_name === 'string' && v.config !== null && typeof v.config === 'object' && !Array.isArray(v.config);
}

/** `{class_name, config}` of a wrapped layer → `{className, config}` in our form. */
export function wrappedFromKeras(value: unknown, ctx: ReadContext, where: LayerWhere): { className: string; config: Record<string, unknown> } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw optionError(where, 'layer', `expected the wrapped layer as {class_name, config}, got ${describe(value)}`);
  const { class_name: cls, config } = value as { class_name?: unknown; config?: unknown };
  if (typeof cls !== 'string' || config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw optionError(where, 'layer', `expected the wrapped layer as {class_name, config}, got ${describe(value)}`);
  }
  return { className: cls, config: layerConfigFromKeras(config as Record<string, unknown>, cls, ctx) };
}

function dtypeFromKeras(value: unknown, where: LayerWhere): unknown {
  // Keras 3: a DTypePolicy {class_name: 'DTypePolicy', config: {name: 'float32'}}.
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const name = (value as { config?: { name?: unknown } }).config?.name;
    if (typeof name === 'string') return name;
    throw optionError(where, 'dtype', `expected a dtype like 'float32', got ${describe(value)}`);
  }
  return value;
}

/** Generic values: string values and object keys to camelCase (tfjs's convertPythonicToTs). */
export function valueFromKeras(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'string') return key === 'name' || key === 'class_name' ? value : toCamelCase(value);
  if (Array.isArray(value)) return value.map((v) => valueFromKeras(v, key));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k === 'class_name' ? 'className' : toCamelCase(k)] = valueFromKeras(v, k);
    return out;
  }
  return value;
}
