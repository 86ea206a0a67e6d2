// Batch normalisation over (N, HW) per channel of an NCHW tensor viewed as [N, C, HW], with
// PyTorch's semantics: training normalises with the batch mean and biased variance and moves the
// running statistics towards the batch mean and the *unbiased* variance by `momentum`; inference
// uses the running statistics.
//
// Per-channel statistics run in parallel over channels (each channel reads N strided planes),
// accumulated in double so that float32 sums over N·HW ≈ 10^5–10^6 values stay accurate; the
// elementwise passes run in parallel over the N·C planes.
#include <cmath>
#include <vector>

#include "conv_util.h"

namespace clipts {
namespace {

struct BnSizes {
  int64_t N, C, HW;
  size_t nx;
};

bool ReadBnSizes(const Napi::CallbackInfo& info, size_t at, BnSizes* s) {
  if (!conv_detail::GetSize(info, at, "N", 0, &s->N) || !conv_detail::GetSize(info, at + 1, "C", 1, &s->C) ||
      !conv_detail::GetSize(info, at + 2, "HW", 1, &s->HW)) {
    return false;
  }
  return conv_detail::Product(info.Env(), "batchNorm", {s->N, s->C, s->HW}, &s->nx);
}

// out[n, c, :] = (x[n, c, :] − center[c])·scale[c] + shift[c], parallel over planes. Subtracting
// the mean before scaling (rather than folding it into the shift) avoids float32 cancellation
// when |mean| is large against the standard deviation.
template <typename T>
void ScaleShift(const T* x, T* out, const std::vector<T>& center, const std::vector<T>& scale,
                const std::vector<T>& shift, const BnSizes& s) {
  ParallelFor(static_cast<size_t>(s.N * s.C), conv_detail::GrainFor(static_cast<size_t>(s.HW)), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const int64_t c = static_cast<int64_t>(i) % s.C;
      const T m = center[c], a = scale[c], d = shift[c];
      const T* xi = x + i * s.HW;
      T* oi = out + i * s.HW;
      for (int64_t j = 0; j < s.HW; ++j) oi[j] = (xi[j] - m) * a + d;
    }
  });
}

