// A small persistent thread pool for the kernels BLAS does not cover.
//
// parallel_for splits [0, n) into contiguous chunks and runs them on the pool's threads plus the
// calling thread. Calls are not re-entrant: a kernel running inside parallel_for must not call
// parallel_for or a multithreaded BLAS routine (use the *_serial helpers instead). Because clip-ts
// runs one kernel at a time, BLAS threads and pool threads never run together, so setting both
// to the core count does not oversubscribe the machine.
#pragma once

#include <cstddef>
#include <functional>

namespace clipts {

// Number of threads used by parallel_for and by BLAS (default: CLIP_TS_THREADS or the core count).
int GetNumThreads();
void SetNumThreads(int n);

// Runs fn(begin, end) over chunks of [0, n). `grain` is the smallest chunk worth a thread: with
// n < 2 * grain everything runs on the calling thread.
void ParallelFor(size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn);

// Sets BLAS to one thread while alive (for BLAS calls made inside ParallelFor bodies), and
// restores the previous count afterwards. Constructed on the calling thread, outside ParallelFor.
class BlasSerialScope {
 public:
  BlasSerialScope();
  ~BlasSerialScope();
 private:
  int previous_;
};

}  // namespace clipts
