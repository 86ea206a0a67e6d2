#include "common.h"

namespace clipts {

void RegisterAttention(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
