#include "common.h"

namespace clipts {

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
