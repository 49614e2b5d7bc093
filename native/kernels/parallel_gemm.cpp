#include "parallel_gemm.h"

#include <cstddef>
#include <memory>

#include "threadpool.h"

namespace gatedrnn {

namespace {

// Below this many multiply-adds a second thread costs more than it saves.
constexpr double kMinSplitWork = 1 << 19;
// Column blocks are whole cache lines of C (16 floats), so two threads never
// write the same line and each block keeps the kernel's full vector width.
constexpr int kColumnAlign = 16;

// Part p of P of [0, n) in units of `align`.
void blockOf(int n, int parts, int p, int align, int* begin, int* end) {
  const int units = (n + align - 1) / align;
  const int base = units / parts, extra = units % parts;
  const int u0 = p * base + (p < extra ? p : extra);
  const int u1 = u0 + base + (p < extra ? 1 : 0);
  *begin = u0 * align < n ? u0 * align : n;
  *end = u1 * align < n ? u1 * align : n;
}

}  // namespace

void parallelSgemm(Trans transA, Trans transB, int m, int n, int k, float alpha,
                   const float* a, int lda, const float* b, int ldb, float beta,
                   float* c, int ldc) {
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  const int threads = pool->size();
  const double work = static_cast<double>(m) * n * (k > 0 ? k : 1);
  if (threads == 1 || m <= 0 || n <= 0 || work < kMinSplitWork) {
    sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (m >= n) {
    // Rows of C: rows of op(A).
    pool->parallelFor(threads, [&](int p0, int p1) {
      for (int p = p0; p < p1; p++) {
        int i0, i1;
        blockOf(m, threads, p, 1, &i0, &i1);
        if (i0 >= i1) continue;
        const float* aBlock = transA == Trans::No ? a + static_cast<size_t>(i0) * lda : a + i0;
        sgemm(transA, transB, i1 - i0, n, k, alpha, aBlock, lda, b, ldb, beta,
              c + static_cast<size_t>(i0) * ldc, ldc);
      }
    });
  } else {
    // Columns of C: columns of op(B).
    pool->parallelFor(threads, [&](int p0, int p1) {
      for (int p = p0; p < p1; p++) {
        int j0, j1;
        blockOf(n, threads, p, kColumnAlign, &j0, &j1);
        if (j0 >= j1) continue;
        const float* bBlock = transB == Trans::No ? b + j0 : b + static_cast<size_t>(j0) * ldb;
        sgemm(transA, transB, m, j1 - j0, k, alpha, a, lda, bBlock, ldb, beta, c + j0, ldc);
      }
    });
  }
}

}  // namespace gatedrnn
