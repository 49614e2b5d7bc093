/**
 * Text to token ids: a word tokenizer (lower-cased runs of letters and
 * digits, with inner apostrophes: "don't"), a vocabulary built from the
 * training texts (most frequent first, ties alphabetical, so the same
 * data gives the same vocabulary), and encoding with truncation. Id 0 is
 * padding (masked by Embedding's maskZero), id 1 a word not in the
 * vocabulary, words start at 2.
 */

export const PAD_ID = 0;
export const OOV_ID = 1;
/** Name of this tokenizer in preprocessing.json, so a later change cannot be mixed up with it. */
export const TOKENIZER = 'words-lower-v1';

const WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

/** The words of a text, lower-cased. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/**
 * The vocabulary: at most `maxSize - 2` words (room for padding and
 * unknown), each seen at least `minCount` times, most frequent first.
 */
export function buildVocabulary(texts: Iterable<string[]>, maxSize: number, minCount = 1): string[] {
  const counts = new Map<string, number>();
  for (const words of texts) for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()]
    .filter(([, c]) => c >= minCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.max(0, maxSize - 2))
    .map(([w]) => w);
}

/** Word → id for a vocabulary list. */
export function vocabularyIndex(vocabulary: string[]): Map<string, number> {
  return new Map(vocabulary.map((w, i) => [w, i + 2]));
}

/**
 * The ids of a text's words, the first `maxLen` of them; an empty text
 * gives one padding id (a fully masked sequence).
 */
export function encodeText(text: string, index: Map<string, number>, maxLen: number): number[] {
  const words = tokenize(text);
  const ids = words.slice(0, maxLen).map((w) => index.get(w) ?? OOV_ID);
  return ids.length === 0 ? [PAD_ID] : ids;
}
