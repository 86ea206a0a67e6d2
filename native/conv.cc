#include "common.h"

namespace clipts {

void RegisterConv(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
