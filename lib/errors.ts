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

/**
 * Thrown when a value that must be finite is NaN or infinite: data, weights,
 * gradients. A RangeError, so code that checks for one keeps working; its
 * own class lets training tell a diverging step from a programming error.
 */
export class NonFiniteError extends RangeError {
  override name = 'NonFiniteError';
}

/** Thrown when a tensor is used after `dispose()`. */
export class DisposedTensorError extends Error {
  override name = 'DisposedTensorError';
}

/**
 * Thrown when a saved model cannot be read or written: a missing, truncated
 * or corrupt `model.json` or weights file, a manifest that does not match
 * the data, an unknown layer class or option, or an unsupported URL. The
 * message names the file and what is wrong; `path` is the file, if any.
 */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
  /** The file (or directory) concerned, when there is one. */
  readonly path: string | undefined;

  constructor(message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
  }
}
