/**
 * Option checks shared by the optimizers, schedules, losses and metrics:
 * every option is checked when the object is made, with an error naming it,
 * so that a bad value fails at construction rather than as NaN weights later.
 */

/** Throws TypeError unless `args` is a plain options object (undefined gives `{}`). */
export function optionsObject<T extends object>(args: T | undefined, what: string): T {
  if (args === undefined) return {} as T;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new TypeError(`${what}: options must be an object, got ${args === null ? 'null' : Array.isArray(args) ? 'an array' : typeof args}`);
  }
  return args;
}

/**
 * Throws a TypeError naming the first option `what` does not know: a
 * misspelt option (`learningrate`) must not be silently ignored.
 * (The same rule as the layers' checkKnownOptions, kept here so that
 * training does not depend on the layers module.)
 */
export function checkKnownOptions(args: object, known: readonly string[], what: string): void {
  for (const key of Object.keys(args)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what}: unknown option ${JSON.stringify(key)}; the options are ${[...known].sort().join(', ')}`);
    }
  }
}

/** Bounds of a numeric option; `*Open` excludes the bound itself. */
export interface NumberRange {
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
  integer?: boolean;
}

function describeRange(r: NumberRange): string {
  const parts: string[] = [];
  if (r.min !== undefined) parts.push(`${r.minOpen ? '>' : '>='} ${r.min}`);
  if (r.max !== undefined) parts.push(`${r.maxOpen ? '<' : '<='} ${r.max}`);
  return `${r.integer ? 'an integer' : 'a finite number'}${parts.length ? ` ${parts.join(' and ')}` : ''}`;
}

/**
 * Returns `value` (or `fallback` when undefined) after checking it:
 * TypeError when it is not a number, RangeError when it is not finite or
 * outside `range`.
 */
export function numberOption(value: unknown, name: string, fallback: number | undefined, range: NumberRange = {}): number {
  if (value === undefined) {
    if (fallback === undefined) throw new TypeError(`${name} is required: ${describeRange(range)}`);
    return fallback;
  }
  if (typeof value !== 'number') throw new TypeError(`${name} must be ${describeRange(range)}, got ${JSON.stringify(value) ?? typeof value}`);
  const bad =
    !Number.isFinite(value) ||
    (range.integer === true && !Number.isInteger(value)) ||
    (range.min !== undefined && (range.minOpen ? value <= range.min : value < range.min)) ||
    (range.max !== undefined && (range.maxOpen ? value >= range.max : value > range.max));
  if (bad) throw new RangeError(`${name} must be ${describeRange(range)}, got ${value}`);
  return value;
}

/** Like {@link numberOption}, but undefined stays undefined (an option that is off). */
export function optionalNumber(value: unknown, name: string, range: NumberRange = {}): number | undefined {
  return value === undefined || value === null ? undefined : numberOption(value, name, undefined, range);
}

/** Lower-cases and drops `_`, so `mean_squared_error`, `meanSquaredError` and `MeanSquaredError` meet. */
export function normalizeName(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}
