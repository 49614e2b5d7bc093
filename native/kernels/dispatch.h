// Runtime CPU dispatch for the gate math. The addon is compiled for the
// portable x86-64 baseline (a prebuilt binary must load on any x86-64 CPU);
// on GCC/Linux the hot elementwise loops are also compiled for x86-64-v3
// (AVX2 + FMA) and x86-64-v4 (AVX-512), and the loader (ifunc) picks the
// best clone for the CPU it runs on. Elsewhere the loops stay portable.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define GATEDRNN_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define GATEDRNN_GATE_DISPATCH "runtime (x86-64-v4 / x86-64-v3 / baseline)"
#else
#define GATEDRNN_VECTOR_CLONES
#define GATEDRNN_GATE_DISPATCH "portable"
#endif
