#include "common.h"

namespace clipts {

void RegisterOptim(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
