// A cell's weights in the layout of its forward products (packed_gemm.h).
//
// A forward packs its kernels itself unless it is handed a set packed
// earlier: the addon packs a weights handle's set once, at the first
// inference forward, and every later inference call with that handle reuses
// it instead of copying the kernels again (at batch 1, D1 on one thread, a
// forward took 4.9 ms packing per call and 3.3 ms with the set kept).
// Training forwards pack their own: the weights change after every batch.
#pragma once

#include "packed_gemm.h"

namespace gatedrnn {

struct PackedCellWeights {
  PackedMatrix kernel;     // W (I, gates * H)
  PackedMatrix recurrent;  // U (H, gates * H); a GRU without resetAfter: its z|r columns (H, 2H)
  PackedMatrix candidate;  // a GRU without resetAfter: U_h (H, H); else empty
};

}  // namespace gatedrnn
