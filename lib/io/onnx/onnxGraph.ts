/**
 * A small builder for an ONNX graph: nodes in topological order, weights as
 * initializers (little-endian raw data), unique value names, and the
 * attribute encoding (typed, as IR version ≥ 2 requires).
 */
import { AttributeType, DataType } from './onnxProto.js';

export type AttrValue = number | string | number[] | string[] | { ints: number[] } | { floats: number[] };

type Dict = Record<string, unknown>;

const encoder = new TextEncoder();

function attribute(name: string, value: AttrValue): Dict {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: encoder.encode(value) };
  if (typeof value === 'number') return Number.isInteger(value) && !Object.is(value, -0) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return { name, type: AttributeType.STRINGS, strings: (value as string[]).map((v) => encoder.encode(v)) };
    if ((value as number[]).every((v) => Number.isInteger(v))) return { name, type: AttributeType.INTS, ints: value };
    return { name, type: AttributeType.FLOATS, floats: value };
  }
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: value.ints };
  return { name, type: AttributeType.FLOATS, floats: value.floats };
}

/** An explicit float attribute (a float that happens to be an integer, e.g. alpha 1). */
export function float(v: number): { floats: number[] } & { single: true } {
  return { floats: [v], single: true } as { floats: number[] } & { single: true };
}

export class OnnxGraph {
  readonly nodes: Dict[] = [];
  readonly initializers: Dict[] = [];
  readonly inputs: Dict[] = [];
  readonly outputs: Dict[] = [];
  private readonly used = new Set<string>();
  private count = 0;

  /** A value name not used yet, from `base`. */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    let i = 1;
    while (this.used.has(name)) name = `${clean}_${i++}`;
    this.used.add(name);
    return name;
  }

  /** A float32 initializer. */
  floats(base: string, values: Float32Array, dims: readonly number[]): string {
    const name = this.unique(base);
    const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    this.initializers.push({ name, data_type: DataType.FLOAT, dims: [...dims], raw_data: raw });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64s(base: string, values: ReadonlyArray<number | bigint>, dims: readonly number[] = [values.length]): string {
    const name = this.unique(base);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, data_type: DataType.INT64, dims: [...dims], raw_data: new Uint8Array(data.buffer) });
    return name;
  }

  /**
   * Adds a node; returns its output names (made from `outputs`, a count or
   * the base names). Attributes given as `float(v)` are written as FLOAT.
   */
  node(op: string, inputs: string[], outputs: number | string[] = 1, attrs: Record<string, AttrValue | ReturnType<typeof float>> = {}): string[] {
    const n = this.count++;
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, i) => this.unique(`${op}_${n}${outputs > 1 ? `_${i}` : ''}`)) : outputs.map((o) => this.unique(o));
    const attribute_ = Object.entries(attrs).map(([k, v]) => {
      if (v !== null && typeof v === 'object' && 'single' in v) return { name: k, type: AttributeType.FLOAT, f: v.floats[0] };
      return attribute(k, v as AttrValue);
    });
    this.nodes.push({ op_type: op, name: `${op}_${n}`, input: inputs, output: outs, attribute: attribute_ });
    return outs;
  }

  /** One-output node. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue | ReturnType<typeof float>> = {}, outName?: string): string {
    return this.node(op, inputs, outName === undefined ? 1 : [outName], attrs)[0];
  }
}

/** A ValueInfoProto for a graph input or output: float32/int32 with named dims for the unknown ones. */
export function valueInfo(name: string, dtype: 'float32' | 'int32' | 'int64', shape: ReadonlyArray<number | null>): Dict {
  const elem = dtype === 'float32' ? DataType.FLOAT : dtype === 'int32' ? DataType.INT32 : DataType.INT64;
  const dim = shape.map((d, i) => (d === null ? { dim_param: i === 0 ? 'batch' : `${name}_dim${i}` } : { dim_value: d }));
  return { name, type: { tensor_type: { elem_type: elem, shape: { dim } } } };
}
