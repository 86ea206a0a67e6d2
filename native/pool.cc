// Average pooling (k×k windows at stride s, no padding) and the per-(n, c) spatial mean, NCHW.
// CLIP's ModifiedResNet uses 2×2/2 pooling for anti-aliased downsampling; the planes are
// independent, so every kernel is parallel over the N·C planes (or rows) on the thread pool.
#include <algorithm>
#include <cstring>

#include "conv_util.h"

namespace clipts {
namespace {

template <typename T>
void AvgPoolPlane(const T* x, T* out, int64_t H, int64_t W, int64_t k, int64_t s, int64_t Ho, int64_t Wo) {
  (void)H;
  const T inv = T(1) / static_cast<T>(k * k);
  if (k == 2 && s == 2) {
    // The common case, written out so the compiler sees two contiguous input rows.
    for (int64_t oh = 0; oh < Ho; ++oh) {
      const T* r0 = x + (2 * oh) * W;
      const T* r1 = r0 + W;
      T* o = out + oh * Wo;
      for (int64_t ow = 0; ow < Wo; ++ow) o[ow] = (r0[2 * ow] + r0[2 * ow + 1] + r1[2 * ow] + r1[2 * ow + 1]) * inv;
    }
    return;
  }
  for (int64_t oh = 0; oh < Ho; ++oh) {
    T* o = out + oh * Wo;
    for (int64_t ow = 0; ow < Wo; ++ow) o[ow] = T(0);
    // Row by row: each input row is read contiguously for all windows that cover it.
    for (int64_t ki = 0; ki < k; ++ki) {
      const T* row = x + (oh * s + ki) * W;
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const T* win = row + ow * s;
        T acc = T(0);
        for (int64_t kj = 0; kj < k; ++kj) acc += win[kj];
        o[ow] += acc;
      }
    }
    for (int64_t ow = 0; ow < Wo; ++ow) o[ow] *= inv;
  }
}

template <typename T>
void AvgPoolBackwardPlane(const T* dy, T* dx, int64_t H, int64_t W, int64_t k, int64_t s, int64_t Ho, int64_t Wo) {
  const T inv = T(1) / static_cast<T>(k * k);
  if (k == s) {
    // Windows tile the input without overlap: every covered pixel gets exactly one dy/k²,
    // and the rows/columns past the last window (H − Ho·k of them) get zero.
    for (int64_t oh = 0; oh < Ho; ++oh) {
      const T* g = dy + oh * Wo;
      for (int64_t ki = 0; ki < k; ++ki) {
        T* row = dx + (oh * k + ki) * W;
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const T v = g[ow] * inv;
          for (int64_t kj = 0; kj < k; ++kj) row[ow * k + kj] = v;
        }
        std::fill(row + Wo * k, row + W, T(0));
      }
    }
    std::fill(dx + Ho * k * W, dx + H * W, T(0));
    return;
  }
  std::fill(dx, dx + H * W, T(0));
  for (int64_t oh = 0; oh < Ho; ++oh) {
    const T* g = dy + oh * Wo;
    for (int64_t ki = 0; ki < k; ++ki) {
      T* row = dx + (oh * s + ki) * W;
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const T v = g[ow] * inv;
        T* win = row + ow * s;
        for (int64_t kj = 0; kj < k; ++kj) win[kj] += v;
      }
    }
  }
}

struct PoolSizes {
  int64_t N, C, H, W, k, s, Ho, Wo;
  size_t nx, ny;
};

// Reads N, C, H, W, k, stride from argument `at` on and checks the window fits.
bool ReadPool(const Napi::CallbackInfo& info, size_t at, PoolSizes* p) {
  Napi::Env env = info.Env();
  if (!conv_detail::GetSize(info, at, "N", 0, &p->N) || !conv_detail::GetSize(info, at + 1, "C", 1, &p->C) ||
      !conv_detail::GetSize(info, at + 2, "H", 1, &p->H) || !conv_detail::GetSize(info, at + 3, "W", 1, &p->W) ||
      !conv_detail::GetSize(info, at + 4, "k", 1, &p->k) || !conv_detail::GetSize(info, at + 5, "stride", 1, &p->s)) {
    return false;
  }
  if (p->k > p->H || p->k > p->W) {
    ThrowRange(env, "pooling window k=" + std::to_string(p->k) + " is larger than the input " + std::to_string(p->H) +
                        "x" + std::to_string(p->W));
    return false;
  }
  p->Ho = (p->H - p->k) / p->s + 1;
  p->Wo = (p->W - p->k) / p->s + 1;
  return conv_detail::Product(env, "avgPool2d", {p->N, p->C, p->H, p->W}, &p->nx) &&
         conv_detail::Product(env, "avgPool2d", {p->N, p->C, p->Ho, p->Wo}, &p->ny);
}

