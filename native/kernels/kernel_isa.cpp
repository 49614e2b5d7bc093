#include "kernel_isa.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>

namespace gatedrnn {

namespace {

std::string lowerCase(const char* s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

KernelIsa cpuIsa() {
#if defined(__x86_64__) && defined(__GNUC__)
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

}  // namespace gatedrnn
