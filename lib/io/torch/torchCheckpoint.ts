/**
 * Reading `torch.save` files (`.pt`, `.pth`, `.bin`) without Python: the
 * tensors of a state dict or of a checkpoint dict holding one.
 *
 * Formats:
 * - the zip format (PyTorch ≥ 1.6, the default): `<name>/data.pkl` is a
 *   pickle (read with the pickleparser package) in which every tensor is
 *   `torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
 *   stride, ...)` and every storage a persistent id `('storage',
 *   torch.FloatStorage, key, location, numel)` whose bytes are the entry
 *   `<name>/data/<key>`. Tensors are views: several may share one storage
 *   at different offsets and strides (slices, transposes); each is copied
 *   out element by element. The location (`'cpu'`, `'cuda:0'`) is ignored.
 *   `<name>/byteorder` says the storages' byte order (little by default);
 * - the legacy format (`_use_new_zipfile_serialization=False`, PyTorch <
 *   1.6): magic number, protocol, system info and the object as
 *   consecutive pickles, then the storage keys and each storage as an
 *   int64 element count and its bytes.
 *
 * Storage types: Float, Double, Half, BFloat16 (as float32 tensors), Long,
 * Int, Short, Char, Byte (as int32, when the values fit), Bool. Only the
 * pickle's plain containers are understood (dicts, OrderedDicts, lists,
 * tuples, numbers, strings) around the tensors: other pickled Python
 * objects (a whole `nn.Module` saved with `torch.save(model)`, numpy
 * arrays, custom classes) are not executed; they read as opaque values,
 * and their tensors are not found. TorchScript archives are refused.
 */
import { promises as fsp } from 'node:fs';
import { unzipSync } from 'fflate';
import { BufferReader, NameRegistry, Parser } from 'pickleparser';
import { ModelFileError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { decodeTensorBytes, type TensorMap } from './safetensors.js';

/** Options of {@link readTorchCheckpoint}. */
export interface ReadTorchOptions {
  /**
   * The entry of a checkpoint dict that holds the state dict
   * (`'model_state_dict'`); by default the top level when it holds tensors,
   * else the first of `state_dict`, `model_state_dict`, `model`, `net`,
   * `module` that does, else every tensor in the file (dotted paths).
   */
  key?: string;
}

const STORAGE_DTYPES: Record<string, { code: string; size: number }> = {
  FloatStorage: { code: 'F32', size: 4 },
  DoubleStorage: { code: 'F64', size: 8 },
  HalfStorage: { code: 'F16', size: 2 },
  BFloat16Storage: { code: 'BF16', size: 2 },
  LongStorage: { code: 'I64', size: 8 },
  IntStorage: { code: 'I32', size: 4 },
  ShortStorage: { code: 'I16', size: 2 },
  CharStorage: { code: 'I8', size: 1 },
  ByteStorage: { code: 'U8', size: 1 },
  BoolStorage: { code: 'BOOL', size: 1 },
};

/** A storage type class from the pickle (`torch.FloatStorage`). */
class StorageType {
  constructor(readonly name: string) {}
}

/** A storage reference from a persistent id. */
interface StorageRef {
  kind: 'storage';
  type: StorageType;
  key: string;
  numel: number;
}

/** A tensor as the pickle describes it: a view into a storage. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

function fail(where: string, message: string): never {
  throw new ModelFileError(`${where}: ${message}`, { path: where });
}

function toArray(v: unknown): number[] {
  if (Array.isArray(v)) return v.map((x) => Number(x));
  if (v !== null && typeof v === 'object' && Array.isArray((v as { args?: unknown }).args)) return toArray((v as { args: unknown[] }).args[0]);
  return [];
}

function makeParser(where: string): Parser {
  const names = new NameRegistry();
  const rebuild = (storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef => {
    if (!storage || (storage as StorageRef).kind !== 'storage') fail(where, 'a tensor refers to something that is not a storage');
    return new TensorRef(storage as StorageRef, Number(offset), toArray(size), toArray(stride));
  };
  names.register('torch._utils', '_rebuild_tensor_v2', rebuild);
  names.register('torch._utils', '_rebuild_tensor', rebuild);
  names.register('torch._utils', '_rebuild_parameter', (data: unknown) => data);
  names.register('torch._utils', '_rebuild_parameter_with_state', (data: unknown) => data);
  names.register('torch._tensor', '_rebuild_from_type_v2', (func: unknown, _type: unknown, args: unknown) => (typeof func === 'function' ? (func as (...a: unknown[]) => unknown)(...(args as unknown[])) : func));
  names.register('torch', 'Size', (v: unknown) => toArray(v));
  const dict = (pairs?: unknown): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    if (Array.isArray(pairs)) for (const p of pairs) if (Array.isArray(p) && p.length === 2) out[String(p[0])] = p[1];
    return out;
  };
  names.register('collections', 'OrderedDict', dict);
  names.register('builtins', 'dict', dict);
  for (const t of Object.keys(STORAGE_DTYPES)) names.register('torch', t, new StorageType(t) as never);
  for (const fn of ['_rebuild_qtensor', '_rebuild_sparse_tensor', '_rebuild_sparse_csr_tensor', '_rebuild_meta_tensor_no_storage', '_rebuild_wrapper_subclass', '_rebuild_nested_tensor', '_rebuild_device_tensor_from_numpy']) {
    names.register('torch._utils', fn, () => fail(where, `the file holds a tensor kind this reader does not support (torch._utils.${fn}: quantized, sparse, meta or subclass tensors)`));
  }
  return new Parser({
    nameResolver: names,
    unpicklingTypeOfDictionary: 'object',
    unpicklingTypeOfSet: 'array',
    persistentResolver: {
      resolve: (pid: unknown) => {
        const p = Array.isArray(pid) ? pid : [];
        if (p[0] !== 'storage') fail(where, `unknown persistent id ${JSON.stringify(p[0])} in the pickle`);
        const type = p[1];
        if (!(type instanceof StorageType)) fail(where, `unknown storage type in the pickle (${String((type as { __name__?: string })?.__name__ ?? type)})`);
        return { kind: 'storage', type, key: String(p[2]), numel: Number(p[4]) } satisfies StorageRef;
      },
    },
  });
}

/** The tensor a view describes, copied out of its storage's bytes. */
function materialize(ref: TensorRef, data: Uint8Array, littleEndian: boolean, name: string, where: string): Tensor {
  const dt = STORAGE_DTYPES[ref.storage.type.name];
  const { size, stride, offset } = ref;
  if (size.length !== stride.length) fail(where, `tensor ${JSON.stringify(name)}: size ${JSON.stringify(size)} and stride ${JSON.stringify(stride)} differ in rank`);
  const n = size.reduce((a, b) => a * b, 1);
  if (n > 0) {
    let last = offset;
    for (let k = 0; k < size.length; k++) last += (size[k] - 1) * stride[k];
    if (offset < 0 || last * dt.size + dt.size > data.length) fail(where, `tensor ${JSON.stringify(name)}: its view (offset ${offset}, size ${JSON.stringify(size)}, stride ${JSON.stringify(stride)}) reaches past its storage (${data.length / dt.size} elements)`);
  }
  const out = new Uint8Array(n * dt.size);
  const idx = new Array<number>(size.length).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    const from = src * dt.size;
    if (littleEndian || dt.size === 1) out.set(data.subarray(from, from + dt.size), i * dt.size);
    else for (let b = 0; b < dt.size; b++) out[i * dt.size + b] = data[from + dt.size - 1 - b];
    for (let k = size.length - 1; k >= 0; k--) {
      idx[k]++;
      src += stride[k];
      if (idx[k] < size[k]) break;
      src -= stride[k] * size[k];
      idx[k] = 0;
    }
  }
  return decodeTensorBytes(out, dt.code, [...size], name, where);
}

