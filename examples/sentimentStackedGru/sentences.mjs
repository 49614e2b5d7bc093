/**
 * The labelled review sentences both sentiment examples read (this folder and
 * ../textClassification): the rows, their tokens, the data set README's
 * baseline and reference, and the seeded fold order.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const BASELINE = { name: 'AFINN word-list scorer (sentiment package), data set README', accuracy: 0.729, perSource: { amazon: 0.726, imdb: 0.765, yelp: 0.696 } };
export const REFERENCE = { name: 'TF-IDF 1-2-grams + logistic regression, 5-fold CV, data set README', accuracy: 0.814 };

/** `{id, source, text, label}` per sentence. */
export const rows = fs.readFileSync(path.join(here, 'sentences.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
export const tokenize = (text) => text.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)*|[!?]/gu) ?? [];
/** The tokens of each row. */
export const words = rows.map((r) => tokenize(r.text));

/** A seeded permutation (xorshift32), so the folds are the same on every run. */
export function permutation(n, s) {
  let state = (s * 2654435761) >>> 0 || 1;
  const next = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 4294967296;
  };
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
