/**
 * The layer classes a saved model may name, by their Keras/tfjs class name
 * (`static className`), and how a layer is made from its saved config.
 * Every built-in layer is registered here; `registerLayerClass` adds more
 * (a custom layer with `static className` and a constructor that takes its
 * own `getConfig()`).
 */
import { ModelFileError } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import { Bidirectional } from '../layers/recurrent/bidirectional.js';
import { GRU } from '../layers/recurrent/gru.js';
import { LSTM } from '../layers/recurrent/lstm.js';
import { SimpleRNN } from '../layers/recurrent/simpleRnn.js';
import { RNN } from '../layers/recurrent/rnn.js';
import { Activation } from '../layers/core/activation.js';
import { BatchNormalization } from '../layers/core/batchNormalization.js';
import { Concatenate } from '../layers/core/concatenate.js';
import { Dense } from '../layers/core/dense.js';
import { Dropout } from '../layers/core/dropout.js';
import { Embedding } from '../layers/core/embedding.js';
import { Flatten } from '../layers/core/flatten.js';
import { LayerNormalization } from '../layers/core/layerNormalization.js';
import { Masking } from '../layers/core/masking.js';
import { Permute } from '../layers/core/permute.js';
import { RepeatVector } from '../layers/core/repeatVector.js';
import { Reshape } from '../layers/core/reshape.js';
import { TimeDistributed } from '../layers/core/timeDistributed.js';
import { InputLayer } from '../models/inputLayer.js';
import { layerConfigFromKeras, toSnakeCase, type ReadContext } from './kerasConfig.js';

/** A layer class that can be saved and loaded. */
export interface LayerClass {
  readonly className: string;
  new (config: never): Layer;
}

const registry = new Map<string, LayerClass>();

/**
 * Registers a layer class under its `static className` (replacing one of
 * the same name), so that models holding it can be loaded.
 */
export function registerLayerClass(cls: LayerClass): void {
  if (typeof cls !== 'function' || typeof cls.className !== 'string' || cls.className === '') {
    throw new TypeError('registerLayerClass: expected a layer class with a static className');
  }
  registry.set(cls.className, cls);
}

/** The registered class of this name, or undefined. */
export function getLayerClass(className: string): LayerClass | undefined {
  return registry.get(className);
}

/** The class names that can be loaded. */
export function registeredClassNames(): string[] {
  return [...registry.keys()].sort();
}

for (const cls of [
  InputLayer,
  GRU,
  LSTM,
  SimpleRNN,
  Bidirectional,
  RNN,
  Dense,
  Embedding,
  Dropout,
  BatchNormalization,
  LayerNormalization,
  Flatten,
  Concatenate,
  Masking,
  Activation,
  RepeatVector,
  Reshape,
  Permute,
  TimeDistributed,
] as unknown as LayerClass[]) {
  registerLayerClass(cls);
}

/** Keras names for the same classes. */
const ALIASES: Record<string, string> = { GRUV2: 'GRU', LSTMV2: 'LSTM' };

function classFor(className: string, layerName: string): LayerClass {
  const cls = registry.get(className) ?? registry.get(ALIASES[className] ?? '');
  if (!cls) {
    throw new ModelFileError(`layer ${JSON.stringify(layerName)}: unknown layer class ${JSON.stringify(className)}; the classes that can be loaded are ${registeredClassNames().join(', ')}`);
  }
  return cls;
}

/**
 * Makes a layer from our (camelCase) config. A wrapped layer given as
 * `{className, config}` is made by the wrapper itself (Bidirectional makes
 * both directions from it; TimeDistributed through its `deserialize` hook,
 * which this module points at the registry).
 */
export function layerFromConfig(className: string, config: Record<string, unknown>): Layer {
  const layerName = typeof config.name === 'string' ? config.name : '(unnamed)';
  const cls = classFor(className, layerName);
  try {
    return new cls(config as never);
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    throw new ModelFileError(`layer ${JSON.stringify(layerName)} (class ${cls.className}): ${(e as Error).message}`, { cause: e });
  }
}

/** Makes a layer from its saved (Keras/tfjs, snake_case) `{class_name, config}`. */
export function layerFromKeras(className: string, config: Record<string, unknown>, ctx: ReadContext): Layer {
  const layerName = typeof config.name === 'string' ? config.name : '(unnamed)';
  const cls = classFor(className, layerName);
  try {
    return layerFromConfig(cls.className, layerConfigFromKeras(config, cls.className, ctx));
  } catch (e) {
    // Name the option as the file spells it too.
    const m = e instanceof ModelFileError ? /unknown option "(\w+)"/.exec(e.message) : null;
    if (m && toSnakeCase(m[1]) !== m[1]) throw new ModelFileError(`${e instanceof Error ? e.message : String(e)} (${JSON.stringify(toSnakeCase(m[1]))} in the file)`, { cause: e });
    throw e;
  }
}

// TimeDistributed reaches every registered class (custom ones included).
TimeDistributed.deserialize = (className, config) => layerFromConfig(className, config);