function isPlainContainer(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !(v instanceof TensorRef) && !(v instanceof StorageType) && !ArrayBuffer.isView(v);
}

/** Every tensor under `root`, by dotted path. */
function collect(root: unknown, prefix: string, out: Map<string, TensorRef>): void {
  if (root instanceof TensorRef) {
    out.set(prefix, root);
    return;
  }
  if (Array.isArray(root)) {
    root.forEach((v, i) => collect(v, prefix === '' ? String(i) : `${prefix}.${i}`, out));
    return;
  }
  if (isPlainContainer(root)) {
    for (const [k, v] of Object.entries(root)) {
      if (k === '_metadata') continue;
      collect(v, prefix === '' ? k : `${prefix}.${k}`, out);
    }
  }
}

const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net', 'module'];

function pickRoot(obj: unknown, options: ReadTorchOptions, where: string): unknown {
  if (options.key !== undefined) {
    if (!isPlainContainer(obj) || !(options.key in obj)) fail(where, `the checkpoint has no entry ${JSON.stringify(options.key)}${isPlainContainer(obj) ? ` (it has ${Object.keys(obj).join(', ')})` : ''}`);
    return obj[options.key];
  }
  if (!isPlainContainer(obj)) return obj;
  const values = Object.entries(obj).filter(([k]) => k !== '_metadata').map(([, v]) => v);
  if (values.length > 0 && values.every((v) => v instanceof TensorRef)) return obj;
  for (const k of STATE_DICT_KEYS) {
    const v = obj[k];
    if (isPlainContainer(v) && Object.values(v).some((x) => x instanceof TensorRef)) return v;
  }
  return obj;
}

function tensorsOf(obj: unknown, storageBytes: (ref: StorageRef) => Uint8Array, littleEndian: boolean, options: ReadTorchOptions, where: string): TensorMap {
  const refs = new Map<string, TensorRef>();
  collect(pickRoot(obj, options, where), '', refs);
  if (refs.size === 0) fail(where, 'no tensors found (a whole pickled nn.Module or other Python objects cannot be read: save model.state_dict() instead)');
  const out: TensorMap = {};
  for (const [name, ref] of refs) out[name] = materialize(ref, storageBytes(ref.storage), littleEndian, name, where);
  return out;
}

