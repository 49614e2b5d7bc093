// SimpleRNN (Elman) over whole sequences: forward and backward.
//
// Layout (Keras's; PyTorch's nn.RNN maps onto it with kernel = weight_ih^T,
// recurrentKernel = weight_hh^T, bias = bias_ih + bias_hh):
//   x        (B, T, I),  h0 (B, H)
//   kernel   (I, H),  rkernel (H, H),  bias (H) nullable
//   mask     (B, T) nullable, rscale (B, H) nullable: as in gru.h
//   output   (B, T, H)
//
//   h' = act(x W + h U + b)
#pragma once

#include <cstdint>

#include "activations.h"
#include "packed_weights.h"

namespace gatedrnn {

struct RnnShape {
  int batch = 0;      // B
  int steps = 0;      // T
  int inputSize = 0;  // I
  int units = 0;      // H
};

struct RnnWeights {
  const float* kernel = nullptr;           // (I, H)
  const float* recurrentKernel = nullptr;  // (H, H)
  const float* bias = nullptr;             // (H) or null
  const PackedCellWeights* packed = nullptr;  // nullable: packRnnWeights of these, made earlier
};

// kernel and recurrentKernel as simpleRnnForward multiplies them.
PackedCellWeights packRnnWeights(int inputSize, int units, const RnnWeights& w, BlockUse use = BlockUse::Scratch);

// output receives every state; backward needs nothing else from forward.
void simpleRnnForward(const RnnShape& s, Activation act, const RnnWeights& w, const float* x,
                      const float* h0, const uint8_t* mask, const float* rscale, float* output);

struct RnnGrads {
  float* dx = nullptr;                // (B, T, I)
  float* dh0 = nullptr;               // (B, H)
  float* dKernel = nullptr;           // (I, H)
  float* dRecurrentKernel = nullptr;  // (H, H)
  float* dBias = nullptr;             // (H) or null
};

// BPTT for dL/doutput = dOutput (B,T,H) and dL/dh_T = dLast (B,H), each
// nullable; overwrites every gradient.
void simpleRnnBackward(const RnnShape& s, Activation act, const RnnWeights& w, const float* x,
                       const float* h0, const uint8_t* mask, const float* rscale, const float* output,
                       const float* dOutput, const float* dLast, const RnnGrads& g);

}  // namespace gatedrnn
