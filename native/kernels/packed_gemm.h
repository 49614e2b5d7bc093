// The per-timestep product of a recurrent layer, h (B, H) @ U (H, nH), with
// U packed once per call instead of once per step.
//
// OpenBLAS's SGEMM copies ("packs") both operands into its own blocked
// layout on every call. A recurrent kernel calls it T times with the same
// U, so the copy of U is redone at every step; at small batch (B = 16,
// H = 1024: a 12 MB U against 16 rows of h) the copy costs about as much
// as the arithmetic. Here U is packed into column panels once, and each step
// streams the panels through a register-tiled kernel that reads h in place.
// The tiles' vector width is chosen once per process (kernel_isa.h).
#pragma once

#include "buffer.h"
#include "gemm.h"
#include "kernel_isa.h"

namespace gatedrnn {

// op(B) (k, n) in column panels: panel p holds columns [p*nr, p*nr + nr) as
// k rows of nr contiguous floats; the last panel is zero-padded. nr is the
// kernel's register tile width (32 for AVX-512, 16 otherwise).
class PackedMatrix {
 public:
  PackedMatrix() = default;
  // op(B) (k, n): B itself when trans is No (row stride ldb), else B^T,
  // which packs a transposed view without a separate transpose pass.
  // use: Held for a matrix kept beyond the call (packed_weights.h).
  PackedMatrix(Trans trans, int k, int n, const float* b, int ldb, BlockUse use = BlockUse::Scratch);

  int rows() const { return k_; }
  int cols() const { return n_; }
  int panelWidth() const { return nr_; }
  int panels() const { return n_ == 0 ? 0 : (n_ + nr_ - 1) / nr_; }
  const float* panel(int p) const { return data_.data() + static_cast<size_t>(p) * k_ * nr_; }
  // The matrix it was packed from, which must outlive it: packedGemm hands
  // long, deep products to OpenBLAS instead.
  Trans trans() const { return trans_; }
  const float* source() const { return source_; }
  int sourceStride() const { return ldb_; }

 private:
  int k_ = 0, n_ = 0, nr_ = 16;
  Trans trans_ = Trans::No;
  const float* source_ = nullptr;
  int ldb_ = 0;
  FloatBuffer data_;
};

// C (m, n) = A (m, k) @ B + beta * C, with beta 0 (C is not read) or 1.
// A is row-major with row stride lda and is read in place. Split over the
// addon's thread pool by panels when the product is big enough; a product
// with many rows and a deep k (a training step's input projection at
// I > 512) goes to OpenBLAS (parallelSgemm) on B's source instead.
void packedGemm(int m, const float* a, int lda, const PackedMatrix& b, float beta, float* c,
                int ldc);

}  // namespace gatedrnn
