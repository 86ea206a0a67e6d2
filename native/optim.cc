// AdamW step and the squared norm used for gradient clipping (API.md, "Optimiser").
//
// One fused pass over (param, grad, m, v) instead of PyTorch's sequence of in-place tensor ops
// (mul_, add_, mul_, addcmul_, sqrt, div_, add_, addcdiv_), each a full pass over memory. The
// arithmetic follows PyTorch 1.13's single-tensor AdamW order, so results match it to rounding.
#include <cmath>

#include "common.h"
#include "kernel_args.h"
#include "simd.h"

namespace clipts {

template <typename T>
double SumDouble(const T* x, size_t n, bool squares);  // elementwise.cc

namespace {

using simd::Vec;

Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "param", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, param, 0, "param");
    CLIPTS_ARRAY(T, grad, 1, "grad");
    CLIPTS_ARRAY(T, m, 2, "m");
    CLIPTS_ARRAY(T, v, 3, "v");
    CLIPTS_NUM(lr, 4);
    CLIPTS_NUM(beta1, 5);
    CLIPTS_NUM(beta2, 6);
    CLIPTS_NUM(eps, 7);
    CLIPTS_NUM(weightDecay, 8);
    CLIPTS_NUM(step, 9);
    size_t n = param.length;
    CLIPTS_NEED(grad, n, "grad");
    CLIPTS_NEED(m, n, "m");
    CLIPTS_NEED(v, n, "v");
    if (!(step >= 1)) {
      ThrowRange(env, "step must be >= 1 (it is the 1-based step count of the bias correction)");
      return env.Undefined();
    }
    // Scalars in double, as PyTorch computes them in Python floats.
    double bc1 = 1.0 - std::pow(beta1, step);
    double bc2 = 1.0 - std::pow(beta2, step);
    V decay = V::Set(static_cast<T>(1.0 - lr * weightDecay));
    V b1 = V::Set(static_cast<T>(beta1)), omb1 = V::Set(static_cast<T>(1.0 - beta1));
    V b2 = V::Set(static_cast<T>(beta2)), omb2 = V::Set(static_cast<T>(1.0 - beta2));
    V step_size = V::Set(static_cast<T>(lr / bc1));
    V inv_bc2_sqrt = V::Set(static_cast<T>(1.0 / std::sqrt(bc2)));
    V veps = V::Set(static_cast<T>(eps));
    constexpr size_t W = V::W;
    size_t nv = (n + W - 1) / W;
    ParallelFor(nv, (1 << 14) / W, [&](size_t b, size_t e) {
      size_t end = e * W < n ? e * W : n;
      for (size_t i = b * W; i < end; i += W) {
        int w = static_cast<int>(end - i < W ? end - i : W);
        V p = V::Load(param.data + i, w) * decay;
        V g = V::Load(grad.data + i, w);
        V mi = Fma(b1, V::Load(m.data + i, w), omb1 * g);
        V vi = Fma(b2, V::Load(v.data + i, w), omb2 * g * g);
        V denom = Sqrt(vi) * inv_bc2_sqrt + veps;
        p = p - step_size * mi / denom;
        mi.Store(m.data + i, w);
        vi.Store(v.data + i, w);
        p.Store(param.data + i, w);
      }
    });
    return env.Undefined();
  });
}

Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, x, 0, "x");
    return Napi::Number::New(env, SumDouble<T>(x.data, x.length, true));
  });
}

}  // namespace

void RegisterOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("adamw", Napi::Function::New(env, AdamW));
  exports.Set("sumSquares", Napi::Function::New(env, SumSquares));
}

}  // namespace clipts
