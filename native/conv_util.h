// Helpers shared by conv.cc, pool.cc and batchnorm.cc: argument reading with the checks the API
// promises (TypeError for a non-number, RangeError for an impossible size), overflow-checked size
// products, and a float/double GEMM overload. Everything lives in `conv_detail` so that these
// inline functions cannot collide (ODR) with similarly named helpers of other source files.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "blas.h"
#include "common.h"

namespace clipts {
namespace conv_detail {

// Sizes are kept below 2^31 so that every GEMM dimension and leading dimension fits BLAS's int.
constexpr int64_t kMaxSize = (int64_t{1} << 31) - 1;

// Reads argument `index` as an integer in [lo, kMaxSize]. A non-number is a TypeError, a
// fractional, negative or too large value a RangeError; both name the argument.
inline bool GetSize(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t lo, int64_t* out) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsNumber()) {
    ThrowType(env, std::string(name) + " must be a number");
    return false;
  }
  double v = info[index].As<Napi::Number>().DoubleValue();
  if (!(v == std::floor(v)) || v < static_cast<double>(lo) || v > static_cast<double>(kMaxSize)) {
    ThrowRange(env, std::string(name) + " must be an integer >= " + std::to_string(lo) + ", got " +
                        Napi::Value(info[index]).ToString().Utf8Value());
    return false;
  }
  *out = static_cast<int64_t>(v);
  return true;
}

// True for a `null`/`undefined` (or missing) optional array argument. Presence is decided from the
// argument, not from the view's data pointer, which may be null for a zero-length typed array.
inline bool IsAbsent(const Napi::CallbackInfo& info, size_t index) {
  return index >= info.Length() || info[index].IsNull() || info[index].IsUndefined();
}

// Reads a finite float argument (eps, momentum).
inline bool GetFinite(const Napi::CallbackInfo& info, size_t index, const char* name, double* out) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsNumber()) {
    ThrowType(env, std::string(name) + " must be a number");
    return false;
  }
  double v = info[index].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v)) {
    ThrowRange(env, std::string(name) + " must be finite");
    return false;
  }
  *out = v;
  return true;
}

// a*b*c*d with overflow detection: element counts are compared with typed-array lengths, and a
// wrapped product would let a short array through. Anything beyond 2^53 cannot be a real array.
inline bool Product(Napi::Env env, const char* what, std::initializer_list<int64_t> factors, size_t* out) {
  constexpr uint64_t kLimit = uint64_t{1} << 53;
  uint64_t p = 1;
  for (int64_t f : factors) {
    uint64_t r;
    if (__builtin_mul_overflow(p, static_cast<uint64_t>(f), &r) || r > kLimit) {
      ThrowRange(env, std::string(what) + ": sizes too large");
      return false;
    }
    p = r;
  }
  *out = static_cast<size_t>(p);
  return true;
}

// Row-major GEMM for both element types: C = alpha·op(A)·op(B) + beta·C.
inline void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}
inline void Gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
                 const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

// Grain for ParallelFor over items of `work` elements each: about 16K elements per chunk, so that
// small tensors stay on the calling thread and big ones are split.
inline size_t GrainFor(size_t work) {
  constexpr size_t kTarget = 16384;
  if (work == 0) return kTarget;
  size_t g = kTarget / work;
  return g == 0 ? 1 : g;
}

}  // namespace conv_detail
}  // namespace clipts
