// Helpers shared by the recurrent kernels' backward passes.
#pragma once

namespace gatedrnn {

// out (C) = sum over the R rows of m (R, C), accumulated in double so that
// long sequences do not lose the small terms.
void columnSums(const float* m, long rows, int cols, float* out);

// hPrev (B, T, H): the state each step started from, h0 at t = 0 and
// output[:, t-1] after; the left operand of dRecurrentKernel = hPrev^T dG.
void previousStates(int batch, int steps, int units, const float* h0, const float* output, float* hPrev);

}  // namespace gatedrnn
