// Entry point of the clip-ts native compute core: each source file registers its kernels.
#include "common.h"

#include <cstdlib>
#include <cstring>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace {

// Tensors are large, short-lived typed arrays. By default glibc serves every allocation above its
// mmap threshold with fresh pages from the kernel and unmaps them on free, so each new activation
// pays a page fault per 4 KiB on first touch (measured: hundreds of ms for one [3200, 3072]
// float32 array on a virtual machine). Serving them from the heap and keeping freed memory there
// lets the next tensor reuse already-mapped pages. CLIP_TS_MALLOC_TUNE=0 leaves malloc alone.
void TuneAllocator() {
#if defined(__GLIBC__)
  const char* env = std::getenv("CLIP_TS_MALLOC_TUNE");
  if (env != nullptr && std::strcmp(env, "0") == 0) return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static bool tuned = false;
  if (!tuned) {
    tuned = true;
    TuneAllocator();
  }
  clipts::RegisterThreadpool(env, exports);
  clipts::RegisterGemm(env, exports);
  clipts::RegisterElementwise(env, exports);
  clipts::RegisterNorm(env, exports);
  clipts::RegisterAttention(env, exports);
  clipts::RegisterLoss(env, exports);
  clipts::RegisterOptim(env, exports);
  clipts::RegisterConv(env, exports);
  clipts::RegisterPool(env, exports);
  clipts::RegisterBatchNorm(env, exports);
  clipts::RegisterJpeg(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(clip_ts_native, Init)
