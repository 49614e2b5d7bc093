// Helpers shared by the recurrent kernels' backward passes.
#pragma once

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

}  // namespace gatedrnn
