#include "common.h"

namespace clipts {

void RegisterGemm(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
