/**
 * Both native build paths produce a working addon from the same sources and
 * flags (native/build-config.json): node-gyp (install, prebuilds) into
 * build/, cmake-js into build-cmake/, and cmake-js with OpenBLAS linked
 * statically into build-static/. Each is loaded on its own and must
 * reproduce a golden case.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runNode } from './helpers/child.js';

const builds = {
  'node-gyp': { file: path.join(ROOT, 'build', 'Release', 'gatedrnn.node'), command: ['run', 'build:native'], staticBlas: false, incremental: false },
  'cmake-js': { file: path.join(ROOT, 'build-cmake', 'Release', 'gatedrnn.node'), command: ['run', 'build:cmake'], staticBlas: false, incremental: true },
  // What prebuilt binaries need: libopenblas.a linked in, nothing to install.
  'cmake-js, OpenBLAS linked statically': {
    file: path.join(ROOT, 'build-static', 'Release', 'gatedrnn.node'),
    command: ['exec', '--', 'cmake-js', 'compile', '--out', 'build-static', '--CDGATEDRNN_STATIC_OPENBLAS=ON'],
    staticBlas: true,
    incremental: true,
  },
};

const check = `
const g = require('./dist/index.cjs');
const fs = require('fs');
const c = JSON.parse(fs.readFileSync('test/fixtures/golden/rnn/C01_gru_keras_v3_random_h0.json', 'utf8'));
const v = (t) => Float32Array.from(t.data);
(async () => {
  g.setBackend('native');
  const cfg = c.config;
  const layer = g.layers.gru({ units: cfg.hidden_size, returnSequences: true });
  layer.setWeights(['kernel_l0', 'recurrent_kernel_l0', 'bias_l0'].map((n) => g.tensor(v(c.params[n]), c.params[n].shape)));
  const out = await layer.apply(g.tensor(v(c.inputs.x), c.inputs.x.shape), { initialState: [g.tensor(v(c.inputs.h0), c.inputs.h0.shape.slice(1))] });
  const want = v(c.outputs.output);
  const got = out.dataSync();
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  console.log(JSON.stringify({ path: g.backendInfo().nativePath, worst }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe.each(Object.entries(builds))('the %s build', (_name, build) => {
  beforeAll(() => {
    // cmake-js builds are incremental: cheap to bring up to date. node-gyp's
    // rebuild is not, and npm install has just made it.
    if (!build.incremental && fs.existsSync(build.file)) return;
    const r = spawnSync('npm', build.command, { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm ${build.command.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  }, 300_000);

  it.runIf(process.platform === 'linux')('links OpenBLAS as the build asks', () => {
    const r = spawnSync('ldd', [build.file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    if (build.staticBlas) expect(r.stdout).not.toMatch(/openblas|gfortran/);
    else expect(r.stdout).toMatch(/libopenblas/);
  });

  it('loads and reproduces a golden case', () => {
    const r = runNode(check, { GATEDRNN_ADDON: build.file, GATEDRNN_BACKEND: undefined });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.path).toBe(build.file);
    expect(out.worst).toBeLessThan(1e-5);
  });
});
