/** Checks on SVG text that the chart tests share (no XML parser dependency). */
import { expect } from 'vitest';

/** Minimal XML check: every tag closed in order, one root <svg>. Returns the tag names in order. */
export function parseTags(xml: string): string[] {
  const body = xml.trim();
  expect(body.startsWith('<svg')).toBe(true);
  expect(body.endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  const names: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (close) {
      expect(stack.pop()).toBe(name);
    } else {
      if (stack.length === 0) roots++;
      names.push(name);
      if (!selfClose) stack.push(name);
    }
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  // No stray markup outside tags: every '<' starts a tag matched above.
  expect((body.match(/</g) ?? []).length).toBe((body.match(/<\/?[A-Za-z][^>]*>/g) ?? []).length);
  return names;
}

/** The contents of every <text> element, in order. */
export function texts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}
