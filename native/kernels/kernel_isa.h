// Which vector instructions gatedrnn's own kernels (gemm_tiles.h) use,
// chosen once per process: AVX-512, AVX2 + FMA, or portable C++ the compiler
// vectorises. It follows the CPU, capped by OPENBLAS_CORETYPE when the user
// has set it (OPENBLAS_CORETYPE=Haswell keeps these kernels on AVX2, as it
// keeps OpenBLAS's), or by GATEDRNN_KERNEL_ISA (avx512 | avx2 | generic).
#pragma once

namespace gatedrnn {

enum class KernelIsa { Generic = 0, Avx2 = 1, Avx512 = 2 };

// The instruction set of the kernels, chosen at first use.
KernelIsa kernelIsa();
const char* kernelIsaName(KernelIsa isa);

}  // namespace gatedrnn