// avgPool2d(x, out, N, C, H, W, k, stride)
Napi::Value JsAvgPool2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto x = GetArray<T>(info, 0, "x");
    CLIPTS_CHECK(env);
    auto out = GetArray<T>(info, 1, "out");
    CLIPTS_CHECK(env);
    PoolSizes p;
    if (!ReadPool(info, 2, &p)) return env.Undefined();
    if (!CheckLength(env, x, p.nx, "x") || !CheckLength(env, out, p.ny, "out")) return env.Undefined();
    const int64_t hw = p.H * p.W, ohw = p.Ho * p.Wo;
    ParallelFor(static_cast<size_t>(p.N * p.C), conv_detail::GrainFor(static_cast<size_t>(hw)), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) AvgPoolPlane(x.data + i * hw, out.data + i * ohw, p.H, p.W, p.k, p.s, p.Ho, p.Wo);
    });
    return env.Undefined();
  });
}

// avgPool2dBackward(dy, dx, N, C, H, W, k, stride)
Napi::Value JsAvgPool2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "dy", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto dy = GetArray<T>(info, 0, "dy");
    CLIPTS_CHECK(env);
    auto dx = GetArray<T>(info, 1, "dx");
    CLIPTS_CHECK(env);
    PoolSizes p;
    if (!ReadPool(info, 2, &p)) return env.Undefined();
    if (!CheckLength(env, dy, p.ny, "dy") || !CheckLength(env, dx, p.nx, "dx")) return env.Undefined();
    const int64_t hw = p.H * p.W, ohw = p.Ho * p.Wo;
    ParallelFor(static_cast<size_t>(p.N * p.C), conv_detail::GrainFor(static_cast<size_t>(hw)), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        AvgPoolBackwardPlane(dy.data + i * ohw, dx.data + i * hw, p.H, p.W, p.k, p.s, p.Ho, p.Wo);
      }
    });
    return env.Undefined();
  });
}

// meanSpatial(x, N, C, HW, out): out[n, c] = mean of x[n, c, :] (the attention-pool-free global
// average). Accumulates in double: HW can be thousands of float32 values.
Napi::Value JsMeanSpatial(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto x = GetArray<T>(info, 0, "x");
    CLIPTS_CHECK(env);
    int64_t N, C, HW;
    if (!conv_detail::GetSize(info, 1, "N", 0, &N) || !conv_detail::GetSize(info, 2, "C", 1, &C) ||
        !conv_detail::GetSize(info, 3, "HW", 1, &HW)) {
      return env.Undefined();
    }
    auto out = GetArray<T>(info, 4, "out");
    CLIPTS_CHECK(env);
    size_t nx, ny;
    if (!conv_detail::Product(env, "meanSpatial", {N, C, HW}, &nx) || !conv_detail::Product(env, "meanSpatial", {N, C}, &ny)) {
      return env.Undefined();
    }
    if (!CheckLength(env, x, nx, "x") || !CheckLength(env, out, ny, "out")) return env.Undefined();
    const double inv = 1.0 / static_cast<double>(HW);
    ParallelFor(ny, conv_detail::GrainFor(static_cast<size_t>(HW)), [&](size_t b, size_t e) {
      for (size_t r = b; r < e; ++r) {
        const T* row = x.data + r * HW;
        double acc = 0;
        for (int64_t i = 0; i < HW; ++i) acc += row[i];
        out.data[r] = static_cast<T>(acc * inv);
      }
    });
    return env.Undefined();
  });
}

}  // namespace

void RegisterPool(Napi::Env env, Napi::Object exports) {
  exports.Set("avgPool2d", Napi::Function::New(env, JsAvgPool2d));
  exports.Set("avgPool2dBackward", Napi::Function::New(env, JsAvgPool2dBackward));
  exports.Set("meanSpatial", Napi::Function::New(env, JsMeanSpatial));
}

}  // namespace clipts
