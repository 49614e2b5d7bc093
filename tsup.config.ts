import { defineConfig } from 'tsup';

// One source, two module formats: dist/index.cjs for require(), dist/index.mjs
// for import, each with its .d.ts. The addon is loaded at run time through
// node-gyp-build from the package root, so it is never bundled.
// dist/cli.cjs is the command-line tool (bin/gatedrnn.cjs loads it); it has
// no types of its own. @resvg/resvg-js is optional (PNG charts) and loaded at
// run time, so it is never bundled either.
export default defineConfig({
  entry: { index: 'lib/index.ts', cli: 'lib/cli/main.ts' },
  format: ['cjs', 'esm'],
  dts: { entry: { index: 'lib/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'node18',
  platform: 'node',
  shims: true,
  external: ['@resvg/resvg-js'],
  outExtension: ({ format }) => ({ js: format === 'cjs' ? '.cjs' : '.mjs' }),
});
