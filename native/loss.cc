// Cross-entropy loss (API.md, "Losses"), used by CLIP's contrastive objective on the
// [batch, batch] logit matrices (image→text and text→image).
//
// The forward saves the softmax probabilities, so the backward is one fused pass
// dlogits = scale·(probs − onehot). Rows run on the pool; the per-row losses are added in row
// order in double, so the returned mean does not depend on the thread count.
#include <cmath>
#include <string>
#include <vector>

#include "common.h"
#include "kernel_args.h"
#include "simd.h"

namespace clipts {

template <typename T>
void SoftmaxRow(const T* x, size_t n, T* y, T* max_out, T* logsum_out);  // norm.cc

namespace {

using simd::Vec;

bool CheckTargets(Napi::Env env, const View<int32_t>& targets, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; ++r) {
    int32_t t = targets.data[r];
    if (t < 0 || static_cast<size_t>(t) >= n) {
      ThrowRange(env, "targets[" + std::to_string(r) + "] = " + std::to_string(t) + " is outside [0, " +
                          std::to_string(n) + ")");
      return false;
    }
  }
  return true;
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "logits", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, logits, 0, "logits");
    CLIPTS_ARRAY(int32_t, targets, 1, "targets");
    CLIPTS_SIZE(rows, 2);
    CLIPTS_SIZE(n, 3);
    CLIPTS_ARRAY(T, probs, 4, "probs");
    CLIPTS_NEED(logits, rows * n, "logits");
    CLIPTS_NEED(targets, rows, "targets");
    CLIPTS_NEED(probs, rows * n, "probs");
    if (!CheckTargets(env, targets, rows, n)) return env.Undefined();
    if (rows == 0) return Napi::Number::New(env, 0.0);
    std::vector<double> loss(rows);
    size_t grain = n == 0 ? rows : ((1 << 15) + n - 1) / n;
    ParallelFor(rows, grain, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        const T* x = logits.data + r * n;
        T mx = 0, logsum = 0;
        SoftmaxRow<T>(x, n, probs.data + r * n, &mx, &logsum);
        // −log softmax[t] = max + log Σ e^(x−max) − x[t], computed from the logits, not from
        // log(probs[t]), so a tiny probability does not lose precision (or become log 0).
        loss[r] = static_cast<double>(mx) + static_cast<double>(logsum) - static_cast<double>(x[targets.data[r]]);
      }
    });
    double s = 0;
    for (double l : loss) s += l;
    return Napi::Number::New(env, s / static_cast<double>(rows));
  });
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "probs", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, probs, 0, "probs");
    CLIPTS_ARRAY(int32_t, targets, 1, "targets");
    CLIPTS_SIZE(rows, 2);
    CLIPTS_SIZE(n, 3);
    CLIPTS_NUM(scale, 4);
    CLIPTS_ARRAY(T, dlogits, 5, "dlogits");
    CLIPTS_NEED(probs, rows * n, "probs");
    CLIPTS_NEED(targets, rows, "targets");
    CLIPTS_NEED(dlogits, rows * n, "dlogits");
    if (!CheckTargets(env, targets, rows, n)) return env.Undefined();
    T s = static_cast<T>(scale);
    V vs = V::Set(s);
    size_t grain = n == 0 ? rows : ((1 << 15) + n - 1) / n;
    ParallelFor(rows, grain, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        const T* p = probs.data + r * n;
        T* d = dlogits.data + r * n;
        simd::ForVec<T>(n, [&](size_t j, int w) { (vs * V::Load(p + j, w)).Store(d + j, w); });
        size_t t = static_cast<size_t>(targets.data[r]);
        d[t] = s * (p[t] - T(1));
      }
    });
    return env.Undefined();
  });
}

}  // namespace

void RegisterLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("crossEntropy", Napi::Function::New(env, CrossEntropy));
  exports.Set("crossEntropyBackward", Napi::Function::New(env, CrossEntropyBackward));
}

}  // namespace clipts
