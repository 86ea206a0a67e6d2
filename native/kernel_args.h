// Argument helpers shared by gemm/elementwise/norm/attention/loss/optim.cc.
//
// Every exported function validates all of its arguments (types, sizes, lengths) before it touches
// any memory, so a bad call from JavaScript throws instead of crashing the process. These macros
// keep that validation to one line per argument; each returns `undefined` from the callback with
// the JavaScript exception pending.
#pragma once

#include <cmath>
#include <string>

#include "common.h"

namespace clipts {

// Sizes must be non-negative integers; the bound keeps every product of two or three sizes far
// from int64/size_t overflow.
inline bool GetSize(const Napi::CallbackInfo& info, size_t index, const char* name, size_t* out) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsNumber()) {
    ThrowType(env, std::string(name) + " must be a number");
    return false;
  }
  double d = info[index].As<Napi::Number>().DoubleValue();
  if (!(d >= 0) || d != std::floor(d) || d > 1099511627776.0) {
    ThrowRange(env, std::string(name) + " must be a non-negative integer, got " + std::to_string(d));
    return false;
  }
  *out = static_cast<size_t>(d);
  return true;
}

inline bool GetNumber(const Napi::CallbackInfo& info, size_t index, const char* name, double* out) {
  if (index >= info.Length() || !info[index].IsNumber()) {
    ThrowType(info.Env(), std::string(name) + " must be a number");
    return false;
  }
  *out = info[index].As<Napi::Number>().DoubleValue();
  return true;
}

}  // namespace clipts

#define CLIPTS_ARRAY(T, var, idx, name)        \
  auto var = ::clipts::GetArray<T>(info, idx, name); \
  if (!var.ok) return env.Undefined()
#define CLIPTS_OPT_ARRAY(T, var, idx, name)            \
  auto var = ::clipts::GetOptionalArray<T>(info, idx, name); \
  if (!var.ok) return env.Undefined()
#define CLIPTS_SIZE(var, idx)                                          \
  size_t var = 0;                                                      \
  if (!::clipts::GetSize(info, idx, #var, &var)) return env.Undefined()
#define CLIPTS_NUM(var, idx)                                            \
  double var = 0;                                                       \
  if (!::clipts::GetNumber(info, idx, #var, &var)) return env.Undefined()
#define CLIPTS_NEED(var, n, name) \
  if (!::clipts::CheckLength(env, var, (n), name)) return env.Undefined()
