// Shared helpers for the clip-ts native compute core.
//
// Every kernel works on plain typed arrays handed over from JavaScript (no copies):
// Float32Array or Float64Array for values, Int32Array for indices, Uint16Array for bf16.
// Kernels are templated on the element type; `DispatchFloat` picks the instantiation from the
// JavaScript array type, so one exported function serves float32 and float64 tensors.
// Output arrays are always allocated by the caller (TypeScript), which keeps memory ownership in
// one place and keeps this interface implementable by another backend (CUDA) later.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "threadpool.h"

namespace clipts {

enum class DType { F32, F64 };

// Throws a JavaScript TypeError (with NAPI_DISABLE_CPP_EXCEPTIONS we set a pending exception and
// return; callers check env.IsExceptionPending() through the CLIPTS_CHECK macro).
inline void ThrowType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, "clip-ts native: " + msg).ThrowAsJavaScriptException();
}
inline void ThrowRange(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, "clip-ts native: " + msg).ThrowAsJavaScriptException();
}

// A borrowed view of a typed array argument.
template <typename T>
struct View {
  T* data = nullptr;
  size_t length = 0;
  bool ok = false;
};

inline const char* TypedArrayName(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_uint8_array: return "Uint8Array";
    default: return "another typed array";
  }
}

template <typename T> constexpr napi_typedarray_type TypedArrayTypeOf();
template <> constexpr napi_typedarray_type TypedArrayTypeOf<float>() { return napi_float32_array; }
template <> constexpr napi_typedarray_type TypedArrayTypeOf<double>() { return napi_float64_array; }
template <> constexpr napi_typedarray_type TypedArrayTypeOf<int32_t>() { return napi_int32_array; }
template <> constexpr napi_typedarray_type TypedArrayTypeOf<uint16_t>() { return napi_uint16_array; }
template <> constexpr napi_typedarray_type TypedArrayTypeOf<uint8_t>() { return napi_uint8_array; }

// Reads argument `index` as a typed array of element type T. `name` is used in error messages.
// Returns a view with ok=false (and a pending JS exception) on mismatch.
template <typename T>
View<T> GetArray(const Napi::CallbackInfo& info, size_t index, const char* name) {
  View<T> v;
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray()) {
    ThrowType(env, std::string(name) + " must be a typed array");
    return v;
  }
  Napi::TypedArray ta = info[index].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != TypedArrayTypeOf<T>()) {
    ThrowType(env, std::string(name) + " must be a " + TypedArrayName(TypedArrayTypeOf<T>()) + ", got " +
                       TypedArrayName(ta.TypedArrayType()));
    return v;
  }
  v.data = reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  v.length = ta.ElementLength();
  v.ok = true;
  return v;
}

// Like GetArray but `null`/`undefined` gives an empty view with ok=true and data=nullptr.
template <typename T>
View<T> GetOptionalArray(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || info[index].IsNull() || info[index].IsUndefined()) {
    View<T> v;
    v.ok = true;
    return v;
  }
  return GetArray<T>(info, index, name);
}

// The float type of argument `index` (Float32Array or Float64Array).
inline bool GetFloatType(const Napi::CallbackInfo& info, size_t index, const char* name, DType* out) {
  if (index < info.Length() && info[index].IsTypedArray()) {
    auto t = info[index].As<Napi::TypedArray>().TypedArrayType();
    if (t == napi_float32_array) { *out = DType::F32; return true; }
    if (t == napi_float64_array) { *out = DType::F64; return true; }
  }
  ThrowType(info.Env(), std::string(name) + " must be a Float32Array or Float64Array");
  return false;
}

inline int64_t GetInt(const Napi::CallbackInfo& info, size_t index) {
  return info[index].As<Napi::Number>().Int64Value();
}
inline double GetDouble(const Napi::CallbackInfo& info, size_t index) {
  return info[index].As<Napi::Number>().DoubleValue();
}
inline bool GetBool(const Napi::CallbackInfo& info, size_t index) {
  return info[index].ToBoolean().Value();
}

// Checks that a view holds at least `need` elements; sets a RangeError otherwise.
template <typename T>
bool CheckLength(Napi::Env env, const View<T>& v, size_t need, const char* name) {
  if (v.data == nullptr && need == 0) return true;
  if (v.length < need) {
    ThrowRange(env, std::string(name) + " has " + std::to_string(v.length) + " elements, needs " +
                        std::to_string(need));
    return false;
  }
  return true;
}

// Calls fn(T{}) with T = float or double, chosen by the type of argument `index`; write the
// kernel body as a generic lambda `[&](auto tag) { using T = decltype(tag); ... }`.
// Use for kernels whose every float argument shares one type.
template <typename Fn>
Napi::Value DispatchFloat(const Napi::CallbackInfo& info, size_t index, const char* name, Fn&& fn) {
  DType dt;
  if (!GetFloatType(info, index, name, &dt)) return info.Env().Undefined();
  if (dt == DType::F32) return fn(float{});
  return fn(double{});
}

// Registration hooks, one per source file (called from addon.cc).
void RegisterThreadpool(Napi::Env env, Napi::Object exports);
void RegisterGemm(Napi::Env env, Napi::Object exports);
void RegisterElementwise(Napi::Env env, Napi::Object exports);
void RegisterNorm(Napi::Env env, Napi::Object exports);
void RegisterAttention(Napi::Env env, Napi::Object exports);
void RegisterLoss(Napi::Env env, Napi::Object exports);
void RegisterOptim(Napi::Env env, Napi::Object exports);
void RegisterConv(Napi::Env env, Napi::Object exports);
void RegisterPool(Napi::Env env, Napi::Object exports);
void RegisterBatchNorm(Napi::Env env, Napi::Object exports);
void RegisterJpeg(Napi::Env env, Napi::Object exports);

}  // namespace clipts

// Returns undefined from the current N-API callback when an exception is pending.
#define CLIPTS_CHECK(env)                                 \
  do {                                                    \
    if ((env).IsExceptionPending()) return (env).Undefined(); \
  } while (0)
