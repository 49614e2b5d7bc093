/**
 * `loadKerasModel(path)`: a model saved by Keras itself, without Python —
 * a Keras 3 `.keras` archive, or a legacy full-model `.h5` written by
 * Keras 2.x, tf.keras 2.x or Keras 3. The format is recognised from the
 * file's first bytes (zip or HDF5), not its extension.
 *
 * The architecture is rebuilt with the file's layer names (Sequential or
 * functional; see `kerasTopology.ts` for what is normalised), the weights
 * are set by following the file's own weight names (`kerasWeights.ts`),
 * and `hard_sigmoid` means what the writing Keras meant: clip(0.2x + 0.5)
 * for Keras 2 / tf.keras (`'hardSigmoid'`), clip(x/6 + 0.5) for Keras 3
 * (`'hardSigmoidKeras3'`). When the file has compile settings the model is
 * compiled with them (optimizer, loss, metrics); settings this library
 * cannot reproduce (a custom loss, say) leave the model uncompiled with a
 * warning, as Keras does. Optimizer state is not restored.
 */
import { promises as fsp } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ModelFileError } from '../../errors.js';
import type { LayersModel } from '../../models/layersModel.js';
import { getMetric } from '../../training/metrics.js';
import { compileArgsFromTrainingConfig } from '../loadModel.js';
import { modelFromTopology } from '../modelFromConfig.js';
import { isHdf5, withHdf5 } from './hdf5.js';
import { jsonEntry, KERAS_CONFIG, KERAS_METADATA, KERAS_WEIGHTS, readKerasWeights, unzipKeras } from './kerasArchive.js';
import { normalizeTopology, trainingConfigOf } from './kerasTopology.js';
import { assignKerasWeights, type FileLayerWeights } from './kerasWeights.js';
import { readLegacyH5 } from './legacyH5.js';

/** Options of {@link loadKerasModel}. */
export interface LoadKerasOptions {
  /** Compile the model with the file's compile settings when it has them (default true). */
  compile?: boolean;
}

/** What a Keras file said about itself, for callers that want to know (e.g. the CLI). */
export interface KerasFileInfo {
  format: 'keras' | 'h5';
  kerasVersion: string | undefined;
}

type Dict = Record<string, unknown>;

/** A plain path from a path or `file://` URL. */
export function filePath(pathOrUrl: string, what: string): string {
  if (typeof pathOrUrl !== 'string' || pathOrUrl === '') throw new TypeError(`${what}: expected a file path, got ${JSON.stringify(pathOrUrl)}`);
  if (pathOrUrl.startsWith('file://')) return fileURLToPath(pathOrUrl);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUrl)) throw new ModelFileError(`${what}: only local files can be read, got ${pathOrUrl}`, { path: pathOrUrl });
  return pathOrUrl;
}

/** Reads a whole file, as a ModelFileError when it cannot be read. */
export async function readFileBytes(file: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await fsp.readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(`${what}: cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory (a .keras or .h5 file is expected)' : (e as Error).message}`, { path: file, cause: e });
  }
}

const isZip = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5) && (b[3] === 4 || b[3] === 6);

/** Removes from the training config's metrics the names this library does not know; returns them. */
function dropUnknownMetrics(tc: Dict): string[] {
  const dropped: string[] = [];
  const keep = (m: unknown): boolean => {
    if (typeof m !== 'string') return true;
    try {
      getMetric(m);
      return true;
    } catch {
      dropped.push(m);
      return false;
    }
  };
  const filter = (v: unknown): unknown => (Array.isArray(v) ? v.filter(keep) : v);
  const metrics = tc.metrics;
  if (Array.isArray(metrics)) tc.metrics = filter(metrics);
  else if (metrics !== null && typeof metrics === 'object') {
    const out: Dict = {};
    for (const [k, v] of Object.entries(metrics as Dict)) out[k] = Array.isArray(v) ? filter(v) : typeof v === 'string' && !keep(v) ? [] : v;
    tc.metrics = out;
  }
  return dropped;
}

