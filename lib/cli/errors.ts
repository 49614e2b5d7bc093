/**
 * The CLI's two kinds of failure and their exit codes: a usage error (bad
 * or missing flags, a file that is not there; exit 2) and a job error (the
 * job started and could not finish: bad data, a failed write; exit 1).
 * Anything else thrown is a job error too. Messages go to stderr without a
 * stack trace unless `--verbose` or `DEBUG` is set.
 */

/** Exit codes of every command. */
export const EXIT_OK = 0;
export const EXIT_JOB_ERROR = 1;
export const EXIT_USAGE = 2;

/** Bad command line or configuration: nothing was done. Exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The job ran and failed; what it had finished is kept. Exit code 1. */
export class JobError extends Error {
  override readonly name = 'JobError';
}

/** Stopped by SIGINT/SIGTERM at a safe point; the work so far is kept. Exit code 130. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

export const EXIT_INTERRUPTED = 130;

/** The exit code for an error thrown by a command. */
export function exitCodeOf(e: unknown): number {
  if (e instanceof UsageError) return EXIT_USAGE;
  if (e instanceof InterruptedError) return EXIT_INTERRUPTED;
  return EXIT_JOB_ERROR;
}

/** Whether stack traces are wanted (`--verbose`, or `DEBUG` set to anything but empty/0). */
export function wantStack(verbose: boolean): boolean {
  const d = process.env.DEBUG;
  return verbose || (d !== undefined && d !== '' && d !== '0');
}

/** The one line (or, verbose, the stack) printed for an error. */
export function formatError(e: unknown, verbose: boolean): string {
  if (e instanceof Error) {
    if (wantStack(verbose) && e.stack) return e.stack;
    return e.message;
  }
  return String(e);
}
