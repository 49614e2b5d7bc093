/**
 * CSVLogger (Keras 3 `keras.callbacks.CSVLogger`): one row per epoch,
 * `epoch` then the logged values in the columns of the first epoch, sorted
 * by name — the file Keras writes for the same run.
 */
import fs from 'node:fs/promises';
import { checkKnownOptions, optionsObject } from '../options.js';
import { Callback, type Logs } from './callback.js';
import { pyFloatRepr } from './pyFormat.js';

/** Options of {@link CSVLogger}. */
export interface CSVLoggerArgs {
  /** The file to write, e.g. `'run/log.csv'`. */
  filename: string;
  /** The field separator (default `','`). */
  separator?: string;
  /**
   * true: add rows to an existing file (the header only if the file is
   * missing or empty), for resuming training; false (default): start anew.
   */
  append?: boolean;
}

/**
 * Columns: `epoch` (from 0, as Keras), then the first epoch's keys sorted
 * (`loss`, `mae`, `val_loss`, `val_mae`, and `learning_rate` when a
 * learning-rate callback before this one adds it). A key missing from a
 * later epoch is written `NA`. Numbers as Python writes them (`0.25`,
 * `1e-05`, `nan`), fields quoted where they hold the separator, a quote
 * or a line break. Each row is appended to the file as its epoch ends, so
 * the file is complete up to the last finished epoch even if the process
 * dies. Unlike Keras 3, no `val_*` columns of `NA` are added for a run
 * without validation data (Keras adds them for `validation_freq > 1`,
 * which fit does not have).
 */
export class CSVLogger extends Callback {
  readonly filename: string;
  readonly separator: string;
  readonly append: boolean;
  private keys: string[] | null = null;
  private writeHeader = true;

  constructor(args: CSVLoggerArgs) {
    super();
    const what = 'CSVLogger';
    const a = optionsObject(args, what);
    checkKnownOptions(a, ['filename', 'separator', 'append'], what);
    if (typeof a.filename !== 'string' || a.filename === '') throw new TypeError(`${what}: filename must be a non-empty string`);
    if (a.separator !== undefined && (typeof a.separator !== 'string' || a.separator === '' || /["\r\n]/.test(a.separator))) {
      throw new TypeError(`${what}: separator must be a non-empty string without quotes or line breaks, got ${JSON.stringify(a.separator)}`);
    }
    if (a.append !== undefined && typeof a.append !== 'boolean') throw new TypeError(`${what}: append must be a boolean`);
    this.filename = a.filename;
    this.separator = a.separator ?? ',';
    this.append = a.append ?? false;
  }

  override async onTrainBegin(): Promise<void> {
    this.keys = null;
    if (this.append) {
      let first = '';
      try {
        first = (await fs.readFile(this.filename, 'utf8')).split('\n', 1)[0];
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      this.writeHeader = first.length === 0;
    } else {
      this.writeHeader = true;
      await fs.writeFile(this.filename, '');
    }
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    const values = logs ?? {};
    let text = '';
    if (this.keys === null) {
      this.keys = Object.keys(values).sort();
      if (this.writeHeader) text += this.row(['epoch', ...this.keys]);
    }
    text += this.row([String(epoch), ...this.keys.map((k) => (k in values ? formatValue(values[k]) : 'NA'))]);
    await fs.appendFile(this.filename, text);
  }

  override onTrainEnd(_logs?: Logs): void {
    this.keys = null;
  }

  private row(fields: string[]): string {
    return `${fields.map((f) => this.quote(f)).join(this.separator)}\n`;
  }

  /** Python csv's QUOTE_MINIMAL: quotes a field holding the separator, a quote or a line break. */
  private quote(field: string): string {
    return field.includes(this.separator) || /["\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
  }
}

function formatValue(v: unknown): string {
  if (typeof v === 'number') return pyFloatRepr(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return `[${Array.from(v as ArrayLike<number>, (x) => (typeof x === 'number' ? pyFloatRepr(x) : String(x))).join(', ')}]`;
  return String(v);
}
