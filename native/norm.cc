#include "common.h"

namespace clipts {

void RegisterNorm(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
