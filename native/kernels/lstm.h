// LSTM over whole sequences: forward and backward (BPTT).
//
// Layout (Keras's; PyTorch's nn.LSTM maps onto it with kernel = weight_ih^T,
// recurrentKernel = weight_hh^T, bias = bias_ih + bias_hh):
//   x        (B, T, I)   batch-major input
//   h0, c0   (B, H)      initial states
//   kernel   (I, 4H)     input weights, column blocks in gate order i | f | g | o
//   rkernel  (H, 4H)     recurrent weights, same blocks
//   bias     (4H)        nullable
//   mask     (B, T)      nullable: 0 skips a step (h and c carry over, as in gru.h)
//   rscale   (B, H)      nullable: recurrent dropout on h_{t-1} where it enters
//                        the recurrent matmul (as in gru.h)
//   output   (B, T, H)   every hidden state
//
//   i = σ(x W_i + h U_i + b_i)   f = σ(... f ...)   o = σ(... o ...)
//   g = act(x W_g + h U_g + b_g)
//   c' = f * c + i * g,          h' = o * act(c')
// σ is the recurrent activation, act the activation (Keras: tanh for both
// the candidate g and the cell output).
#pragma once

#include <cstdint>

#include "activations.h"
#include "packed_weights.h"

namespace gatedrnn {

struct LstmShape {
  int batch = 0;      // B
  int steps = 0;      // T
  int inputSize = 0;  // I
  int units = 0;      // H
};

struct LstmOptions {
  Activation activation = Activation::Tanh;
  GateActivation recurrentActivation = GateActivation::Sigmoid;
};

struct LstmWeights {
  const float* kernel = nullptr;           // (I, 4H)
  const float* recurrentKernel = nullptr;  // (H, 4H)
  const float* bias = nullptr;             // (4H) or null
  const PackedCellWeights* packed = nullptr;  // nullable: packLstmWeights of these, made earlier
};

// kernel and recurrentKernel as lstmForward multiplies them.
PackedCellWeights packLstmWeights(int inputSize, int units, const LstmWeights& w, BlockUse use = BlockUse::Scratch);

// What backward needs from forward, filled only when training.
//   gates (B, T, 4H)  i | f | g | o after their activations
//   cells (B, T, H)   c_t for every step
struct LstmCache {
  float* gates = nullptr;
  float* cells = nullptr;
};

// Runs the whole sequence: output (B,T,H) gets every h_t, cLast (B,H) the
// last cell state. cache may be null (inference: nothing kept).
void lstmForward(const LstmShape& s, const LstmOptions& o, const LstmWeights& w, const float* x,
                 const float* h0, const float* c0, const uint8_t* mask, const float* rscale,
                 float* output, float* cLast, const LstmCache* cache);

struct LstmGrads {
  float* dx = nullptr;                // (B, T, I)
  float* dh0 = nullptr;               // (B, H)
  float* dc0 = nullptr;               // (B, H)
  float* dKernel = nullptr;           // (I, 4H)
  float* dRecurrentKernel = nullptr;  // (H, 4H)
  float* dBias = nullptr;             // (4H) or null
};

// BPTT for dL/doutput = dOutput (B,T,H), dL/dh_T = dhLast, dL/dc_T = dcLast
// (each nullable: zero). Reads the cache of a training forward with the same
// inputs, does not modify it; overwrites every gradient.
void lstmBackward(const LstmShape& s, const LstmOptions& o, const LstmWeights& w, const float* x,
                  const float* h0, const float* c0, const uint8_t* mask, const float* rscale,
                  const float* output, const LstmCache& cache,
                  const float* dOutput, const float* dhLast, const float* dcLast, const LstmGrads& g);

}  // namespace gatedrnn