/** Builds, fills and (optionally) compiles the model. */
function finish(model: LayersModel, layers: FileLayerWeights[], training: unknown, where: string, compile: boolean): LayersModel {
  assignKerasWeights(model, layers, where);
  if (!compile) return model;
  const tc = trainingConfigOf(training);
  if (tc === null) return model;
  const dropped = dropUnknownMetrics(tc);
  if (dropped.length > 0) {
    process.emitWarning(`${where}: the model is compiled without the metric(s) ${dropped.map((m) => JSON.stringify(m)).join(', ')}, which this library does not have`, { code: 'GATEDRNN_KERAS_METRICS' });
  }
  try {
    model.compile(compileArgsFromTrainingConfig(tc, where));
  } catch (e) {
    process.emitWarning(`${where}: the model is loaded uncompiled: its compile settings cannot be reproduced here (${(e as Error).message}); call model.compile() yourself`, { code: 'GATEDRNN_KERAS_COMPILE' });
  }
  return model;
}

/** A model from the bytes of a `.keras` archive. */
export async function modelFromKerasArchive(bytes: Uint8Array, where: string, options: LoadKerasOptions = {}): Promise<{ model: LayersModel; info: KerasFileInfo }> {
  const entries = unzipKeras(bytes, where);
  const config = jsonEntry(entries, KERAS_CONFIG, where);
  if (config === undefined) throw new ModelFileError(`${where}: the archive has no ${KERAS_CONFIG}: not a .keras model file (entries: ${Object.keys(entries).join(', ') || 'none'})`, { path: where });
  const metadata = jsonEntry(entries, KERAS_METADATA, where) as Dict | undefined;
  const kerasVersion = typeof metadata?.keras_version === 'string' ? metadata.keras_version : '3';
  const weights = entries[KERAS_WEIGHTS];
  if (!weights) {
    const other = Object.keys(entries).find((n) => /^model\.weights\.(npz|json)$/.test(n) || /\.weights\.h5$/.test(n));
    throw new ModelFileError(`${where}: the archive has no ${KERAS_WEIGHTS}${other ? ` (it has ${other}: sharded or npz weights are not supported)` : ''}`, { path: where });
  }
  const norm = normalizeTopology(config, kerasVersion, where);
  const model = modelFromTopology(norm.topology, where);
  const layers = await readKerasWeights(weights, norm.layers, where);
  const compileConfig = (config as Dict).compile_config;
  return { model: finish(model, layers, compileConfig, where, options.compile !== false), info: { format: 'keras', kerasVersion } };
}

/** A model from the bytes of a legacy full-model HDF5 file. */
export async function modelFromKerasH5(bytes: Uint8Array, where: string, options: LoadKerasOptions = {}): Promise<{ model: LayersModel; info: KerasFileInfo }> {
  const contents = await withHdf5(bytes, where, (file) => readLegacyH5(file, where));
  const norm = normalizeTopology(contents.modelConfig, contents.kerasVersion, where);
  const model = modelFromTopology(norm.topology, where);
  return { model: finish(model, contents.layers, contents.trainingConfig, where, options.compile !== false), info: { format: 'h5', kerasVersion: contents.kerasVersion } };
}

/**
 * Loads a model saved by Keras: a `.keras` archive (Keras 3) or a legacy
 * full-model `.h5` (Keras 2.x, tf.keras 2.x, Keras 3), as a path or a
 * `file://` URL. Resolves to a Sequential or functional model that
 * predicts, evaluates and trains like one built here, and saves to any
 * format this library writes. A file this library cannot reproduce exactly
 * (an unknown layer class or option, a weight that does not fit) throws a
 * {@link ModelFileError} naming the layer, its class and the option.
 */
export async function loadKerasModel(pathOrUrl: string, options: LoadKerasOptions = {}): Promise<LayersModel> {
  const what = 'loadKerasModel';
  if (options === null || typeof options !== 'object') throw new TypeError(`${what}: options must be an object like {compile: false}`);
  for (const k of Object.keys(options)) if (k !== 'compile') throw new TypeError(`${what}: unknown option ${JSON.stringify(k)}; the options are compile`);
  if (options.compile !== undefined && typeof options.compile !== 'boolean') throw new TypeError(`${what}: compile must be a boolean`);
  const file = filePath(pathOrUrl, what);
  const bytes = await readFileBytes(file, what);
  if (isZip(bytes)) return (await modelFromKerasArchive(bytes, file, options)).model;
  if (isHdf5(bytes)) return (await modelFromKerasH5(bytes, file, options)).model;
  throw new ModelFileError(`${what}: ${file} is neither a .keras archive (zip) nor an HDF5 .h5 file`, { path: file });
}
