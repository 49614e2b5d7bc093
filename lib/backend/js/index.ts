/** The pure-TypeScript backend: runs everywhere, single-threaded. */
import type { KernelBackend } from '../types.js';
import { sgemm } from './gemm.js';
import { gruBackward } from './gruBackward.js';
import { gruForward } from './gruForward.js';
import { lstmBackward } from './lstmBackward.js';
import { lstmForward } from './lstmForward.js';
import { simpleRnnBackward, simpleRnnForward } from './simpleRnn.js';

export const jsBackend: KernelBackend = {
  name: 'js',
  gruForward,
  gruBackward,
  lstmForward,
  lstmBackward,
  simpleRnnForward,
  simpleRnnBackward,
  sgemm,
  // The TS caches are plain arrays: the garbage collector takes them back.
  releaseCache() {},
  // The TS kernels run on the calling thread; the setting is kept for the
  // native backend, which reads it when selected.
  setNumThreads() {},
  getNumThreads: () => 1,
};
