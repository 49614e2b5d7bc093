#include "gemm_tiles.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GATEDRNN_X86_TILES 1
#endif

namespace gatedrnn {

namespace {

// Portable: the compiler vectorises the j loop for whatever the baseline
// target has (SSE2 on x86-64, NEON on arm64).
template <int R>
void tileGeneric(int k, const float* a, long lda, const float* panel, float* tile) {
  constexpr int NR = 16;
  float acc[R][NR] = {};
  for (int p = 0; p < k; p++) {
    const float* b = panel + static_cast<long>(p) * NR;
    for (int r = 0; r < R; r++) {
      const float ar = a[r * lda + p];
      for (int j = 0; j < NR; j++) acc[r][j] += ar * b[j];
    }
  }
  for (int r = 0; r < R; r++)
    for (int j = 0; j < NR; j++) tile[r * NR + j] = acc[r][j];
}

#ifdef GATEDRNN_X86_TILES
// AVX2 + FMA: 6 rows x 16 columns is 12 accumulators, plus two panel loads
// and one broadcast: 15 of the 16 ymm registers.
template <int R>
__attribute__((target("avx2,fma"))) void tileAvx2(int k, const float* a, long lda, const float* panel,
                                                  float* tile) {
  __m256 lo[R], hi[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    lo[r] = _mm256_setzero_ps();
    hi[r] = _mm256_setzero_ps();
  }
  for (int p = 0; p < k; p++) {
    const __m256 b0 = _mm256_loadu_ps(panel + static_cast<long>(p) * 16);
    const __m256 b1 = _mm256_loadu_ps(panel + static_cast<long>(p) * 16 + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m256 ar = _mm256_broadcast_ss(a + r * lda + p);
      lo[r] = _mm256_fmadd_ps(ar, b0, lo[r]);
      hi[r] = _mm256_fmadd_ps(ar, b1, hi[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    _mm256_storeu_ps(tile + r * 16, lo[r]);
    _mm256_storeu_ps(tile + r * 16 + 8, hi[r]);
  }
}

// One row (a batch of one sequence): a single row has only two sums, and
// each FMA would wait for the previous one's result, so four steps of k are
// summed apart and added at the end.
__attribute__((target("avx2,fma"))) void rowAvx2(int k, const float* a, long lda, const float* panel,
                                                 float* tile) {
  __m256 lo[4], hi[4];
#pragma GCC unroll 4
  for (int u = 0; u < 4; u++) {
    lo[u] = _mm256_setzero_ps();
    hi[u] = _mm256_setzero_ps();
  }
  int p = 0;
  for (; p + 4 <= k; p += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++) {
      const __m256 ar = _mm256_broadcast_ss(a + p + u);
      lo[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(panel + static_cast<long>(p + u) * 16), lo[u]);
      hi[u] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(panel + static_cast<long>(p + u) * 16 + 8), hi[u]);
    }
  }
  for (; p < k; p++) {
    const __m256 ar = _mm256_broadcast_ss(a + p);
    lo[0] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(panel + static_cast<long>(p) * 16), lo[0]);
    hi[0] = _mm256_fmadd_ps(ar, _mm256_loadu_ps(panel + static_cast<long>(p) * 16 + 8), hi[0]);
  }
  _mm256_storeu_ps(tile, _mm256_add_ps(_mm256_add_ps(lo[0], lo[1]), _mm256_add_ps(lo[2], lo[3])));
  _mm256_storeu_ps(tile + 8, _mm256_add_ps(_mm256_add_ps(hi[0], hi[1]), _mm256_add_ps(hi[2], hi[3])));
}

// AVX-512: 8 rows x 32 columns, 16 of the 32 zmm registers: 16 FMAs for
// every two panel loads, and enough independent sums to keep both FMA pipes
// busy through their latency. (6 rows ran the batch-16 step at 159-178
// GFLOP/s, 8 rows at 206-210; a batch of 16 is two full tiles.)
template <int R>
__attribute__((target("avx512f"))) void tileAvx512(int k, const float* a, long lda, const float* panel,
                                                   float* tile) {
  __m512 lo[R], hi[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    lo[r] = _mm512_setzero_ps();
    hi[r] = _mm512_setzero_ps();
  }
  for (int p = 0; p < k; p++) {
    const __m512 b0 = _mm512_loadu_ps(panel + static_cast<long>(p) * 32);
    const __m512 b1 = _mm512_loadu_ps(panel + static_cast<long>(p) * 32 + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const __m512 ar = _mm512_set1_ps(a[r * lda + p]);
      lo[r] = _mm512_fmadd_ps(ar, b0, lo[r]);
      hi[r] = _mm512_fmadd_ps(ar, b1, hi[r]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++) {
    _mm512_storeu_ps(tile + r * 32, lo[r]);
    _mm512_storeu_ps(tile + r * 32 + 16, hi[r]);
  }
}

// One row, as rowAvx2.
__attribute__((target("avx512f"))) void rowAvx512(int k, const float* a, long lda, const float* panel,
                                                   float* tile) {
  __m512 lo[4], hi[4];
#pragma GCC unroll 4
  for (int u = 0; u < 4; u++) {
    lo[u] = _mm512_setzero_ps();
    hi[u] = _mm512_setzero_ps();
  }
  int p = 0;
  for (; p + 4 <= k; p += 4) {
#pragma GCC unroll 4
    for (int u = 0; u < 4; u++) {
      const __m512 ar = _mm512_set1_ps(a[p + u]);
      lo[u] = _mm512_fmadd_ps(ar, _mm512_loadu_ps(panel + static_cast<long>(p + u) * 32), lo[u]);
      hi[u] = _mm512_fmadd_ps(ar, _mm512_loadu_ps(panel + static_cast<long>(p + u) * 32 + 16), hi[u]);
    }
  }
  for (; p < k; p++) {
    const __m512 ar = _mm512_set1_ps(a[p]);
    lo[0] = _mm512_fmadd_ps(ar, _mm512_loadu_ps(panel + static_cast<long>(p) * 32), lo[0]);
    hi[0] = _mm512_fmadd_ps(ar, _mm512_loadu_ps(panel + static_cast<long>(p) * 32 + 16), hi[0]);
  }
  _mm512_storeu_ps(tile, _mm512_add_ps(_mm512_add_ps(lo[0], lo[1]), _mm512_add_ps(lo[2], lo[3])));
  _mm512_storeu_ps(tile + 16, _mm512_add_ps(_mm512_add_ps(hi[0], hi[1]), _mm512_add_ps(hi[2], hi[3])));
}
#endif

TileKernels tileKernelsFor(KernelIsa isa) {
#ifdef GATEDRNN_X86_TILES
  if (isa == KernelIsa::Avx512)
    return {8, 32, {nullptr, rowAvx512, tileAvx512<2>, tileAvx512<3>, tileAvx512<4>, tileAvx512<5>, tileAvx512<6>,
                    tileAvx512<7>, tileAvx512<8>}};
  if (isa == KernelIsa::Avx2)
    return {6, 16, {nullptr, rowAvx2, tileAvx2<2>, tileAvx2<3>, tileAvx2<4>, tileAvx2<5>, tileAvx2<6>, nullptr, nullptr}};
#endif
  return {4, 16, {nullptr, tileGeneric<1>, tileGeneric<2>, tileGeneric<3>, tileGeneric<4>, nullptr, nullptr, nullptr, nullptr}};
}

}  // namespace

const TileKernels& tileKernels() {
  static const TileKernels kernels = tileKernelsFor(kernelIsa());
  return kernels;
}

}  // namespace gatedrnn
