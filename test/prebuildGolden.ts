/**
 * The golden RNN cases (test/fixtures/golden/rnn: every GRU and LSTM case,
 * forward and all gradients, with the tolerances of golden.test.ts and
 * goldenLstm.test.ts) on one backend, as a plain script rather than a vitest
 * file, so that it runs where vitest cannot: an arm64 Node 18 under
 * qemu-user (scripts/prebuild-arm64.sh bundles it with esbuild, the library
 * taken from dist/index.cjs as users get it). Prints one JSON line:
 *   { arch, node, backend, nativePath, blas, cases, failures: [...] }
 * and exits 1 if a case fails or the backend is not the one asked for.
 *   node <bundle> [native|js]
 */
import { getBackend, backendInfo, setBackend } from '../lib/index.js';
import { listCases, loadCase, stackSpecOf, toleranceRatio, torchLstmToKeras, torchToKeras, values, type GoldenCase, type GoldenTensor } from './helpers/golden.js';
import { runLstmStack, runStack, type LstmStackWeights, type StackWeights } from './helpers/stack.js';

type Weights = StackWeights | LstmStackWeights;

/** Keras-layout weights (or their gradients) of every layer and direction, as the two golden tests build them. */
function kerasWeights(c: GoldenCase, source: Record<string, GoldenTensor>, gradients: boolean): Weights[] {
  const { num_layers: L, num_directions: D, hidden_size: H, input_size: I } = c.config;
  const out: Weights[] = [];
  for (let k = 0; k < L; k++)
    for (let d = 0; d < D; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      const Ik = k === 0 ? I : D * H;
      if (c.convention === 'D') {
        const bih = values(source[`bias_ih${sfx}`]);
        out.push(torchLstmToKeras(values(source[`weight_ih${sfx}`]), values(source[`weight_hh${sfx}`]), bih, gradients ? new Float32Array(bih.length) : values(source[`bias_hh${sfx}`]), Ik, H));
      } else if (c.convention === 'A') {
        out.push(torchToKeras(values(source[`weight_ih${sfx}`]), values(source[`weight_hh${sfx}`]), values(source[`bias_ih${sfx}`]), values(source[`bias_hh${sfx}`]), Ik, H));
      } else {
        out.push({ kernel: values(source[`kernel${sfx}`]), recurrentKernel: values(source[`recurrent_kernel${sfx}`]), bias: values(source[`bias${sfx}`]) });
      }
    }
  return out;
}

async function runCase(c: GoldenCase): Promise<string[]> {
  const bad: string[] = [];
  const check = (what: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number) => {
    const r = toleranceRatio(got, want, atol, rtol);
    if (!(r <= 1)) bad.push(`${what} (${r.toFixed(2)}x the tolerance)`);
  };
  const loss = c.loss as Record<string, GoldenTensor>;
  const grads = c.grads as unknown as Record<string, GoldenTensor> & { params: Record<string, GoldenTensor> };
  const want = kerasWeights(c, grads.params, c.convention === 'D');
  let r;
  let fwdAtol = 1e-5;
  if (c.config.cell === 'lstm') {
    const spec = { ...stackSpecOf(c), activation: 'tanh' as const, recurrentActivation: 'sigmoid' as const };
    const lr = await runLstmStack(spec, kerasWeights(c, c.params, false), values(c.inputs.x), values(c.inputs.h0), values(c.inputs.c0), values(loss.G), values(loss.Gh), values(loss.Gc));
    check('c_n', lr.cN, values(c.outputs.c_n), 1e-5, 1e-4);
    check('dc0', lr.dc0, values(grads.c0), 1e-4, 1e-3);
    r = lr;
  } else {
    fwdAtol = c.config.hidden_size >= 64 ? 1e-4 : 1e-5;
    r = await runStack(stackSpecOf(c), kerasWeights(c, c.params, false) as StackWeights[], values(c.inputs.x), values(c.inputs.h0), values(loss.G), values(loss.Gh));
  }
  check('output', r.output, values(c.outputs.output), fwdAtol, 1e-4);
  check('h_n', r.hN, values(c.outputs.h_n), fwdAtol, 1e-4);
  check('dx', r.dx, values(grads.x), 1e-4, 1e-3);
  check('dh0', r.dh0, values(grads.h0), 1e-4, 1e-3);
  r.grads.forEach((g, i) => {
    check(`dKernel ${i}`, g.kernel, want[i].kernel, 1e-4, 1e-3);
    check(`dRecurrentKernel ${i}`, g.recurrentKernel, want[i].recurrentKernel, 1e-4, 1e-3);
    check(`dBias ${i}`, g.bias, want[i].bias, 1e-4, 1e-3);
  });
  return bad;
}

async function main(): Promise<void> {
  const asked = (process.argv[2] ?? 'native') as 'native' | 'js';
  setBackend(asked);
  const failures: string[] = [];
  const files = listCases('rnn');
  for (const file of files) {
    const c = loadCase(file);
    try {
      for (const b of await runCase(c)) failures.push(`${c.name}: ${b}`);
    } catch (e) {
      failures.push(`${c.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const info = backendInfo();
  const report = { arch: process.arch, node: process.version, backend: getBackend(), nativePath: info.nativePath, blas: info.blasVersion, blasCore: info.blasCore, cases: files.length, failures };
  console.log(JSON.stringify(report));
  if (failures.length > 0 || report.backend !== asked) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
