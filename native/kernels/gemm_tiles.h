// The register tiles of the packed product (packed_gemm.h), one set per
// instruction set (kernel_isa.h): a tile multiplies a few rows of A by one
// column panel of packed B, keeping every sum in a register for the whole
// depth, and hands the sums to its caller.
#pragma once

#include "kernel_isa.h"

namespace gatedrnn {

// The largest tile: rows x panel width.
constexpr int kMaxTileRows = 8;
constexpr int kMaxPanelWidth = 32;

// tile (R, NR) = A (R rows, row stride lda, k columns) @ panel (k, NR), the
// panel's k rows of NR floats contiguous.
using TileFn = void (*)(int k, const float* a, long lda, const float* panel, float* tile);

struct TileKernels {
  int rows;                         // the height of a full tile
  int panelWidth;                   // NR: the width of a panel
  TileFn byRows[kMaxTileRows + 1];  // byRows[r]: a tile of r rows, 1 <= r <= rows
};

// The tiles for kernelIsa().
const TileKernels& tileKernels();

}  // namespace gatedrnn
