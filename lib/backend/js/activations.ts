/**
 * Activations of the TS backend, the same functions and derivative
 * conventions as native/kernels/activations.h: derivatives are taken through
 * the output y, and are 0 at the kinks of relu and the hard sigmoids.
 */
import type { CandidateActivation, GateActivation } from '../types.js';

export type Fn = (x: number) => number;

const sigmoid: Fn = (x) => 1 / (1 + Math.exp(-x));
const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

export const gateFns: Record<GateActivation, { f: Fn; grad: Fn }> = {
  sigmoid: { f: sigmoid, grad: (y) => y * (1 - y) },
  hardSigmoid: { f: (x) => clamp01(0.2 * x + 0.5), grad: (y) => (y > 0 && y < 1 ? 0.2 : 0) },
  hardSigmoidKeras3: { f: (x) => clamp01(x / 6 + 0.5), grad: (y) => (y > 0 && y < 1 ? 1 / 6 : 0) },
};

export const candidateFns: Record<CandidateActivation, { f: Fn; grad: Fn }> = {
  tanh: { f: Math.tanh, grad: (y) => 1 - y * y },
  relu: { f: (x) => (x > 0 ? x : 0), grad: (y) => (y > 0 ? 1 : 0) },
  linear: { f: (x) => x, grad: () => 1 },
  sigmoid: { f: sigmoid, grad: (y) => y * (1 - y) },
};
