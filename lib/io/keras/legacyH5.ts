/**
 * Reading a legacy full-model HDF5 file (`model.save('m.h5')`), as Keras
 * 2.x, tf.keras 2.x and Keras 3 write it:
 *
 * - root attributes `keras_version`, `backend`, `model_config` (JSON) and
 *   `training_config` (JSON, when compiled);
 * - group `model_weights` with attribute `layer_names`, one group per layer
 *   with attribute `weight_names`, each name the path of a dataset inside
 *   that layer group. The names differ between writers (`lstm_1/kernel:0`,
 *   `gru/gru_cell/kernel:0`, `gru_1/gru_cell_1/kernel:0`,
 *   `sequential/gru/gru_cell/kernel`): they are always followed, never
 *   rebuilt from layer names.
 */
import { ModelFileError } from '../../errors.js';
import { attribute, dataset, group, readFloat32, stringAttribute, stringListAttribute, type H5File } from './hdf5.js';
import type { FileLayerWeights } from './kerasWeights.js';

/** What a legacy HDF5 model file holds. */
export interface LegacyH5Contents {
  kerasVersion: string | undefined;
  backend: string | undefined;
  modelConfig: unknown;
  trainingConfig: unknown;
  layers: FileLayerWeights[];
}

function parseJson(text: string | undefined, what: string, where: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${where}: attribute ${what} is not valid JSON: ${(e as Error).message}`, { path: where, cause: e });
  }
}

/** The per-layer weights of a `model_weights` group (or of a weights-only file's root). */
export function readLayerWeights(file: H5File, where: string): FileLayerWeights[] {
  const weightsGroup = group(file, 'model_weights') ?? file;
  const layerNames = stringListAttribute(weightsGroup, 'layer_names');
  if (layerNames === undefined) throw new ModelFileError(`${where}: the HDF5 file has no layer_names attribute: not a Keras model or weights file`, { path: where });
  return layerNames.map((layerName) => {
    const g = group(weightsGroup, layerName);
    if (!g) throw new ModelFileError(`${where}: layer_names lists ${JSON.stringify(layerName)} but the file has no group model_weights/${layerName}`, { path: where });
    const names = stringListAttribute(g, 'weight_names') ?? [];
    const weights = names.map((name) => {
      const ds = dataset(g, name);
      if (!ds) throw new ModelFileError(`${where}: layer ${JSON.stringify(layerName)} lists weight ${JSON.stringify(name)} in weight_names, but the file has no dataset ${g.path}/${name}`, { path: where });
      const { values, shape } = readFloat32(ds, where);
      return { name, shape, values };
    });
    return { layerName, weights };
  });
}

/** Reads a legacy HDF5 model file that is open. */
export function readLegacyH5(file: H5File, where: string): LegacyH5Contents {
  const modelConfigText = stringAttribute(file, 'model_config');
  if (modelConfigText === undefined) {
    const weightsOnly = attribute(file, 'layer_names') !== undefined;
    throw new ModelFileError(
      weightsOnly
        ? `${where}: this HDF5 file holds weights only (written by save_weights), not a model: it has no model_config. Build the model, then load the weights into it`
        : `${where}: the HDF5 file has no model_config attribute: not a Keras model file`,
      { path: where },
    );
  }
  const mw = group(file, 'model_weights');
  const kerasVersion = stringAttribute(file, 'keras_version') ?? (mw ? stringAttribute(mw, 'keras_version') : undefined);
  const backend = stringAttribute(file, 'backend') ?? (mw ? stringAttribute(mw, 'backend') : undefined);
  return {
    kerasVersion,
    backend,
    modelConfig: parseJson(modelConfigText, 'model_config', where),
    trainingConfig: parseJson(stringAttribute(file, 'training_config'), 'training_config', where),
    layers: mw ? readLayerWeights(file, where) : [],
  };
}
