/** The pure-TypeScript backend: runs everywhere, single-threaded. */
import type { KernelBackend } from '../types.js';
import { sgemm } from './gemm.js';
import { gruBackward } from './gruBackward.js';
import { gruForward } from './gruForward.js';
import { lstmBackward } from './lstmBackward.js';
import { lstmForward } from './lstmForward.js';
import { lastStates } from './sequence.js';
import { simpleRnnBackward, simpleRnnForward } from './simpleRnn.js';

export const jsBackend: KernelBackend = {
  name: 'js',
  // lastOnly: the TS kernels build the sequence anyway; the caller gets its last step.
  async gruForward(spec, p, x, h0, mask, recurrentScale, training, lastOnly = false) {
    const r = await gruForward(spec, p, x, h0, mask, recurrentScale, training);
    return lastOnly ? { output: lastStates(r.output, spec.batch, spec.steps, spec.units), cache: r.cache } : r;
  },
  gruBackward,
  async lstmForward(spec, p, x, h0, c0, mask, recurrentScale, training, lastOnly = false) {
    const r = await lstmForward(spec, p, x, h0, c0, mask, recurrentScale, training);
    return lastOnly ? { ...r, output: lastStates(r.output, spec.batch, spec.steps, spec.units) } : r;
  },
  lstmBackward,
  async simpleRnnForward(spec, p, x, h0, mask, recurrentScale, training, lastOnly = false) {
    const r = await simpleRnnForward(spec, p, x, h0, mask, recurrentScale, training);
    return lastOnly ? { output: lastStates(r.output, spec.batch, spec.steps, spec.units), cache: r.cache } : r;
  },
  simpleRnnBackward,
  sgemm,
  // The TS caches are plain arrays: the garbage collector takes them back.
  releaseCache() {},
  // The TS kernels run on the calling thread; the setting is kept for the
  // native backend, which reads it when selected.
  setNumThreads() {},
  getNumThreads: () => 1,
};
