/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly; no
 * Python, no native build). Files are opened from bytes in h5wasm's
 * in-memory file system and removed from it when closed, so reading a
 * `model.weights.h5` out of a `.keras` zip never touches the disk, and a
 * written file comes back as bytes for the caller to write atomically.
 *
 * h5wasm is an ES module: it is loaded with a dynamic import the first time
 * an HDF5 file is read or written, so requiring gatedrnn costs nothing.
 */
import { ModelFileError } from '../../errors.js';

type H5 = typeof import('h5wasm');
export type H5Group = import('h5wasm').Group;
export type H5File = import('h5wasm').File;
export type H5Dataset = import('h5wasm').Dataset;

let loading: Promise<H5> | null = null;

/** The h5wasm module, ready. */
export async function h5(): Promise<H5> {
  if (!loading) {
    loading = (async () => {
      const mod = (await import('h5wasm')) as H5 & { default?: H5 };
      const m = (mod.File ? mod : mod.default) as H5;
      await m.ready;
      return m;
    })();
    loading.catch(() => {
      loading = null;
    });
  }
  return loading;
}

let counter = 0;

/** The HDF5 signature, at offset 0 (or 512, 1024, ... with a user block). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Whether the bytes start like an HDF5 file. */
export function isHdf5(bytes: Uint8Array): boolean {
  for (let off = 0; off + 8 <= bytes.length && off <= 1 << 20; off = off === 0 ? 512 : off * 2) {
    if (SIGNATURE.every((b, i) => bytes[off + i] === b)) return true;
  }
  return false;
}

/**
 * Opens HDF5 bytes read-only and passes the file to `fn`; the file is
 * closed and its in-memory copy removed afterwards, whatever happens.
 * `where` names the file in errors.
 */
export async function withHdf5<T>(bytes: Uint8Array, where: string, fn: (file: H5File) => T | Promise<T>): Promise<T> {
  if (!isHdf5(bytes)) throw new ModelFileError(`${where}: not an HDF5 file (no HDF5 signature)`, { path: where });
  const m = await h5();
  const fs = m.FS as unknown as { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void };
  const name = `/gatedrnn-read-${process.pid}-${counter++}.h5`;
  fs.writeFile(name, bytes);
  let file: H5File | null = null;
  try {
    try {
      file = new m.File(name, 'r');
    } catch (e) {
      throw new ModelFileError(`${where}: cannot open the HDF5 file: ${(e as Error).message}`, { path: where, cause: e });
    }
    return await fn(file);
  } finally {
    try {
      file?.close();
    } catch {
      /* already closed */
    }
    try {
      fs.unlink(name);
    } catch {
      /* not there */
    }
  }
}

/**
 * Creates an HDF5 file in memory, lets `fn` fill it, and returns its bytes.
 */
export async function buildHdf5(fn: (file: H5File) => void): Promise<Uint8Array> {
  const m = await h5();
  const fs = m.FS as unknown as { readFile(p: string): Uint8Array; unlink(p: string): void };
  const name = `/gatedrnn-write-${process.pid}-${counter++}.h5`;
  let file: H5File | null = null;
  try {
    file = new m.File(name, 'w');
    fn(file);
    file.flush();
    file.close();
    file = null;
    return new Uint8Array(fs.readFile(name));
  } finally {
    try {
      file?.close();
    } catch {
      /* already closed */
    }
    try {
      fs.unlink(name);
    } catch {
      /* not there */
    }
  }
}

const decoder = new TextDecoder();

/** A string attribute or string-list item as text (bytes are UTF-8). */
function asText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return decoder.decode(v).replace(/\0+$/, '');
  return null;
}

/** An attribute's value, or undefined when there is none. */
export function attribute(obj: H5Group | H5Dataset, name: string): unknown {
  const attrs = obj.attrs;
  if (!Object.prototype.hasOwnProperty.call(attrs, name)) return undefined;
  return attrs[name].value;
}

/** A string attribute (`keras_version`, `model_config`), or undefined. */
export function stringAttribute(obj: H5Group | H5Dataset, name: string): string | undefined {
  const v = attribute(obj, name);
  if (v === undefined || v === null) return undefined;
  const s = asText(v);
  if (s !== null) return s;
  if (Array.isArray(v) && v.length === 1) return asText(v[0]) ?? undefined;
  return undefined;
}

/**
 * A list-of-strings attribute (`layer_names`, `weight_names`): fixed-length
 * byte strings (Keras 2), variable-length UTF-8 (Keras 3), or an empty
 * float array (how h5py stores an empty list). Undefined when absent.
 */
export function stringListAttribute(obj: H5Group | H5Dataset, name: string): string[] | undefined {
  const v = attribute(obj, name);
  if (v === undefined || v === null) return undefined;
  const one = asText(v);
  if (one !== null) return one === '' ? [] : [one];
  if (Array.isArray(v)) return v.map((x) => asText(x) ?? String(x));
  // h5py writes an empty list as an empty float64 array.
  if (ArrayBuffer.isView(v) && (v as unknown as { length: number }).length === 0) return [];
  if (typeof v === 'object' && Object.keys(v as object).length === 0) return [];
  return undefined;
}

/** The entity at `path` if it is a group. */
export function group(parent: H5Group, path: string): H5Group | null {
  const e = parent.get(path);
  return e !== null && (e as { type?: string }).type === 'Group' ? (e as H5Group) : null;
}

/** The entity at `path` if it is a dataset. */
export function dataset(parent: H5Group, path: string): H5Dataset | null {
  const e = parent.get(path);
  return e !== null && (e as { type?: string }).type === 'Dataset' ? (e as H5Dataset) : null;
}

/** IEEE half precision bits → number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** A numeric dataset as float32 values and its shape (float16/64 and integers converted). */
export function readFloat32(ds: H5Dataset, where: string): { values: Float32Array; shape: number[] } {
  const meta = ds.metadata;
  const shape = ds.shape ?? [];
  // H5T_INTEGER = 0, H5T_FLOAT = 1.
  if (meta.type !== 0 && meta.type !== 1) {
    throw new ModelFileError(`${where}: dataset ${ds.path} is not numeric (HDF5 type class ${meta.type})`, { path: where });
  }
  const raw = ds.value as unknown;
  let values: Float32Array;
  if (raw instanceof Float32Array) values = new Float32Array(raw);
  else if (meta.type === 1 && meta.size === 2 && raw instanceof Uint16Array) values = Float32Array.from(raw, halfToFloat);
  else if (ArrayBuffer.isView(raw)) values = Float32Array.from(raw as unknown as ArrayLike<number | bigint>, (x) => Number(x));
  else if (typeof raw === 'number' || typeof raw === 'bigint') values = new Float32Array([Number(raw)]);
  else throw new ModelFileError(`${where}: cannot read dataset ${ds.path} as numbers`, { path: where });
  return { values, shape: [...shape] };
}
