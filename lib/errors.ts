/**
 * Errors thrown by gatedrnn. Bad arguments throw the standard `TypeError`
 * (wrong kind of value) or `RangeError` (right kind, wrong size or value);
 * the message always names the argument and what was expected.
 */

/** Formats a shape for messages: `[2, 5, 3]`, `[null, 4]`. */
export function formatShape(shape: ReadonlyArray<number | null>): string {
  return `[${shape.map((d) => (d === null ? 'null' : String(d))).join(', ')}]`;
}

/** Thrown when the native addon is asked for but cannot be loaded. */
export class BackendUnavailableError extends Error {
  override name = 'BackendUnavailableError';
}

/** Thrown when a tensor is used after `dispose()`. */
export class DisposedTensorError extends Error {
  override name = 'DisposedTensorError';
}
