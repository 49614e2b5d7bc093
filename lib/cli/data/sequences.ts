/**
 * Numeric sequences from records: a JSON `x` that is a list of numbers (one
 * feature per step) or a list of steps, each a list of features; or a CSV
 * row of flattened steps (step-major: all features of step 1, then step 2).
 * Each function returns the values or a message saying what is wrong, so
 * callers can report the line and skip or stop.
 */

/** A sequence of T steps of F features, step-major. */
export interface Sequence {
  values: Float32Array;
  steps: number;
  features: number;
}

/** A JSON `x` as a sequence, or an error message. `features`: the expected count, if known. */
export function sequenceFromJson(x: unknown, features?: number): Sequence | string {
  if (!Array.isArray(x)) return `"x" must be a list of numbers or a list of steps (lists of numbers), got ${describeJson(x)}`;
  if (x.length === 0) return '"x" is empty';
  if (!Array.isArray(x[0])) {
    // One feature per step.
    if (features !== undefined && features !== 1) return `"x" is a flat list (1 feature per step), but the model takes ${features} features per step`;
    const values = new Float32Array(x.length);
    for (let t = 0; t < x.length; t++) {
      const v = x[t];
      if (typeof v !== 'number' || !Number.isFinite(v)) return `"x"[${t}] is ${describeJson(v)}, not a finite number`;
      values[t] = v;
    }
    return { values, steps: x.length, features: 1 };
  }
  const F = (x[0] as unknown[]).length;
  if (F === 0) return '"x"[0] is an empty step';
  if (features !== undefined && F !== features) return `"x"[0] has ${F} features, but the model takes ${features}`;
  const values = new Float32Array(x.length * F);
  for (let t = 0; t < x.length; t++) {
    const step = x[t];
    if (!Array.isArray(step)) return `"x"[${t}] is ${describeJson(step)}, not a list of ${F} numbers`;
    if (step.length !== F) return `"x"[${t}] has ${step.length} features, "x"[0] has ${F}`;
    for (let f = 0; f < F; f++) {
      const v = step[f];
      if (typeof v !== 'number' || !Number.isFinite(v)) return `"x"[${t}][${f}] is ${describeJson(v)}, not a finite number`;
      values[t * F + f] = v;
    }
  }
  return { values, steps: x.length, features: F };
}

/**
 * Flattened CSV fields as a sequence of `features` per step (step-major),
 * or an error message (non-numeric field, a count not divisible).
 */
export function sequenceFromFields(fields: string[], features: number, firstColumn = 1): Sequence | string {
  if (fields.length === 0) return 'no values';
  if (fields.length % features !== 0) return `${fields.length} values do not make whole steps of ${features} features`;
  const values = new Float32Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const s = fields[i];
    const v = s === '' ? NaN : Number(s);
    if (!Number.isFinite(v)) return `column ${firstColumn + i}: ${s === '' ? 'empty value' : `${JSON.stringify(s)} is not a number`}`;
    values[i] = v;
  }
  return { values, steps: fields.length / features, features };
}

/** A short description of a JSON value for messages. */
export function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'string') return v.length > 20 ? `a string ${JSON.stringify(v.slice(0, 20))}…` : `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}
