/**
 * The TensorFlow.js weights format: a manifest (`weightsManifest` in
 * model.json: groups of `{paths, weights: [{name, shape, dtype, group?}]}`)
 * and binary files holding every weight's values as little-endian float32
 * (or int32), concatenated in manifest order. A group's data may be split
 * across several files (`group1-shard1of3.bin`, ...): the files of a group
 * are read one after the other as one byte stream.
 *
 * Reading checks everything a corrupt or mismatched file could get wrong:
 * the manifest's structure, every dtype and shape, the byte length of each
 * group's files against its weights, and finite values.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatShape, ModelFileError } from '../errors.js';

/** The dtypes this library reads and writes. */
export type WeightDtype = 'float32' | 'int32';

/** One weight in a manifest (tfjs `WeightsManifestEntry`). */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  /** `'optimizer'` for optimizer state (tfjs); absent for the model's weights. */
  group?: string;
}

/** One group of a manifest (tfjs `WeightsManifestGroupConfig`). */
export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

/** A weight with its values. */
export interface NamedWeight extends WeightSpec {
  values: Float32Array | Int32Array;
}

/** The shard size tfjs's converter uses: 4 MiB. */
export const SHARD_SIZE_BYTES = 4 * 1024 * 1024;

const BYTES_PER_VALUE: Record<WeightDtype, number> = { float32: 4, int32: 4 };
const LITTLE_ENDIAN = os.endianness() === 'LE';

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes a weight takes in the binary data. */
export function byteLength(spec: WeightSpec): number {
  return sizeOf(spec.shape) * BYTES_PER_VALUE[spec.dtype];
}

/** The weights as one little-endian byte array, with their specs (values are not checked here). */
export function encodeWeights(weights: NamedWeight[]): { specs: WeightSpec[]; data: Uint8Array } {
  const total = weights.reduce((n, w) => n + w.values.length * 4, 0);
  const data = new Uint8Array(total);
  const view = new DataView(data.buffer);
  let offset = 0;
  const specs: WeightSpec[] = [];
  for (const w of weights) {
    if (w.values.length !== sizeOf(w.shape)) throw new RangeError(`internal: weight ${w.name} has ${w.values.length} values for shape ${formatShape(w.shape)}`);
    if (LITTLE_ENDIAN) {
      data.set(new Uint8Array(w.values.buffer, w.values.byteOffset, w.values.byteLength), offset);
    } else {
      for (let i = 0; i < w.values.length; i++) {
        if (w.dtype === 'int32') view.setInt32(offset + 4 * i, w.values[i], true);
        else view.setFloat32(offset + 4 * i, w.values[i], true);
      }
    }
    offset += w.values.length * 4;
    const spec: WeightSpec = { name: w.name, shape: [...w.shape], dtype: w.dtype };
    if (w.group !== undefined) spec.group = w.group;
    specs.push(spec);
  }
  return { specs, data };
}

/** Cuts the data into pieces of at most `shardSize` bytes (at least one piece, possibly empty). */
export function splitShards(data: Uint8Array, shardSize: number): Uint8Array[] {
  if (data.length <= shardSize) return [data];
  const out: Uint8Array[] = [];
  for (let start = 0; start < data.length; start += shardSize) out.push(data.subarray(start, Math.min(data.length, start + shardSize)));
  return out;
}

/**
 * File names for `count` pieces: `weights.bin` for one (tfjs-node's name),
 * `group1-shard1of3.bin`, ... for several (the tfjs converter's). A
 * `generation` above 1 gives other names (`weights-2.bin`,
 * `group2-shard1of3.bin`), so new files never overwrite the ones an
 * existing model.json still refers to.
 */
export function weightFileNames(count: number, generation = 1): string[] {
  if (count === 1) return [generation === 1 ? 'weights.bin' : `weights-${generation}.bin`];
  return Array.from({ length: count }, (_, i) => `group${generation}-shard${i + 1}of${count}.bin`);
}

/** The values as little-endian bytes, decoded into a typed array of the spec's dtype. */
function decodeValues(bytes: Uint8Array, spec: WeightSpec): Float32Array | Int32Array {
  const n = sizeOf(spec.shape);
  const copy = new Uint8Array(n * 4);
  copy.set(bytes.subarray(0, n * 4));
  if (LITTLE_ENDIAN) return spec.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
  const view = new DataView(copy.buffer);
  const out = spec.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = spec.dtype === 'int32' ? view.getInt32(4 * i, true) : view.getFloat32(4 * i, true);
  return out;
}

/**
 * Checks the structure of a weights manifest (an array of groups) and
 * returns it typed. `where` names the file in messages.
 */
