// The one place that includes the platform's CBLAS header.
#pragma once

#ifdef CLIP_TS_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

namespace clipts {

// Sets the BLAS library's own thread count (OpenBLAS; a no-op on Accelerate).
inline void BlasSetThreads(int n) {
#ifdef CLIP_TS_ACCELERATE
  (void)n;
#else
  openblas_set_num_threads(n);
#endif
}

}  // namespace clipts