// batchNorm(x, gamma, beta, runMean, runVar, out, saveMean, saveRstd, N, C, HW, training, momentum, eps)
Napi::Value JsBatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto x = GetArray<T>(info, 0, "x");
    CLIPTS_CHECK(env);
    auto gamma = GetArray<T>(info, 1, "gamma");
    CLIPTS_CHECK(env);
    auto beta = GetArray<T>(info, 2, "beta");
    CLIPTS_CHECK(env);
    auto runMean = GetArray<T>(info, 3, "runMean");
    CLIPTS_CHECK(env);
    auto runVar = GetArray<T>(info, 4, "runVar");
    CLIPTS_CHECK(env);
    auto out = GetArray<T>(info, 5, "out");
    CLIPTS_CHECK(env);
    auto saveMean = GetOptionalArray<T>(info, 6, "saveMean");
    CLIPTS_CHECK(env);
    auto saveRstd = GetOptionalArray<T>(info, 7, "saveRstd");
    CLIPTS_CHECK(env);
    BnSizes s;
    if (!ReadBnSizes(info, 8, &s)) return env.Undefined();
    const bool training = GetBool(info, 11);
    double momentum, eps;
    if (!conv_detail::GetFinite(info, 12, "momentum", &momentum) || !conv_detail::GetFinite(info, 13, "eps", &eps)) {
      return env.Undefined();
    }
    if (eps < 0) {
      ThrowRange(env, "eps must be >= 0");
      return env.Undefined();
    }
    const size_t C = static_cast<size_t>(s.C);
    if (!CheckLength(env, x, s.nx, "x") || !CheckLength(env, gamma, C, "gamma") || !CheckLength(env, beta, C, "beta") ||
        !CheckLength(env, runMean, C, "runMean") || !CheckLength(env, runVar, C, "runVar") ||
        !CheckLength(env, out, s.nx, "out") ||
        (!conv_detail::IsAbsent(info, 6) && !CheckLength(env, saveMean, C, "saveMean")) ||
        (!conv_detail::IsAbsent(info, 7) && !CheckLength(env, saveRstd, C, "saveRstd"))) {
      return env.Undefined();
    }
    const int64_t M = s.N * s.HW;
    if (training && M < 2) {
      // The unbiased variance needs two values; PyTorch refuses this case too.
      ThrowRange(env, "batchNorm in training mode needs more than one value per channel (N·HW >= 2)");
      return env.Undefined();
    }
    std::vector<T> center(C), scale(C), shift(C);
    std::vector<double> mean(C), rstd(C);
    if (training) {
      ParallelFor(C, conv_detail::GrainFor(static_cast<size_t>(M)), [&](size_t b, size_t e) {
        for (size_t c = b; c < e; ++c) {
          double sum = 0;
          for (int64_t n = 0; n < s.N; ++n) {
            const T* p = x.data + (n * s.C + static_cast<int64_t>(c)) * s.HW;
            for (int64_t j = 0; j < s.HW; ++j) sum += p[j];
          }
          const double mu = sum / static_cast<double>(M);
          // Second pass around the mean: no cancellation when |mean| >> std.
          double ss = 0;
          for (int64_t n = 0; n < s.N; ++n) {
            const T* p = x.data + (n * s.C + static_cast<int64_t>(c)) * s.HW;
            for (int64_t j = 0; j < s.HW; ++j) {
              const double d = static_cast<double>(p[j]) - mu;
              ss += d * d;
            }
          }
          mean[c] = mu;
          rstd[c] = 1.0 / std::sqrt(ss / static_cast<double>(M) + eps);
          const double unbiased = ss / static_cast<double>(M - 1);
          runMean.data[c] = static_cast<T>((1 - momentum) * runMean.data[c] + momentum * mu);
          runVar.data[c] = static_cast<T>((1 - momentum) * runVar.data[c] + momentum * unbiased);
        }
      });
    } else {
      for (size_t c = 0; c < C; ++c) {
        mean[c] = runMean.data[c];
        rstd[c] = 1.0 / std::sqrt(static_cast<double>(runVar.data[c]) + eps);
      }
    }
    for (size_t c = 0; c < C; ++c) {
      center[c] = static_cast<T>(mean[c]);
      scale[c] = static_cast<T>(static_cast<double>(gamma.data[c]) * rstd[c]);
      shift[c] = beta.data[c];
      // Inference saves the running statistics, so that batchNormBackward takes the same
      // arguments in both modes.
      if (saveMean.data != nullptr) saveMean.data[c] = static_cast<T>(mean[c]);
      if (saveRstd.data != nullptr) saveRstd.data[c] = static_cast<T>(rstd[c]);
    }
    ScaleShift(x.data, out.data, center, scale, shift, s);
    return env.Undefined();
  });
}

