// Entry point of the clip-ts native compute core: each source file registers its kernels.
#include "common.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
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
  return exports;
}
}  // namespace

NODE_API_MODULE(clip_ts_native, Init)
