#include "packed_gemm.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "parallel_gemm.h"
#include "threadpool.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define GATEDRNN_X86_TILES 1
#endif

namespace gatedrnn {

namespace {

// Below this many multiply-adds a second thread costs more than it saves
// (the same bound as parallelSgemm's).
constexpr double kMinSplitWork = 1 << 19;
// Packing is a copy: worth a second thread only for large matrices.
constexpr double kMinSplitCopy = 1 << 18;
// The largest register tile: rows x panel width.
constexpr int kMaxTileRows = 6;
constexpr int kMaxPanelWidth = 32;
// Rows of A per block of multiplyPanels, by size.
constexpr size_t kBlockBytes = 2 << 20;
// Products with more rows and a deeper k than these go to OpenBLAS, whose
// blocking of k keeps its operands in L1 and L2; the panels here are whole
// columns of B, which no longer fit there. (Measured: 6400 x 1024 x 3072 ran
// at 100-135 GFLOP/s here against OpenBLAS's 165; 400 x 1024 x 3072 and
// 12800 x 512 x 1536 ran faster here.)
constexpr int kDeepRows = 1024, kDeepK = 512;

std::string lowerCase(const char* s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

KernelIsa cpuIsa() {
#ifdef GATEDRNN_X86_TILES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return KernelIsa::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return KernelIsa::Avx2;
#endif
  return KernelIsa::Generic;
}

// The widest ISA a user's OPENBLAS_CORETYPE allows: a user who pins OpenBLAS
// to Haswell kernels (to keep AVX-512's clock penalty off a shared server,
// or to compare like with like) gets AVX2 here too. Names OpenBLAS would not
// recognise cap nothing.
KernelIsa coreTypeCap(const char* coreType) {
  if (!coreType || !*coreType) return KernelIsa::Avx512;
  const std::string name = lowerCase(coreType);
  if (name == "skylakex" || name == "cooperlake" || name == "sapphirerapids") return KernelIsa::Avx512;
  if (name == "haswell" || name == "zen" || name == "excavator") return KernelIsa::Avx2;
  static const char* const older[] = {"katmai",    "coppermine", "northwood",  "prescott",   "banias",
                                      "atom",      "core2",      "penryn",     "dunnington", "nehalem",
                                      "sandybridge", "opteron",  "opteron_sse3", "barcelona", "bobcat",
                                      "bulldozer", "piledriver", "steamroller"};
  for (const char* o : older)
    if (name == o) return KernelIsa::Generic;
  return KernelIsa::Avx512;
}

KernelIsa chooseIsa() {
  const KernelIsa cpu = cpuIsa();
  KernelIsa cap = coreTypeCap(std::getenv("OPENBLAS_CORETYPE"));
  if (const char* asked = std::getenv("GATEDRNN_KERNEL_ISA")) {
    const std::string name = lowerCase(asked);
    if (name == "avx512") cap = KernelIsa::Avx512;
    else if (name == "avx2") cap = KernelIsa::Avx2;
    else if (name == "generic") cap = KernelIsa::Generic;
  }
  return std::min(cpu, cap);
}

int panelWidthFor(KernelIsa isa) { return isa == KernelIsa::Avx512 ? 32 : 16; }

// One register tile: tile (R, NR) = A (R rows, stride lda, k columns) @
// panel (k, NR). The R x NR sums stay in registers for the whole of k; the
// caller adds the tile into C.
using TileFn = void (*)(int k, const float* a, long lda, const float* panel, float* tile);

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

// AVX-512: 6 rows x 32 columns, 12 of the 32 zmm registers; enough
// independent sums to keep both FMA pipes busy through their latency.
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

struct TileKernels {
  int rows;                        // the tile height for full row blocks
  TileFn byRows[kMaxTileRows + 1];  // byRows[r]: a tile of r rows
};

TileKernels tileKernelsFor(KernelIsa isa) {
#ifdef GATEDRNN_X86_TILES
  if (isa == KernelIsa::Avx512)
    return {6, {nullptr, rowAvx512, tileAvx512<2>, tileAvx512<3>, tileAvx512<4>, tileAvx512<5>, tileAvx512<6>}};
  if (isa == KernelIsa::Avx2)
    return {6, {nullptr, rowAvx2, tileAvx2<2>, tileAvx2<3>, tileAvx2<4>, tileAvx2<5>, tileAvx2<6>}};
#endif
  return {4, {nullptr, tileGeneric<1>, tileGeneric<2>, tileGeneric<3>, tileGeneric<4>, nullptr, nullptr}};
}

const TileKernels& tileKernels() {
  static const TileKernels kernels = tileKernelsFor(kernelIsa());
  return kernels;
}

// C (rows, width) = tile + beta * C, tile row stride nr. beta is 0 or 1;
// with 0, C is never read (it may hold NaN from a previous use).
void addTile(int rows, int width, int nr, const float* tile, float beta, float* c, long ldc) {
  for (int r = 0; r < rows; r++) {
    const float* __restrict t = tile + r * nr;
    float* __restrict cr = c + r * ldc;
    if (beta == 0.0f)
      for (int j = 0; j < width; j++) cr[j] = t[j];
    else
      for (int j = 0; j < width; j++) cr[j] += t[j];
  }
}

// Panels [p0, p1) of C, a block of rows at a time: a block of A (up to
// kBlockBytes, well inside any L3) is read from memory once while the
// panels stream past it, and each panel is read from memory once per block
// and then from cache by every tile of rows in it. Each panel is one
// contiguous stream, which the hardware prefetcher follows.
void multiplyPanels(int m, const float* a, int lda, const PackedMatrix& b, float beta, float* c, int ldc,
                    int p0, int p1) {
  const TileKernels& kernels = tileKernels();
  const int nr = b.panelWidth(), n = b.cols(), k = b.rows();
  const int blockRows =
      std::max(kernels.rows, static_cast<int>(kBlockBytes / (sizeof(float) * k)) / kernels.rows * kernels.rows);
  alignas(64) float tile[kMaxTileRows * kMaxPanelWidth];
  for (int i0 = 0; i0 < m; i0 += blockRows) {
    const int i1 = std::min(m, i0 + blockRows);
    for (int p = p0; p < p1; p++) {
      const int j0 = p * nr;
      const int width = std::min(nr, n - j0);
      for (int i = i0; i < i1; i += kernels.rows) {
        const int rows = std::min(kernels.rows, i1 - i);
        kernels.byRows[rows](k, a + static_cast<long>(i) * lda, lda, b.panel(p), tile);
        addTile(rows, width, nr, tile, beta, c + static_cast<long>(i) * ldc + j0, ldc);
      }
    }
  }
}

}  // namespace

KernelIsa kernelIsa() {
  static const KernelIsa isa = chooseIsa();
  return isa;
}

const char* kernelIsaName(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::Avx512: return "avx512";
    case KernelIsa::Avx2: return "avx2";
    default: return "generic";
  }
}

PackedMatrix::PackedMatrix(Trans trans, int k, int n, const float* b, int ldb, BlockUse use)
    : k_(k), n_(n), nr_(panelWidthFor(kernelIsa())), trans_(trans), source_(b), ldb_(ldb) {
  if (k <= 0 || n <= 0) return;
  data_ = FloatBuffer(static_cast<size_t>(panels()) * k * nr_, use);
  auto pack = [&](int p0, int p1) {
    for (int p = p0; p < p1; p++) {
      float* dst = data_.data() + static_cast<size_t>(p) * k * nr_;
      const int j0 = p * nr_;
      const int width = std::min(nr_, n - j0);
      if (trans == Trans::No) {
        for (int kk = 0; kk < k; kk++) {
          const float* src = b + static_cast<long>(kk) * ldb + j0;
          std::copy(src, src + width, dst + static_cast<long>(kk) * nr_);
          std::fill(dst + static_cast<long>(kk) * nr_ + width, dst + static_cast<long>(kk + 1) * nr_, 0.0f);
        }
      } else {
        // op(B)(kk, j) = B(j, kk): column j of the panel is row j of B.
        for (int kk = 0; kk < k; kk++)
          std::fill(dst + static_cast<long>(kk) * nr_ + width, dst + static_cast<long>(kk + 1) * nr_, 0.0f);
        for (int jj = 0; jj < width; jj++) {
          const float* src = b + static_cast<long>(j0 + jj) * ldb;
          for (int kk = 0; kk < k; kk++) dst[static_cast<long>(kk) * nr_ + jj] = src[kk];
        }
      }
    }
  };
  // A large kernel (12 MB at H = 1024) takes a millisecond to copy: split it.
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  if (pool->size() > 1 && panels() > 1 && static_cast<double>(k) * n >= kMinSplitCopy)
    pool->parallelFor(panels(), pack);
  else
    pack(0, panels());
}

void packedGemm(int m, const float* a, int lda, const PackedMatrix& b, float beta, float* c, int ldc) {
  const int n = b.cols(), k = b.rows();
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        float& cij = c[static_cast<long>(i) * ldc + j];
        cij = beta == 0.0f ? 0.0f : cij;
      }
    return;
  }
  if (m > kDeepRows && k > kDeepK) {
    parallelSgemm(Trans::No, b.trans(), m, n, k, 1.0f, a, lda, b.source(), b.sourceStride(), beta, c, ldc);
    return;
  }
  const int panels = b.panels();
  const double work = static_cast<double>(m) * n * k;
  std::shared_ptr<ThreadPool> pool = acquireGatePool();
  if (pool->size() == 1 || panels < 2 || work < kMinSplitWork) {
    multiplyPanels(m, a, lda, b, beta, c, ldc, 0, panels);
    return;
  }
  pool->parallelFor(panels, [&](int p0, int p1) { multiplyPanels(m, a, lda, b, beta, c, ldc, p0, p1); });
}

}  // namespace gatedrnn
