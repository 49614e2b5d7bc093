import { defineConfig } from 'tsup';

// One source, two module formats: dist/index.cjs for require(), dist/index.mjs
// for import, each with its .d.ts. The addon is loaded at run time through
// node-gyp-build from the package root, so it is never bundled.
export default defineConfig({
  entry: { index: 'lib/index.ts' },
  format: ['cjs', 'esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node18',
  platform: 'node',
  shims: true,
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.mjs' }),
});
