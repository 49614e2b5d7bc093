#include "packed_gemm.h"

#include <algorithm>
#include <memory>

#include "gemm_tiles.h"
#include "parallel_gemm.h"
#include "threadpool.h"

namespace gatedrnn {

namespace {

// Below this many multiply-adds a second thread costs more than it saves
// (the same bound as parallelSgemm's).
constexpr double kMinSplitWork = 1 << 19;
// Packing is a copy: worth a second thread only for large matrices.
constexpr double kMinSplitCopy = 1 << 18;
// Rows of A per block of multiplyPanels, by size.
constexpr size_t kBlockBytes = 2 << 20;
// Products with more rows and a deeper k than these go to OpenBLAS, whose
// blocking of k keeps its operands in L1 and L2; the panels here are whole
// columns of B, which no longer fit there. (Measured: 6400 x 1024 x 3072 ran
// at 100-135 GFLOP/s here against OpenBLAS's 165; 400 x 1024 x 3072 and
// 12800 x 512 x 1536 ran faster here.)
constexpr int kDeepRows = 1024, kDeepK = 512;

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

PackedMatrix::PackedMatrix(Trans trans, int k, int n, const float* b, int ldb, BlockUse use)
    : k_(k), n_(n), nr_(tileKernels().panelWidth), trans_(trans), source_(b), ldb_(ldb) {
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
