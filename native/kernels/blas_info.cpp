// Thread control and identification of the BLAS we were linked against.
#include "gemm.h"

namespace gatedrnn {

void blasSetNumThreads(int n) { openblas_set_num_threads(n); }
int blasGetNumThreads() { return openblas_get_num_threads(); }
const char* blasConfig() { return openblas_get_config(); }
const char* blasCoreName() { return openblas_get_corename(); }

}  // namespace gatedrnn
