#include "common.h"

namespace clipts {

void RegisterLoss(Napi::Env env, Napi::Object exports) {}

}  // namespace clipts
