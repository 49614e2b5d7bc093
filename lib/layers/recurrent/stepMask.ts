/**
 * Which timesteps a recurrent layer reads, from a Keras mask or from
 * PyTorch-style sequence lengths, and which outputs are then constant zeros.
 *
 * Either way a skipped step leaves the state unchanged, so the last state is
 * the state at each sequence's last valid step. They differ in the outputs
 * at skipped steps:
 * - Keras masks (`zero_output_for_mask=False`): the output repeats the last
 *   valid output; before the first valid step it is 0;
 * - lengths (`pack_padded_sequence` / `pad_packed_sequence`): padded outputs
 *   are 0.
 */
import { formatShape } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { requireShape, requireTensor } from '../../validate.js';

export interface StepMask {
  /** (B, T): 1 = the kernel reads the step. */
  read: Uint8Array;
  /** (B, T): 1 = the output there is a constant 0 (no gradient flows). */
  zeroOutput: Uint8Array;
  /** (B): 1 = the sequence has no valid step at all. */
  empty: Uint8Array;
  /** The lengths, when the steps came from lengths (PyTorch semantics). */
  lengths: Int32Array | null;
}

/** A (B, T) mask tensor: bool, or numbers where non-zero means valid. */
export function maskFromTensor(value: unknown, B: number, T: number, what: string): StepMask {
  const m = requireTensor(value, `${what} mask`, ['bool', 'float32', 'int32']);
  requireShape(m, [B, T], `${what} mask`);
  const v = m.view();
  const read = new Uint8Array(B * T);
  for (let i = 0; i < B * T; i++) {
    if (Number.isNaN(v[i])) throw new RangeError(`${what} mask contains NaN at [${Math.floor(i / T)}, ${i % T}]`);
    read[i] = v[i] !== 0 ? 1 : 0;
  }
  return maskFromRead(read, B, T);
}

/** Keras semantics for a 0/1 step mask: outputs before the first valid step are 0. */
function maskFromRead(read: Uint8Array, B: number, T: number): StepMask {
  const zeroOutput = new Uint8Array(B * T);
  const empty = new Uint8Array(B);
  for (let b = 0; b < B; b++) {
    let seen = false;
    for (let t = 0; t < T; t++) {
      seen = seen || read[b * T + t] === 1;
      zeroOutput[b * T + t] = seen ? 0 : 1;
    }
    empty[b] = seen ? 0 : 1;
  }
  return { read, zeroOutput, empty, lengths: null };
}

/**
 * Sequence lengths (B), each in [0, T]: int32 tensor or array of integers. A
 * length-0 sequence keeps its initial state and outputs zeros.
 */
export function maskFromLengths(value: unknown, B: number, T: number, what: string): StepMask {
  let lengths: ArrayLike<number>;
  if (value instanceof Tensor) {
    const t = requireTensor(value, `${what} lengths`, ['int32', 'float32']);
    requireShape(t, [B], `${what} lengths`);
    lengths = t.view();
  } else if (Array.isArray(value)) {
    if (value.length !== B) throw new RangeError(`${what} lengths must hold one length per sequence (${B}), got ${value.length}`);
    lengths = value;
  } else {
    throw new TypeError(`${what} lengths must be an int32 tensor or an array of integers, got ${value === null ? 'null' : typeof value}`);
  }
  const read = new Uint8Array(B * T);
  const zeroOutput = new Uint8Array(B * T);
  const checked = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const len = lengths[b];
    if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || len > T) {
      throw new RangeError(`${what} lengths[${b}] must be an integer between 0 and ${T} (the timesteps of ${formatShape([B, T])}), got ${String(len)}`);
    }
    checked[b] = len;
    for (let t = 0; t < T; t++) {
      read[b * T + t] = t < len ? 1 : 0;
      zeroOutput[b * T + t] = t < len ? 0 : 1;
    }
  }
  return { read, zeroOutput, empty: new Uint8Array(B), lengths: checked };
}

/**
 * Reverses each sequence of x (B, T, F) in time: all of it, or with lengths
 * only its first lengths[b] steps (PyTorch's backward direction over packed
 * sequences; the padding stays where it is). Its own inverse.
 */
export function reverseSequence(x: Float32Array, B: number, T: number, F: number, lengths: ArrayLike<number> | null): Float32Array {
  const out = x.slice();
  for (let b = 0; b < B; b++) {
    const len = lengths ? lengths[b] : T;
    for (let t = 0; t < len; t++) out.set(x.subarray((b * T + t) * F, (b * T + t + 1) * F), (b * T + len - 1 - t) * F);
  }
  return out;
}

/**
 * The steps of the time-reversed sequence: a Keras mask is reversed with
 * the sequence (padding then comes first and is skipped); lengths stay as
 * they are, since only the valid part is reversed.
 */
export function reverseSteps(steps: StepMask, B: number, T: number): StepMask {
  if (steps.lengths) return steps;
  const read = new Uint8Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) read[b * T + t] = steps.read[b * T + T - 1 - t];
  return maskFromRead(read, B, T);
}

/** A copy of a (B, T, H) sequence with the constant-zero positions zeroed. */
export function zeroSequence(seq: Float32Array, steps: StepMask, H: number): Float32Array {
  const out = seq.slice();
  for (let r = 0; r < steps.zeroOutput.length; r++) if (steps.zeroOutput[r]) out.fill(0, r * H, (r + 1) * H);
  return out;
}

/** A copy of a (B, H) array with the rows of empty sequences zeroed. */
export function zeroEmptyRows(rows: Float32Array, steps: StepMask, H: number): Float32Array {
  const out = rows.slice();
  for (let b = 0; b < steps.empty.length; b++) if (steps.empty[b]) out.fill(0, b * H, (b + 1) * H);
  return out;
}
