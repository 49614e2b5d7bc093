/**
 * One input row of `predict` → what the model reads, or why it cannot.
 * The row's format (JSON Lines or CSV with a header) and the model's
 * preprocessing decide the checks:
 *
 * - forecast: `x` must be exactly `window` steps of the model's features
 *   (a flat list for one feature); it is z-scored or differenced as in
 *   training, and the forecast is turned back into the target's units;
 * - classify: `x` steps of the model's features (exactly `timesteps` when
 *   the model was trained on one length), z-scored;
 * - text: a `text` string (JSON key or CSV column, as in training), tokenised
 *   with the saved vocabulary.
 *
 * CSV rows hold one flattened sequence (step-major) after an optional `id`
 * column; trailing empty fields end a shorter sequence.
 */
import { parseJsonLine } from '../data/jsonl.js';
import { parseCsvLine } from '../data/csv.js';
import { describeJson, sequenceFromFields, sequenceFromJson, type Sequence } from '../data/sequences.js';
import { encodeText, vocabularyIndex } from '../data/text.js';
import { decodeForecast, encodeWindow, modelSteps } from '../data/windows.js';
import type { Preprocessing } from '../model/preprocessing.js';

/** A row ready for the model. */
export interface GoodRow {
  ok: true;
  id: unknown;
  /** Model input, steps × features (features 1 for token ids). */
  values: Float32Array;
  steps: number;
  /** Forecast: the last raw value of the target, added back to the predicted change. */
  lastTarget: number;
}

export interface BadRow {
  ok: false;
  id: unknown;
  error: string;
}

export type Row = GoodRow | BadRow;

/** Reads rows for one model; `header` is the CSV header (null for JSON Lines). */
export class RowReader {
  /** Features per step of the model input (1 for text ids). */
  readonly features: number;
  /** The model reads token ids (B, T), not (B, T, F) values. */
  readonly tokenIds: boolean;
  private readonly vocab: Map<string, number> | null;
  private readonly idColumn: number;
  private readonly textColumn: number;

  constructor(
    private readonly prep: Preprocessing,
    private readonly header: string[] | null,
  ) {
    this.vocab = prep.task === 'text' ? vocabularyIndex(prep.vocabulary) : null;
    this.features = prep.task === 'forecast' ? prep.columns.length : prep.task === 'classify' ? prep.features : 1;
    this.tokenIds = prep.task === 'text';
    this.idColumn = header ? header.indexOf('id') : -1;
    this.textColumn = -1;
    if (header && prep.task === 'text') {
      this.textColumn = header.indexOf(prep.textColumn);
      if (this.textColumn < 0) this.textColumn = header.indexOf('text');
    }
  }

  /** A problem with the CSV header itself (null when fine). */
  headerProblem(): string | null {
    if (!this.header) return null;
    if (this.prep.task === 'text' && this.textColumn < 0) return `the CSV header has no ${JSON.stringify(this.prep.textColumn)} (or "text") column; it has ${this.header.join(', ')}`;
    return null;
  }

  /** Parses one line. */
  read(text: string): Row {
    if (text.trim() === '') return { ok: false, id: undefined, error: 'empty line' };
    return this.header ? this.readCsv(text) : this.readJson(text);
  }

