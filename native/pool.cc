#include "common.h"

namespace clipts {

void RegisterPool(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