/** The tensors of a zip-format `torch.save` file's bytes. */
function readZip(bytes: Uint8Array, options: ReadTorchOptions, where: string): TensorMap {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    fail(where, `not a readable zip archive: ${(e as Error).message}`);
  }
  const names = Object.keys(entries);
  const pkl = names.find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? names.find((n) => n === 'data.pkl') ?? names.find((n) => n.endsWith('/data.pkl'));
  if (!pkl) {
    if (names.some((n) => n.endsWith('constants.pkl') || n.includes('/code/'))) fail(where, 'this is a TorchScript archive (torch.jit.save), not a torch.save file: save model.state_dict() with torch.save instead');
    fail(where, `the archive has no data.pkl: not a torch.save file (entries: ${names.slice(0, 5).join(', ')})`);
  }
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  const order = entries[`${prefix}byteorder`];
  const littleEndian = !order || new TextDecoder().decode(order).trim() !== 'big';
  let obj: unknown;
  try {
    obj = makeParser(where).parse(entries[pkl]);
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    fail(where, `cannot read ${pkl}: ${(e as Error).message}`);
  }
  const storage = (ref: StorageRef): Uint8Array => {
    const data = entries[`${prefix}data/${ref.key}`];
    if (!data) fail(where, `storage ${ref.key} (${prefix}data/${ref.key}) is missing from the archive`);
    return data;
  };
  return tensorsOf(obj, storage, littleEndian, options, where);
}

/** The tensors of a legacy-format `torch.save` file's bytes. */
function readLegacy(bytes: Uint8Array, options: ReadTorchOptions, where: string): TensorMap {
  const reader = new BufferReader(bytes);
  const parser = makeParser(where);
  let obj: unknown;
  let keys: unknown;
  // The first pickle is the magic number 0x1950a86a20f9469cfc6c: PROTO n, LONG1 10 bytes, STOP.
  const MAGIC = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  if (!(bytes.length > 15 && bytes[2] === 0x8a && bytes[3] === 10 && MAGIC.every((b, i) => bytes[4 + i] === b) && bytes[14] === 0x2e)) {
    fail(where, 'not a torch.save file (no PyTorch magic number)');
  }
  reader.skip(15);
  try {
    parser.read(reader); // protocol version
    parser.read(reader); // system info
    obj = parser.read(reader);
    keys = parser.read(reader);
  } catch (e) {
    if (e instanceof ModelFileError) throw e;
    fail(where, `not a readable torch.save file: ${(e as Error).message}`);
  }
  if (!Array.isArray(keys)) fail(where, 'the storage key list is missing');
  // Storage sizes come from the pickle's persistent ids; collect them.
  const refs = new Map<string, TensorRef>();
  collect(obj, '', refs);
  const sizes = new Map<string, number>();
  for (const r of refs.values()) sizes.set(r.storage.key, STORAGE_DTYPES[r.storage.type.name].size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = reader.position;
  const storages = new Map<string, Uint8Array>();
  for (const key of keys as unknown[]) {
    const k = String(key);
    if (pos + 8 > bytes.length) fail(where, `storage ${k} is missing (the file is truncated)`);
    const numel = Number(view.getBigInt64(pos, true));
    pos += 8;
    const elem = sizes.get(k) ?? 4;
    const end = pos + numel * elem;
    if (end > bytes.length) fail(where, `storage ${k} is truncated`);
    storages.set(k, bytes.subarray(pos, end));
    pos = end;
  }
  const storage = (ref: StorageRef): Uint8Array => {
    const data = storages.get(ref.key);
    if (!data) fail(where, `storage ${ref.key} is missing`);
    return data;
  };
  return tensorsOf(obj, storage, true, options, where);
}

/** The tensors of a `torch.save` file given as bytes. */
export function parseTorchCheckpoint(bytes: Uint8Array, options: ReadTorchOptions = {}, where = 'torch checkpoint'): TensorMap {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4) return readZip(bytes, options, where);
  if (bytes.length >= 2 && bytes[0] === 0x80) return readLegacy(bytes, options, where);
  return fail(where, 'not a torch.save file (neither a zip archive nor a pickle)');
}

/**
 * Reads a `torch.save` file (`.pt`, `.pth`): the tensors of its state dict
 * by key (`gru.weight_ih_l0`), for {@link fromTorchStateDict}. See the file
 * header for the formats and what is not supported.
 */
export async function readTorchCheckpoint(path: string, options: ReadTorchOptions = {}): Promise<TensorMap> {
  if (options === null || typeof options !== 'object') throw new TypeError('readTorchCheckpoint: options must be an object like {key: "model_state_dict"}');
  for (const k of Object.keys(options)) if (k !== 'key') throw new TypeError(`readTorchCheckpoint: unknown option ${JSON.stringify(k)}; the options are key`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fsp.readFile(path));
  } catch (e) {
    throw new ModelFileError(`readTorchCheckpoint: cannot read ${path}: ${(e as Error).message}`, { path, cause: e });
  }
  return parseTorchCheckpoint(bytes, options, path);
}