export function checkManifest(value: unknown, where: string): WeightsManifestGroup[] {
  const fail = (msg: string): never => {
    throw new ModelFileError(`${where}: ${msg}`, { path: where });
  };
  if (!Array.isArray(value)) fail(`weightsManifest must be an array of {paths, weights} groups, got ${describe(value)}`);
  const groups = value as unknown[];
  const names = new Set<string>();
  return groups.map((g, gi) => {
    if (g === null || typeof g !== 'object' || Array.isArray(g)) fail(`weightsManifest[${gi}] must be an object {paths, weights}, got ${describe(g)}`);
    const { paths, weights } = g as { paths?: unknown; weights?: unknown };
    if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || p === '')) fail(`weightsManifest[${gi}].paths must be an array of file names, got ${describe(paths)}`);
    for (const p of paths as string[]) {
      const norm = p.replace(/\\/g, '/');
      if (path.isAbsolute(p) || norm.startsWith('/') || norm.split('/').includes('..')) fail(`weightsManifest[${gi}].paths: ${JSON.stringify(p)} must be a file name relative to the model's directory`);
    }
    if (!Array.isArray(weights)) fail(`weightsManifest[${gi}].weights must be an array of {name, shape, dtype}, got ${describe(weights)}`);
    const specs = (weights as unknown[]).map((w, wi) => {
      const at = `weightsManifest[${gi}].weights[${wi}]`;
      if (w === null || typeof w !== 'object' || Array.isArray(w)) fail(`${at} must be an object {name, shape, dtype}, got ${describe(w)}`);
      const { name, shape, dtype, group, quantization } = w as Record<string, unknown>;
      if (typeof name !== 'string' || name === '') fail(`${at}.name must be a non-empty string, got ${describe(name)}`);
      const label = `${at} (${JSON.stringify(name)})`;
      if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 0)) fail(`${label}: shape must be an array of integers >= 0, got ${describe(shape)}`);
      if (quantization !== undefined && quantization !== null) fail(`${label}: quantized weights are not supported; convert the model without quantization`);
      if (dtype !== 'float32' && dtype !== 'int32') fail(`${label}: dtype ${JSON.stringify(dtype)} is not supported; weights must be float32 (or int32)`);
      if (group !== undefined && group !== null && typeof group !== 'string') fail(`${label}: group must be a string, got ${describe(group)}`);
      const key = `${group ?? 'model'}:${name}`;
      if (names.has(key)) fail(`${label}: the weight name appears twice`);
      names.add(key);
      const spec: WeightSpec = { name: name as string, shape: [...(shape as number[])], dtype: dtype as WeightDtype };
      if (typeof group === 'string') spec.group = group;
      return spec;
    });
    return { paths: [...(paths as string[])], weights: specs };
  });
}

/**
 * Reads the binary files of every group (relative to `dir`), checks that
 * each group's files hold exactly the bytes its weights need, and decodes
 * the weights in manifest order. NaN or infinite float values are refused.
 */
export async function readWeights(dir: string, manifest: WeightsManifestGroup[]): Promise<NamedWeight[]> {
  const out: NamedWeight[] = [];
  for (const [gi, group] of manifest.entries()) {
    const buffers: Buffer[] = [];
    const sizes: string[] = [];
    for (const p of group.paths) {
      const file = path.join(dir, p);
      let buf: Buffer;
      try {
        buf = await fs.promises.readFile(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new ModelFileError(`weights file ${file} is missing (listed in weightsManifest[${gi}].paths)`, { path: file, cause: e });
        throw new ModelFileError(`cannot read weights file ${file}: ${(e as Error).message}`, { path: file, cause: e });
      }
      buffers.push(buf);
      sizes.push(`${p}: ${buf.length}`);
    }
    const bytes = buffers.length === 1 ? new Uint8Array(buffers[0].buffer, buffers[0].byteOffset, buffers[0].length) : new Uint8Array(Buffer.concat(buffers));
    const need = group.weights.reduce((n, s) => n + byteLength(s), 0);
    if (bytes.length !== need) {
      const files = group.paths.map((p) => path.join(dir, p)).join(', ');
      const what = bytes.length < need ? 'truncated' : 'longer than its manifest';
      throw new ModelFileError(
        `weights data is ${what}: ${files} hold ${bytes.length} bytes (${sizes.join(', ')}), but the ${group.weights.length} weights listed in weightsManifest[${gi}] need ${need} bytes`,
        { path: path.join(dir, group.paths[0] ?? '') },
      );
    }
    let offset = 0;
    for (const spec of group.weights) {
      const n = byteLength(spec);
      const values = decodeValues(bytes.subarray(offset, offset + n), spec);
      offset += n;
      if (values instanceof Float32Array) {
        for (let i = 0; i < values.length; i++) {
          if (!Number.isFinite(values[i])) {
            throw new ModelFileError(`weight ${JSON.stringify(spec.name)} ${formatShape(spec.shape)} contains ${values[i]} at flat index ${i}; the weights file is corrupt (or the model diverged before it was saved)`, {
              path: path.join(dir, group.paths[0] ?? ''),
            });
          }
        }
      }
      out.push({ ...spec, shape: [...spec.shape], values });
    }
  }
  return out;
}

/** A short description of a JSON value for messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value);
  return s === undefined ? typeof value : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
