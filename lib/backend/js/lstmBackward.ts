/**
 * LSTM backward (BPTT) in TypeScript: the same algorithm as
 * native/kernels/lstm_backward.cpp. The sweep t = T-1 .. 0 carries dh and dc,
 * stores dG (B, T, 4H) per step and sends dh back through one GEMM per step;
 * the weight gradients come from all timesteps at once.
 */
import type { LstmForwardResult, LstmGradients, LstmParams, LstmSpec } from '../types.js';
import { candidateFns, gateFns } from './activations.js';
import { sgemm } from './gemm.js';
import { columnSums, passThrough, previousStates } from './sequence.js';
import type { JsLstmCache } from './lstmForward.js';
import { EventLoopYielder } from './yieldToEventLoop.js';

export async function lstmBackward(
  spec: LstmSpec,
  p: LstmParams,
  forward: LstmForwardResult,
  dOutput: Float32Array | null,
  dhLast: Float32Array | null,
  dcLast: Float32Array | null,
): Promise<LstmGradients> {
  const { batch: B, steps: T, inputSize: I, units: H } = spec;
  if (!forward.cache || forward.cache.backend !== 'js') throw new Error('lstmBackward needs the cache of a training forward on the same backend');
  const { x, h0, c0, mask, recurrentScale: scale, output, gates, cells } = forward.cache as JsLstmCache;
  const act = candidateFns[spec.activation];
  const gateGrad = gateFns[spec.recurrentActivation].grad;
  const BT = B * T;
  const dG = new Float32Array(BT * 4 * H);
  const dh = dhLast ? Float32Array.from(dhLast.subarray(0, B * H)) : new Float32Array(B * H);
  const dc = dcLast ? Float32Array.from(dcLast.subarray(0, B * H)) : new Float32Array(B * H);
  const yielder = new EventLoopYielder();

  for (let t = T - 1; t >= 0 && B > 0; t--) {
    for (let b = 0; b < B; b++) {
      const row = b * T + t, g = row * 4 * H, o = row * H, d = b * H;
      const cp = t === 0 ? c0 : cells, cpo = t === 0 ? b * H : (b * T + t - 1) * H;
      if (mask && !mask[row]) {
        // A skipped step passed h and c through: so do their gradients.
        passThrough(dh, d, dOutput, o, H);
        continue;
      }
      for (let j = 0; j < H; j++) {
        const i = gates[g + j], f = gates[g + H + j], gg = gates[g + 2 * H + j], og = gates[g + 3 * H + j];
        const a = Math.fround(act.f(cells[o + j]));
        const dhj = dh[d + j] + (dOutput ? dOutput[o + j] : 0);
        const dcj = dc[d + j] + Math.fround(dhj * og) * act.grad(a);
        dG[g + j] = dcj * gg * gateGrad(i);
        dG[g + H + j] = dcj * cp[cpo + j] * gateGrad(f);
        dG[g + 2 * H + j] = dcj * i * act.grad(gg);
        dG[g + 3 * H + j] = dhj * a * gateGrad(og);
        dc[d + j] = dcj * f;
        // h_{t-1} reaches h_t only through the gates.
        dh[d + j] = 0;
      }
    }
    // With recurrent dropout the matmul's gradient goes through the scale.
    const dRec = scale ? new Float32Array(B * H) : dh;
    sgemm({ transA: false, transB: true, m: B, n: H, k: 4 * H, alpha: 1, a: dG.subarray(t * 4 * H), lda: T * 4 * H, b: p.recurrentKernel, ldb: 4 * H, beta: scale ? 0 : 1, c: dRec, ldc: H });
    if (scale) for (let i = 0; i < B * H; i++) dh[i] += dRec[i] * scale[i];
    await yielder.maybeYield();
  }

  const hPrev = previousStates(B, T, H, h0, output, scale);
  const dKernel = new Float32Array(I * 4 * H);
  const dRecurrentKernel = new Float32Array(H * 4 * H);
  const dx = new Float32Array(BT * I);
  sgemm({ transA: true, transB: false, m: I, n: 4 * H, k: BT, alpha: 1, a: x, lda: I, b: dG, ldb: 4 * H, beta: 0, c: dKernel, ldc: 4 * H });
  sgemm({ transA: true, transB: false, m: H, n: 4 * H, k: BT, alpha: 1, a: hPrev, lda: H, b: dG, ldb: 4 * H, beta: 0, c: dRecurrentKernel, ldc: 4 * H });
  sgemm({ transA: false, transB: true, m: BT, n: I, k: 4 * H, alpha: 1, a: dG, lda: 4 * H, b: p.kernel, ldb: 4 * H, beta: 0, c: dx, ldc: I });
  return { dx, dh0: dh, dc0: dc, dKernel, dRecurrentKernel, dBias: p.bias ? columnSums(dG, BT, 4 * H) : null };
}