// batchNormBackward(x, gamma, saveMean, saveRstd, dy, dx, dgamma, dbeta, N, C, HW, training)
//
// With x̂ = (x − mean)·rstd and y = γx̂ + β: dβ = Σ dy, dγ = Σ dy·x̂ (sums over N, HW). In training
// mode mean and rstd depend on x, which gives dx = γ·rstd·(dy − dβ/M − x̂·dγ/M); in inference mode
// they are constants and dx = γ·rstd·dy.
Napi::Value JsBatchNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto x = GetArray<T>(info, 0, "x");
    CLIPTS_CHECK(env);
    auto gamma = GetArray<T>(info, 1, "gamma");
    CLIPTS_CHECK(env);
    auto saveMean = GetArray<T>(info, 2, "saveMean");
    CLIPTS_CHECK(env);
    auto saveRstd = GetArray<T>(info, 3, "saveRstd");
    CLIPTS_CHECK(env);
    auto dy = GetArray<T>(info, 4, "dy");
    CLIPTS_CHECK(env);
    auto dx = GetArray<T>(info, 5, "dx");
    CLIPTS_CHECK(env);
    auto dgamma = GetArray<T>(info, 6, "dgamma");
    CLIPTS_CHECK(env);
    auto dbeta = GetArray<T>(info, 7, "dbeta");
    CLIPTS_CHECK(env);
    BnSizes s;
    if (!ReadBnSizes(info, 8, &s)) return env.Undefined();
    const bool training = GetBool(info, 11);
    const size_t C = static_cast<size_t>(s.C);
    if (!CheckLength(env, x, s.nx, "x") || !CheckLength(env, gamma, C, "gamma") ||
        !CheckLength(env, saveMean, C, "saveMean") || !CheckLength(env, saveRstd, C, "saveRstd") ||
        !CheckLength(env, dy, s.nx, "dy") || !CheckLength(env, dx, s.nx, "dx") ||
        !CheckLength(env, dgamma, C, "dgamma") || !CheckLength(env, dbeta, C, "dbeta")) {
      return env.Undefined();
    }
    const int64_t M = s.N * s.HW;
    std::vector<double> sumDy(C), sumDyXhat(C);
    ParallelFor(C, conv_detail::GrainFor(static_cast<size_t>(M)), [&](size_t b, size_t e) {
      for (size_t c = b; c < e; ++c) {
        const double mu = saveMean.data[c];
        double sdy = 0, sdyx = 0;
        for (int64_t n = 0; n < s.N; ++n) {
          const int64_t off = (n * s.C + static_cast<int64_t>(c)) * s.HW;
          const T* xp = x.data + off;
          const T* gp = dy.data + off;
          for (int64_t j = 0; j < s.HW; ++j) {
            sdy += gp[j];
            sdyx += static_cast<double>(gp[j]) * (static_cast<double>(xp[j]) - mu);
          }
        }
        sumDy[c] = sdy;
        sumDyXhat[c] = sdyx * saveRstd.data[c];
      }
    });
    // dx = a·dy + b·(x − μ) + d per channel (a, b, d folded from the formula above).
    std::vector<T> a(C), bx(C), d(C), mu(C);
    for (size_t c = 0; c < C; ++c) {
      const double r = saveRstd.data[c];
      const double g = static_cast<double>(gamma.data[c]) * r;
      dgamma.data[c] += static_cast<T>(sumDyXhat[c]);
      dbeta.data[c] += static_cast<T>(sumDy[c]);
      mu[c] = saveMean.data[c];
      if (training && M > 0) {
        // γr·(dy − Σdy/M − (x − μ)·r·Σdy·x̂/M)
        const double k = g * r * sumDyXhat[c] / static_cast<double>(M);
        a[c] = static_cast<T>(g);
        bx[c] = static_cast<T>(-k);
        d[c] = static_cast<T>(-g * sumDy[c] / static_cast<double>(M));
      } else {
        a[c] = static_cast<T>(g);
        bx[c] = T(0);
        d[c] = T(0);
      }
    }
    ParallelFor(static_cast<size_t>(s.N * s.C), conv_detail::GrainFor(static_cast<size_t>(s.HW)), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        const int64_t c = static_cast<int64_t>(i) % s.C;
        const T ac = a[c], bc = bx[c], dc = d[c], mc = mu[c];
        const T* xi = x.data + i * s.HW;
        const T* gi = dy.data + i * s.HW;
        T* o = dx.data + i * s.HW;
        for (int64_t j = 0; j < s.HW; ++j) o[j] = ac * gi[j] + bc * (xi[j] - mc) + dc;
      }
    });
    return env.Undefined();
  });
}

}  // namespace

void RegisterBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNorm", Napi::Function::New(env, JsBatchNorm));
  exports.Set("batchNormBackward", Napi::Function::New(env, JsBatchNormBackward));
}

}  // namespace clipts
