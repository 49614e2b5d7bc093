/**
 * The safetensors format (Hugging Face): an 8-byte little-endian unsigned
 * header length N, N bytes of JSON — `{name: {dtype, shape, data_offsets:
 * [begin, end]}, "__metadata__"?: {string: string}}`, offsets relative to
 * the end of the header — then the raw little-endian data. Written here
 * with the header padded with spaces to a multiple of 8 bytes (as the
 * reference implementation does) and the tensors in name order, packed.
 *
 * Read: F32, F16, BF16, F64 (as float32 tensors), I8, U8, I16, U16, I32, I64,
 * U32 (as int32, when every value fits), BOOL. Written: float32, int32, bool.
 */
import { promises as fsp } from 'node:fs';
import { ModelFileError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { atomicWriteFile } from '../atomicWrite.js';

/** Tensors by name. */
export type TensorMap = Record<string, Tensor>;

const SIZES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1 };
/** Largest header accepted (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

function fail(where: string, message: string): never {
  throw new ModelFileError(`${where}: ${message}`, { path: where });
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Raw little-endian bytes of one dtype → a tensor of this library's dtypes. */
export function decodeTensorBytes(bytes: Uint8Array, dtype: string, shape: number[], name: string, where: string): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ints = (get: (i: number) => number | bigint): Tensor => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = get(i);
      const num = typeof v === 'bigint' ? Number(v) : v;
      if (num > 2147483647 || num < -2147483648) fail(where, `tensor ${JSON.stringify(name)} (${dtype}) holds ${v}, which does not fit in int32`);
      out[i] = num;
    }
    return new Tensor(out, shape, 'int32');
  };
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return new Tensor(out, shape, 'float32');
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return new Tensor(out, shape, 'float32');
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return new Tensor(out, shape, 'float32');
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(2 * i, true) << 16;
      return new Tensor(out, shape, 'float32');
    }
    case 'I64':
      return ints((i) => view.getBigInt64(8 * i, true));
    case 'U64':
      return ints((i) => view.getBigUint64(8 * i, true));
    case 'I32':
      return ints((i) => view.getInt32(4 * i, true));
    case 'U32':
      return ints((i) => view.getUint32(4 * i, true));
    case 'I16':
      return ints((i) => view.getInt16(2 * i, true));
    case 'U16':
      return ints((i) => view.getUint16(2 * i, true));
    case 'I8':
      return ints((i) => view.getInt8(i));
    case 'U8':
      return ints((i) => view.getUint8(i));
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = bytes[i] ? 1 : 0;
      return new Tensor(out, shape, 'bool');
    }
    default:
      return fail(where, `tensor ${JSON.stringify(name)} has dtype ${JSON.stringify(dtype)}, which cannot be read (supported: ${Object.keys(SIZES).join(', ')})`);
  }
}

/** The tensors and metadata of a safetensors file's bytes. */
export function parseSafetensors(bytes: Uint8Array, where = 'safetensors'): { tensors: TensorMap; metadata: Record<string, string> } {
  if (bytes.length < 8) fail(where, `too short for a safetensors file (${bytes.length} bytes)`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER || 8 + n > bytes.length) fail(where, `the header length (${n}) does not fit the file (${bytes.length} bytes): not a safetensors file, or truncated`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(where, `the header is not valid JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(where, 'the header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const tensors: TensorMap = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry !== null && typeof entry === 'object' && !Array.isArray(entry)) metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object' || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) {
      fail(where, `tensor ${JSON.stringify(name)}: expected {dtype, shape, data_offsets}`);
    }
    const shape = e.shape as unknown[];
    if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) fail(where, `tensor ${JSON.stringify(name)}: bad shape ${JSON.stringify(shape)}`);
    const [begin, end] = e.data_offsets as number[];
    const size = SIZES[e.dtype];
    if (size === undefined) fail(where, `tensor ${JSON.stringify(name)} has dtype ${JSON.stringify(e.dtype)}, which cannot be read (supported: ${Object.keys(SIZES).join(', ')})`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end > data.length) fail(where, `tensor ${JSON.stringify(name)}: data_offsets ${JSON.stringify(e.data_offsets)} are outside the data (${data.length} bytes)`);
    if (end - begin !== count * size) fail(where, `tensor ${JSON.stringify(name)}: ${end - begin} bytes for ${e.dtype} of shape ${JSON.stringify(shape)} (${count * size} expected)`);
    tensors[name] = decodeTensorBytes(data.subarray(begin, end), e.dtype, shape as number[], name, where);
  }
  return { tensors, metadata };
}

/** Reads a `.safetensors` file: its tensors by name. */
export async function readSafetensors(path: string): Promise<TensorMap> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fsp.readFile(path));
  } catch (e) {
    throw new ModelFileError(`readSafetensors: cannot read ${path}: ${(e as Error).message}`, { path, cause: e });
  }
  return parseSafetensors(bytes, path).tensors;
}

/** The bytes of a safetensors file holding `tensors` (and string metadata). */
export function serializeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new TypeError(`writeSafetensors: metadata values must be strings (${k})`);
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new TypeError(`writeSafetensors: ${JSON.stringify(name)} is not a Tensor`);
    const data = t.dataSync();
    const dtype = t.dtype === 'float32' ? 'F32' : t.dtype === 'int32' ? 'I32' : 'BOOL';
    const raw = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + raw.length] };
    parts.push(raw);
    offset += raw.length;
  }
  let json = JSON.stringify(header);
  const pad = (8 - (Buffer.byteLength(json) % 8)) % 8;
  json += ' '.repeat(pad);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes tensors to a `.safetensors` file, atomically. */
export async function writeSafetensors(path: string, tensors: TensorMap, metadata?: Record<string, string>): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new TypeError('writeSafetensors: expected a file path');
  if (tensors === null || typeof tensors !== 'object') throw new TypeError('writeSafetensors: expected an object of tensors by name');
  await atomicWriteFile(path, serializeSafetensors(tensors, metadata));
}
