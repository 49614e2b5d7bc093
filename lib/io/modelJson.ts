/**
 * The files of a saved model: where a `file://` URL or path points, reading
 * and checking a `model.json`, and which weight files an existing one
 * refers to. Shared by saving, loading and the weights-only functions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ModelFileError } from '../errors.js';
import { checkManifest, describe, type WeightsManifestGroup } from './weightsFormat.js';

/** The file name of a saved model's architecture and manifest. */
export const MODEL_JSON = 'model.json';
/** The manifest file `saveWeights` writes (tfjs's `weights_manifest.json` layout: the manifest array). */
export const WEIGHTS_MANIFEST_JSON = 'weights_manifest.json';

/** A model.json as tfjs writes it (`ModelJSON`). */
export interface ModelJson {
  modelTopology: Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: WeightsManifestGroup[];
  trainingConfig?: Record<string, unknown>;
}

/**
 * The local path a `file://` URL or a plain path names (resolved). Other
 * schemes (http, https, indexeddb, localstorage, downloads) are refused:
 * this library reads and writes local files only.
 */
export function localPath(pathOrUrl: unknown, what: string): string {
  if (typeof pathOrUrl !== 'string' || pathOrUrl === '') {
    throw new TypeError(`${what}: expected a directory path or a 'file://' URL, got ${pathOrUrl === '' ? 'an empty string' : typeof pathOrUrl}`);
  }
  let p = pathOrUrl;
  if (p.startsWith('file://')) p = p.slice('file://'.length);
  else {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(p);
    if (scheme) {
      const s = scheme[1].toLowerCase();
      const why = s === 'http' || s === 'https' ? 'no downloads are made; fetch the files yourself and give their local path' : 'only local files are supported';
      throw new ModelFileError(`${what}: ${s}:// URLs are not supported (${why}): ${pathOrUrl}`, { path: pathOrUrl });
    }
  }
  if (p === '') throw new TypeError(`${what}: the 'file://' URL names no path`);
  return path.resolve(p);
}

async function statOrNull(p: string): Promise<fs.Stats | null> {
  try {
    return await fs.promises.stat(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * The JSON file a load reads: `p` itself when it is a file, else
 * `p/<defaultName>` when `p` is a directory. Missing → ModelFileError.
 */
export async function resolveJsonFile(p: string, defaultNames: string[], what: string): Promise<string> {
  const st = await statOrNull(p);
  if (st === null) throw new ModelFileError(`${what}: ${p} does not exist`, { path: p });
  if (st.isFile()) return p;
  for (const name of defaultNames) {
    const f = path.join(p, name);
    const s = await statOrNull(f);
    if (s?.isFile()) return f;
  }
  throw new ModelFileError(`${what}: the directory ${p} has no ${defaultNames.join(' or ')}`, { path: path.join(p, defaultNames[0]) });
}

/** Reads and parses a JSON file; a missing, truncated or corrupt file gives a ModelFileError. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelFileError(code === 'ENOENT' ? `${file} does not exist` : `cannot read ${file}: ${(e as Error).message}`, { path: file, cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(`${file} is not valid JSON (truncated or corrupt?): ${(e as Error).message}`, { path: file, cause: e });
  }
}

/**
 * Reads a model.json and checks its structure: an object with a
 * `modelTopology` (unless `needTopology` is false), a layers-model format,
 * and a well-formed `weightsManifest`.
 */
export async function readModelJson(file: string, needTopology = true): Promise<ModelJson> {
  const json = await readJsonFile(file);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ModelFileError(`${file}: expected a model.json object {modelTopology, weightsManifest, ...}, got ${describe(json)}`, { path: file });
  const o = json as Record<string, unknown>;
  if (o.format !== undefined && o.format !== null && o.format !== 'layers-model') {
    throw new ModelFileError(`${file}: format ${JSON.stringify(o.format)} is not supported; only TensorFlow.js layers models ('layers-model') can be loaded`, { path: file });
  }
  const topology = o.modelTopology;
  if (needTopology && (topology === null || typeof topology !== 'object' || Array.isArray(topology))) {
    throw new ModelFileError(`${file}: modelTopology is missing or not an object (got ${describe(topology)})`, { path: file });
  }
  const manifest = checkManifest(o.weightsManifest ?? [], file);
  const out: ModelJson = { ...(o as object), modelTopology: (topology ?? {}) as Record<string, unknown>, weightsManifest: manifest } as ModelJson;
  return out;
}

/**
 * The weight files the JSON file `name` in `dir` refers to (model.json's
 * `weightsManifest`, or a weights_manifest.json array); empty when it does
 * not exist or cannot be read.
 */
export async function referencedFiles(dir: string, name: string): Promise<Set<string>> {
  const out = new Set<string>();
  try {
    const json = JSON.parse(await fs.promises.readFile(path.join(dir, name), 'utf8')) as unknown;
    const manifest = Array.isArray(json) ? json : (json as { weightsManifest?: unknown }).weightsManifest;
    if (Array.isArray(manifest)) {
      for (const g of manifest) for (const p of (g as { paths?: unknown }).paths instanceof Array ? (g as { paths: unknown[] }).paths : []) if (typeof p === 'string') out.add(p);
    }
  } catch {
    /* no such file, or unreadable: it refers to nothing we must keep */
  }
  return out;
}

/** Creates `dir` (and its parents) unless it exists; a file in its place is an error. */
export async function ensureDirectory(dir: string, what: string): Promise<void> {
  const st = await statOrNull(dir);
  if (st && !st.isDirectory()) throw new ModelFileError(`${what}: ${dir} exists and is not a directory`, { path: dir });
  if (!st) await fs.promises.mkdir(dir, { recursive: true });
}

/** Removes files of `dir` by name, ignoring the ones already gone. */
export async function removeFiles(dir: string, names: Iterable<string>): Promise<void> {
  for (const n of names) await fs.promises.unlink(path.join(dir, n)).catch(() => undefined);
}
