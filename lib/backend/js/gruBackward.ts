/**
 * GRU backward (BPTT) in TypeScript: the same algorithm as
 * native/kernels/gru_backward.cpp. The sweep t = T-1 .. 0 stores the
 * gradients of the gate pre-activations per step,
 *   dGx (B, T, 3H) w.r.t. x W + ib, dGh (B, T, 3H) w.r.t. h U + rb,
 * carries dh back through U with one GEMM per step, and ends with one GEMM
 * per weight over all timesteps.
 */
import type { GruForwardResult, GruGradients, GruParams, GruSpec } from '../types.js';
import { candidateFns, gateFns } from './activations.js';
import { sgemm } from './gemm.js';
import type { JsGruCache } from './gruForward.js';
import { columnSums, passThrough, previousStates, scaleState } from './sequence.js';
import { EventLoopYielder } from './yieldToEventLoop.js';

export async function gruBackward(
  spec: GruSpec,
  p: GruParams,
  forward: GruForwardResult,
  dOutput: Float32Array | null,
  dLast: Float32Array | null,
): Promise<GruGradients> {
  const { batch: B, steps: T, inputSize: I, units: H, resetAfter } = spec;
  if (!forward.cache || forward.cache.backend !== 'js') throw new Error('gruBackward needs the cache of a training forward on the same backend');
  const { x, h0, mask, recurrentScale: scale, output, gates, hnCache } = forward.cache as JsGruCache;
  const gateGrad = gateFns[spec.recurrentActivation].grad;
  const candGrad = candidateFns[spec.activation].grad;
  const BT = B * T;
  const dGx = new Float32Array(BT * 3 * H);
  const dGh = resetAfter ? new Float32Array(BT * 3 * H) : dGx;
  const rh = new Float32Array(resetAfter ? 0 : BT * H);
  const drh = new Float32Array(resetAfter ? 0 : B * H);
  const dh = dLast ? Float32Array.from(dLast.subarray(0, B * H)) : new Float32Array(B * H);
  const yielder = new EventLoopYielder();

  // With recurrent dropout, the matmuls' gradient w.r.t. h_{t-1} goes
  // through the scale: computed into dRec, then added.
  const dRec = scale ? new Float32Array(B * H) : dh;
  const recBeta = scale ? 0 : 1;
  const addRec = () => {
    if (scale) for (let i = 0; i < B * H; i++) dh[i] += dRec[i] * scale[i];
  };
  for (let t = T - 1; t >= 0 && B > 0; t--) {
    const hPrev = t === 0 ? h0 : output.subarray((t - 1) * H);
    const ldh = t === 0 ? H : T * H;
    const hIn = scale ? scaleState(hPrev, ldh, scale, B, H) : hPrev;
    const ldIn = scale ? H : ldh;
    if (resetAfter) {
      const hn = hnCache as Float32Array;
      for (let b = 0; b < B; b++) {
        const row = b * T + t, g = row * 3 * H, o = row * H, h = b * ldh, d = b * H;
        if (mask && !mask[row]) {
          // A skipped step passed h through: so does its gradient.
          passThrough(dh, d, dOutput, o, H);
          continue;
        }
        for (let j = 0; j < H; j++) {
          const z = gates[g + j], r = gates[g + H + j], n = gates[g + 2 * H + j];
          const dhj = dh[d + j] + (dOutput ? dOutput[o + j] : 0);
          const dan = Math.fround(dhj * (1 - z) * candGrad(n));
          const daz = dhj * (hPrev[h + j] - n) * gateGrad(z);
          const dar = dan * hn[o + j] * gateGrad(r);
          dGx[g + j] = daz;
          dGx[g + H + j] = dar;
          dGx[g + 2 * H + j] = dan;
          dGh[g + j] = daz;
          dGh[g + H + j] = dar;
          dGh[g + 2 * H + j] = dan * r;
          dh[d + j] = dhj * z;
        }
      }
      sgemm({ transA: false, transB: true, m: B, n: H, k: 3 * H, alpha: 1, a: dGh.subarray(t * 3 * H), lda: T * 3 * H, b: p.recurrentKernel, ldb: 3 * H, beta: recBeta, c: dRec, ldc: H });
      addRec();
    } else {
      for (let b = 0; b < B; b++) {
        const row = b * T + t, g = row * 3 * H, o = row * H, h = b * ldh, d = b * H;
        if (mask && !mask[row]) {
          passThrough(dh, d, dOutput, o, H);
          continue;
        }
        for (let j = 0; j < H; j++) {
          const z = gates[g + j], n = gates[g + 2 * H + j];
          const dhj = dh[d + j] + (dOutput ? dOutput[o + j] : 0);
          dGx[g + j] = dhj * (hPrev[h + j] - n) * gateGrad(z);
          dGx[g + 2 * H + j] = dhj * (1 - z) * candGrad(n);
          dh[d + j] = dhj * z;
        }
      }
      sgemm({ transA: false, transB: true, m: B, n: H, k: H, alpha: 1, a: dGx.subarray(t * 3 * H + 2 * H), lda: T * 3 * H, b: p.recurrentKernel.subarray(2 * H), ldb: 3 * H, beta: 0, c: drh, ldc: H });
      for (let b = 0; b < B; b++) {
        const row = b * T + t, g = row * 3 * H, o = row * H, d = b * H;
        for (let j = 0; j < H; j++) {
          const r = gates[g + H + j];
          const hj = hIn[b * ldIn + j];
          dGx[g + H + j] = drh[d + j] * hj * gateGrad(r);
          dh[d + j] += drh[d + j] * r * (scale ? scale[d + j] : 1);
          rh[o + j] = r * hj;
        }
      }
      sgemm({ transA: false, transB: true, m: B, n: H, k: 2 * H, alpha: 1, a: dGx.subarray(t * 3 * H), lda: T * 3 * H, b: p.recurrentKernel, ldb: 3 * H, beta: recBeta, c: dRec, ldc: H });
      addRec();
    }
    await yielder.maybeYield();
  }

  const hPrevAll = previousStates(B, T, H, h0, output, scale);
  const dKernel = new Float32Array(I * 3 * H);
  const dRecurrentKernel = new Float32Array(H * 3 * H);
  const dx = new Float32Array(BT * I);
  sgemm({ transA: true, transB: false, m: I, n: 3 * H, k: BT, alpha: 1, a: x, lda: I, b: dGx, ldb: 3 * H, beta: 0, c: dKernel, ldc: 3 * H });
  if (resetAfter) {
    sgemm({ transA: true, transB: false, m: H, n: 3 * H, k: BT, alpha: 1, a: hPrevAll, lda: H, b: dGh, ldb: 3 * H, beta: 0, c: dRecurrentKernel, ldc: 3 * H });
  } else {
    sgemm({ transA: true, transB: false, m: H, n: 2 * H, k: BT, alpha: 1, a: hPrevAll, lda: H, b: dGx, ldb: 3 * H, beta: 0, c: dRecurrentKernel, ldc: 3 * H });
    sgemm({ transA: true, transB: false, m: H, n: H, k: BT, alpha: 1, a: rh, lda: H, b: dGx.subarray(2 * H), ldb: 3 * H, beta: 0, c: dRecurrentKernel.subarray(2 * H), ldc: 3 * H });
  }
  sgemm({ transA: false, transB: true, m: BT, n: I, k: 3 * H, alpha: 1, a: dGx, lda: 3 * H, b: p.kernel, ldb: 3 * H, beta: 0, c: dx, ldc: I });
  const dInputBias = p.inputBias ? columnSums(dGx, BT, 3 * H) : null;
  const dRecurrentBias = p.recurrentBias ? (resetAfter ? columnSums(dGh, BT, 3 * H) : new Float32Array(3 * H)) : null;
  return { dx, dh0: dh, dKernel, dRecurrentKernel, dInputBias, dRecurrentBias };
}
