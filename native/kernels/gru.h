// GRU over whole sequences: forward and backward (BPTT).
//
// Layout (Keras's, documented once here and used everywhere):
//   x        (B, T, I)   batch-major input
//   h0       (B, H)      initial state
//   kernel   (I, 3H)     input weights, column blocks in gate order z | r | h
//   rkernel  (H, 3H)     recurrent weights, same blocks
//   ibias    (3H)        input bias (nullable: no bias)
//   rbias    (3H)        recurrent bias, resetAfter only (nullable)
//   mask     (B, T)      nullable: 1 = the step is read; 0 = it is skipped, the
//                        state carries over and output[b, t] repeats it
//                        (Keras masking; PyTorch packed sequences are a mask
//                        of ones then zeros)
//   rscale   (B, H)      nullable: recurrent dropout, 0 or 1/(1-p) per unit and
//                        sequence; h_{t-1} is multiplied by it where it enters
//                        the recurrent matmul (and r * h), not in the update
//   output   (B, T, H)   every hidden state; output[:, T-1] is the last state
//
// resetAfter = true  (PyTorch, CuDNN, Keras >= 2.x default):
//   z = σ(x W_z + ib_z + h U_z + rb_z),  r = σ(... r ...)
//   hh = g(x W_h + ib_h + r * (h U_h + rb_h)),   h' = z * h + (1 - z) * hh
// resetAfter = false (Cho et al. 2014, tfjs):
//   z = σ(x W_z + h U_z + b_z),  r = σ(... r ...)
//   hh = g(x W_h + (r * h) U_h + b_h),           h' = z * h + (1 - z) * hh
#pragma once

#include <cstdint>

#include "activations.h"
#include "packed_weights.h"

namespace gatedrnn {

struct GruShape {
  int batch = 0;      // B
  int steps = 0;      // T
  int inputSize = 0;  // I
  int units = 0;      // H
};

struct GruOptions {
  bool resetAfter = true;
  Activation activation = Activation::Tanh;
  GateActivation recurrentActivation = GateActivation::Sigmoid;
};

struct GruWeights {
  const float* kernel = nullptr;           // (I, 3H)
  const float* recurrentKernel = nullptr;  // (H, 3H)
  const float* inputBias = nullptr;        // (3H) or null
  const float* recurrentBias = nullptr;    // (3H) or null; ignored unless resetAfter
  const PackedCellWeights* packed = nullptr;  // nullable: packGruWeights of these, made earlier
};

// kernel and recurrentKernel as gruForward multiplies them.
PackedCellWeights packGruWeights(bool resetAfter, int inputSize, int units, const GruWeights& w,
                                 BlockUse use = BlockUse::Scratch);

// What backward needs from forward, filled only when training.
//   gates   (B, T, 3H)  z | r | hh after their activations
//   hnCache (B, T, H)   h U_h + rb_h (resetAfter only: dL/dr needs it)
struct GruCache {
  float* gates = nullptr;
  float* hnCache = nullptr;
};

// Runs the whole sequence. output (B,T,H) receives every state.
// cache may be null (inference): then nothing is kept for backward.
void gruForward(const GruShape& s, const GruOptions& o, const GruWeights& w,
                const float* x, const float* h0, const uint8_t* mask, const float* rscale,
                float* output, const GruCache* cache);

struct GruGrads {
  float* dx = nullptr;               // (B, T, I)
  float* dh0 = nullptr;              // (B, H)
  float* dKernel = nullptr;          // (I, 3H)
  float* dRecurrentKernel = nullptr; // (H, 3H)
  float* dInputBias = nullptr;       // (3H) or null
  float* dRecurrentBias = nullptr;   // (3H) or null
};

// Backpropagation through time for L with dL/doutput = dOutput (B,T,H) and
// dL/dh_T = dLast (B,H); either may be null (zero). Reads the cache written by
// gruForward with the same inputs; the cache is not modified. All gradients
// are overwritten (not accumulated).
void gruBackward(const GruShape& s, const GruOptions& o, const GruWeights& w,
                 const float* x, const float* h0, const uint8_t* mask, const float* rscale,
                 const float* output,
                 const GruCache& cache, const float* dOutput, const float* dLast,
                 const GruGrads& g);

}  // namespace gatedrnn
