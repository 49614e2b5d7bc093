/**
 * SimpleRNN forward and backward in TypeScript: the same algorithm as
 * native/kernels/simple_rnn_*.cpp. h' = act(x W + h U + b); the input
 * projection of every step is one GEMM into the output, each step adds
 * h_{t-1} U; backward stores dG = dL/d(pre-activation) per step and ends
 * with one GEMM per weight.
 */
import type { RnnCache, RnnForwardResult, RnnGradients, RnnParams, RnnSpec } from '../types.js';
import { candidateFns } from './activations.js';
import { sgemm } from './gemm.js';
import { carryOver, columnSums, passThrough, previousStates, scaleState } from './sequence.js';
import { EventLoopYielder } from './yieldToEventLoop.js';

export interface JsRnnCache extends RnnCache {
  readonly backend: 'js';
  x: Float32Array;
  h0: Float32Array;
  mask: Uint8Array | null;
  recurrentScale: Float32Array | null;
  /** (B, T, H): the states, for backward (the caller gets its own copy). */
  output: Float32Array;
}

export async function simpleRnnForward(
  spec: RnnSpec,
  p: RnnParams,
  x: Float32Array,
  h0: Float32Array,
  mask: Uint8Array | null,
  recurrentScale: Float32Array | null,
  training: boolean,
): Promise<RnnForwardResult> {
  const { batch: B, steps: T, inputSize: I, units: H } = spec;
  const act = candidateFns[spec.activation].f;
  const output = new Float32Array(B * T * H);
  const bias = p.bias ?? new Float32Array(H);
  const yielder = new EventLoopYielder();
  if (B * T > 0) sgemm({ transA: false, transB: false, m: B * T, n: H, k: I, alpha: 1, a: x, lda: I, b: p.kernel, ldb: H, beta: 0, c: output, ldc: H });
  for (let t = 0; t < T && B > 0; t++) {
    const hPrev = t === 0 ? h0 : output.subarray((t - 1) * H);
    const ldh = t === 0 ? H : T * H;
    const hIn = recurrentScale ? scaleState(hPrev, ldh, recurrentScale, B, H) : hPrev;
    sgemm({ transA: false, transB: false, m: B, n: H, k: H, alpha: 1, a: hIn, lda: recurrentScale ? H : ldh, b: p.recurrentKernel, ldb: H, beta: 1, c: output.subarray(t * H), ldc: T * H });
    for (let b = 0; b < B; b++) {
      const o = (b * T + t) * H;
      if (mask && !mask[b * T + t]) {
        carryOver(output, o, hPrev, b * ldh, H);
        continue;
      }
      for (let j = 0; j < H; j++) output[o + j] = act(output[o + j] + bias[j]);
    }
    await yielder.maybeYield();
  }
  const cache: JsRnnCache | null = training ? { backend: 'js', x, h0, mask, recurrentScale, output } : null;
  return { output: training ? output.slice() : output, cache };
}

export async function simpleRnnBackward(spec: RnnSpec, p: RnnParams, forward: RnnForwardResult, dOutput: Float32Array | null, dLast: Float32Array | null): Promise<RnnGradients> {
  const { batch: B, steps: T, inputSize: I, units: H } = spec;
  if (!forward.cache || forward.cache.backend !== 'js') throw new Error('simpleRnnBackward needs the cache of a training forward on the same backend');
  const { x, h0, mask, recurrentScale: scale, output } = forward.cache as JsRnnCache;
  const grad = candidateFns[spec.activation].grad;
  const BT = B * T;
  const dG = new Float32Array(BT * H);
  const dh = dLast ? Float32Array.from(dLast.subarray(0, B * H)) : new Float32Array(B * H);
  const yielder = new EventLoopYielder();
  for (let t = T - 1; t >= 0 && B > 0; t--) {
    for (let b = 0; b < B; b++) {
      const row = b * T + t, o = row * H, d = b * H;
      if (mask && !mask[row]) {
        passThrough(dh, d, dOutput, o, H);
        continue;
      }
      for (let j = 0; j < H; j++) {
        dG[o + j] = (dh[d + j] + (dOutput ? dOutput[o + j] : 0)) * grad(output[o + j]);
        dh[d + j] = 0;
      }
    }
    const dRec = scale ? new Float32Array(B * H) : dh;
    sgemm({ transA: false, transB: true, m: B, n: H, k: H, alpha: 1, a: dG.subarray(t * H), lda: T * H, b: p.recurrentKernel, ldb: H, beta: scale ? 0 : 1, c: dRec, ldc: H });
    if (scale) for (let i = 0; i < B * H; i++) dh[i] += dRec[i] * scale[i];
    await yielder.maybeYield();
  }
  const hPrev = previousStates(B, T, H, h0, output, scale);
  const dKernel = new Float32Array(I * H);
  const dRecurrentKernel = new Float32Array(H * H);
  const dx = new Float32Array(BT * I);
  sgemm({ transA: true, transB: false, m: I, n: H, k: BT, alpha: 1, a: x, lda: I, b: dG, ldb: H, beta: 0, c: dKernel, ldc: H });
  sgemm({ transA: true, transB: false, m: H, n: H, k: BT, alpha: 1, a: hPrev, lda: H, b: dG, ldb: H, beta: 0, c: dRecurrentKernel, ldc: H });
  sgemm({ transA: false, transB: true, m: BT, n: I, k: H, alpha: 1, a: dG, lda: H, b: p.kernel, ldb: H, beta: 0, c: dx, ldc: I });
  return { dx, dh0: dh, dKernel, dRecurrentKernel, dBias: p.bias ? columnSums(dG, BT, H) : null };
}