  private readJson(text: string): Row {
    const parsed = parseJsonLine(text);
    if ('error' in parsed) return { ok: false, id: undefined, error: parsed.error };
    const v = parsed.value;
    if (this.prep.task !== 'text' && (Array.isArray(v) || typeof v !== 'object' || v === null)) {
      // A bare list is the sequence itself.
      if (Array.isArray(v)) return this.fromSequence(sequenceFromJson(v, this.features), undefined);
      return { ok: false, id: undefined, error: `expected an object like {"x": [...], "id": ...}, got ${describeJson(v)}` };
    }
    const o = (v ?? {}) as Record<string, unknown>;
    const id = o.id;
    if (this.prep.task === 'text') {
      if (typeof v === 'string') return this.fromText(v, undefined);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, id: undefined, error: `expected an object like {"text": "...", "id": ...}, got ${describeJson(v)}` };
      const t = o[this.prep.textColumn] ?? o.text ?? o.x;
      if (typeof t !== 'string') return { ok: false, id, error: `"${this.prep.textColumn}" must be a string, got ${t === undefined ? 'nothing' : describeJson(t)}` };
      return this.fromText(t, id);
    }
    if (!('x' in o)) return { ok: false, id, error: 'no "x" (the sequence)' };
    return this.fromSequence(sequenceFromJson(o.x, this.features), id);
  }

  private readCsv(text: string): Row {
    if (this.prep.task !== 'text' && this.idColumn <= 0 && !text.includes('"')) {
      const row = this.readCsvNumbers(text);
      if (row) return row;
    }
    let fields: string[];
    try {
      fields = parseCsvLine(text);
    } catch (e) {
      return { ok: false, id: undefined, error: `malformed CSV: ${(e as Error).message}` };
    }
    const id = this.idColumn >= 0 ? fields[this.idColumn] : undefined;
    if (this.prep.task === 'text') {
      const t = fields[this.textColumn];
      if (t === undefined) return { ok: false, id, error: `no value in the ${JSON.stringify(this.header![this.textColumn])} column` };
      return this.fromText(t, id);
    }
    const values = this.idColumn >= 0 ? fields.filter((_, i) => i !== this.idColumn) : fields;
    let end = values.length;
    while (end > 0 && values[end - 1] === '') end--;
    return this.fromSequence(sequenceFromFields(values.slice(0, end), this.features, this.idColumn === 0 ? 2 : 1), id);
  }

  /**
   * readCsv's fast path for a row of plain numbers after an optional id in
   * the first column: in brackets it is a JSON array, and JSON.parse reads
   * it about 2.5x faster than Number() field by field (CSV parsing was the
   * job's bottleneck). Anything else (an empty field, a number JSON does
   * not write such as `.5`, text, a count that is not whole steps) gives
   * null and goes the general way, which says what is wrong.
   */
  private readCsvNumbers(text: string): Row | null {
    let id: string | undefined;
    let body = text;
    if (this.idColumn === 0) {
      const comma = text.indexOf(',');
      if (comma < 0) return null;
      id = text.slice(0, comma).trim();
      body = text.slice(comma + 1);
    }
    let list: unknown[];
    try {
      list = JSON.parse(`[${body}]`) as unknown[];
    } catch {
      return null;
    }
    const F = this.features;
    if (list.length === 0 || list.length % F !== 0) return null;
    const values = new Float32Array(list.length);
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      if (typeof v !== 'number' || !Number.isFinite(v)) return null;
      values[i] = v;
    }
    return this.fromSequence({ values, steps: list.length / F, features: F }, id);
  }

  private fromText(text: string, id: unknown): Row {
    if (this.prep.task !== 'text') throw new Error('internal: fromText on a non-text model');
    const ids = encodeText(text, this.vocab!, this.prep.maxLen);
    return { ok: true, id, values: Float32Array.from(ids), steps: ids.length, lastTarget: 0 };
  }

  private fromSequence(seq: Sequence | string, id: unknown): Row {
    if (typeof seq === 'string') return { ok: false, id, error: seq };
    const p = this.prep;
    const F = this.features;
    if (seq.features !== F) return { ok: false, id, error: `${seq.features} features per step, the model takes ${F}` };
    if (p.task === 'forecast') {
      if (seq.steps !== p.window) return { ok: false, id, error: `${seq.steps} steps, the model forecasts from windows of exactly ${p.window}` };
      const out = new Float32Array(modelSteps(p) * F);
      encodeWindow(p, seq.values, 0, out, 0);
      return { ok: true, id, values: out, steps: modelSteps(p), lastTarget: seq.values[(p.window - 1) * F + p.targetIndex] };
    }
    if (p.task === 'classify') {
      if (p.timesteps !== null && seq.steps !== p.timesteps) return { ok: false, id, error: `${seq.steps} steps, the model was trained on sequences of exactly ${p.timesteps}` };
      const out = new Float32Array(seq.values.length);
      for (let t = 0; t < seq.steps; t++) for (let f = 0; f < F; f++) out[t * F + f] = (seq.values[t * F + f] - p.mean[f]) / p.std[f];
      return { ok: true, id, values: out, steps: seq.steps, lastTarget: 0 };
    }
    return { ok: false, id, error: 'a text model takes text, not numbers' };
  }

  /** The output fields for one row's model output (`out[offset..offset+width)`). */
  result(row: GoodRow, out: Float32Array, offset: number, width: number): { y: number[]; label?: string | number } {
    const p = this.prep;
    if (p.task === 'forecast') return { y: decodeForecast(p, out, offset, row.lastTarget).map(num) };
    const y = Array.from(out.subarray(offset, offset + width), num);
    let best = 0;
    for (let i = 1; i < width; i++) if (out[offset + i] > out[offset + best]) best = i;
    return { y, label: p.classes[best] };
  }
}

/** A number as printed: 7 significant digits (about float32's precision), the same on every run. */
export function num(v: number): number {
  return Number(v.toPrecision(7));
}
