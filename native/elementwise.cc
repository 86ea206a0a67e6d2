#include "common.h"

namespace clipts {

void RegisterElementwise(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
