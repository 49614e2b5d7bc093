// Helpers shared by the recurrent kernels' forward and backward passes.
#pragma once

#include "packed_gemm.h"

namespace gatedrnn {

// out (C) = sum over the R rows of m (R, C), accumulated in double so that
// long sequences do not lose the small terms.
void columnSums(const float* m, long rows, int cols, float* out);

// hPrev (B, T, H): the state each step started from, h0 at t = 0 and
// output[:, t-1] after; the left operand of dRecurrentKernel = hPrev^T dG.
void previousStates(int batch, int steps, int units, const float* h0, const float* output, float* hPrev);

// Recurrent dropout: h_{t-1} (B, H, row stride ldh) times the per-sequence
// scale (B, H) into out (B, H); returns out, or h itself when scale is null.
const float* scaleState(const float* h, int ldh, const float* scale, int batch, int units, float* out);

// dh (B, H) += grad (B, H) * scale (B, H): the recurrent path's gradient
// back through the dropout mask.
void addScaled(float* dh, const float* grad, const float* scale, long n);

// Every step's row of hPrev (B, T, H) times its sequence's scale (B, H).
void scaleStates(float* hPrev, const float* scale, int batch, int steps, int units);

// Inference projects the inputs a chunk of timesteps at a time instead of
// all at once (training keeps every step's projection: it is the cache):
// no (B, T, n) buffer, and a chunk is still in cache when its steps read it.
// Timesteps per chunk for a projection of width n (3H, 4H): about 2 MiB, and
// at least 256 GEMM rows when the sequence allows (GEMM efficiency).
int projectionChunk(int batch, int steps, int width);

// xp (B, tc, n) = x[:, t0 : t0+tc] @ kernel (I, n) of x (B, T, I); row
// (b, t) lands at xp + (b * tc + t - t0) * n. The kernel is packed once per
// call (packed_gemm.h), not once per chunk. xBuf (B * tc * I) gathers the
// rows when tc < T.
void projectChunk(const float* x, int batch, int steps, int inputSize, int t0, int tc,
                  const PackedMatrix& kernel, float* xBuf, float* xp);

}  // namespace gatedrnn
