/**
 * The built package works with require() and with import, and ships its
 * type declarations.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runNode } from './helpers/child.js';

const use = (load: string) => `
(async () => {
  const g = ${load};
  const layer = g.layers.gru({ units: 2, seed: 5, returnState: true });
  const [out, state] = await layer.apply(g.tensor([[[0.5], [-0.25], [1]]]));
  console.log(JSON.stringify({ shape: out.shape, stateShape: state.shape, same: Array.from(out.dataSync()).join() === Array.from(state.dataSync()).join(), version: g.version }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('package entry points', () => {
  it('works with require()', () => {
    const r = runNode(use(`require('./dist/index.cjs')`));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ shape: [1, 2], stateShape: [1, 2], same: true, version: '0.1.0' });
  });

  it('works with import', () => {
    const r = runNode(use(`await import(${JSON.stringify(path.join(ROOT, 'dist', 'index.mjs'))})`));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ shape: [1, 2], same: true });
  });

  it('resolves through package.json exports for both module systems', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    for (const file of [pkg.main, pkg.types, pkg.exports['.'].import.default, pkg.exports['.'].import.types, pkg.exports['.'].require.default, pkg.exports['.'].require.types]) {
      expect(fs.existsSync(path.join(ROOT, file)), file).toBe(true);
    }
    const dts = fs.readFileSync(path.join(ROOT, pkg.types), 'utf8');
    for (const name of ['tensor', 'layers', 'GRU', 'setBackend', 'getBackend', 'setNumThreads', 'getNumThreads', 'backendInfo', 'Tensor']) {
      expect(dts).toMatch(new RegExp(`\\b${name}\\b`));
    }
    expect(dts).not.toMatch(/:\s*any\b/);
  });

  it('the version export matches package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const r = runNode(`console.log(require('./dist/index.cjs').version)`);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});
