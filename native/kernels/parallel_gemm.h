// One SGEMM split over the addon's thread pool: each thread multiplies a
// block of C's rows or columns through the single-threaded sgemm(). This is
// how the kernels use more than one core for their matrix products.
#pragma once

#include "gemm.h"

namespace gatedrnn {

// C (m,n) = alpha * op(A) (m,k) @ op(B) (k,n) + beta * C, as sgemm(), split
// along the longer of C's two sides. Small products run on the calling
// thread.
void parallelSgemm(Trans transA, Trans transB, int m, int n, int k, float alpha,
                   const float* a, int lda, const float* b, int ldb, float beta,
                   float* c, int ldc);

}  // namespace gatedrnn
