// The one OpenBLAS wrapper. Everything in native/kernels multiplies matrices
// through sgemm() (or parallelSgemm, parallel_gemm.h, which splits one
// product into blocks and calls this) so that the BLAS call, its row-major
// convention and its argument order live in one place. OpenBLAS runs on one
// thread: the addon's own pool owns the cores (threadpool.h).
#pragma once

#include <cblas.h>

#include <cstddef>

namespace gatedrnn {

enum class Trans { No, Yes };

// C (m,n) = alpha * op(A) (m,k) @ op(B) (k,n) + beta * C
// All matrices are row-major with explicit leading dimensions, so a strided
// view (one timestep of a batch-major (B,T,F) tensor: ld = T*F) needs no copy.
inline void sgemm(Trans transA, Trans transB, int m, int n, int k, float alpha,
                  const float* a, int lda, const float* b, int ldb, float beta,
                  float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    // BLAS leaves C untouched for k == 0 only when beta == 1; make the
    // mathematically expected C = beta * C explicit.
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        float& cij = c[static_cast<size_t>(i) * ldc + j];
        cij = beta == 0.0f ? 0.0f : beta * cij;
      }
    return;
  }
  if (m == 1 || n == 1) {
    // One row (a single sequence) or one column: OpenBLAS's SGEMM runs these
    // several times slower than its GEMV on the same data. BLAS may read C
    // when beta is 0 (0 * NaN), so clear it first as GEMM would.
    if (beta == 0.0f)
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c[static_cast<size_t>(i) * ldc + j] = 0.0f;
    if (m == 1) {
      // c (n) = op(B)^T a, a read with the stride of its layout.
      const int incA = transA == Trans::Yes ? lda : 1;
      if (transB == Trans::No)
        cblas_sgemv(CblasRowMajor, CblasTrans, k, n, alpha, b, ldb, a, incA, beta, c, 1);
      else
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, alpha, b, ldb, a, incA, beta, c, 1);
    } else {
      // c (m, stride ldc) = op(A) b.
      const int incB = transB == Trans::No ? ldb : 1;
      if (transA == Trans::No)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, alpha, a, lda, b, incB, beta, c, ldc);
      else
        cblas_sgemv(CblasRowMajor, CblasTrans, k, m, alpha, a, lda, b, incB, beta, c, ldc);
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, transA == Trans::Yes ? CblasTrans : CblasNoTrans,
              transB == Trans::Yes ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
              lda, b, ldb, beta, c, ldc);
}

// BLAS threads. OpenBLAS reads OPENBLAS_NUM_THREADS / OPENBLAS_CORETYPE at
// load time; these only change the thread count afterwards.
void blasSetNumThreads(int n);
int blasGetNumThreads();
const char* blasConfig();  // e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell MAX_THREADS=64"
const char* blasCoreName();

}  // namespace gatedrnn
