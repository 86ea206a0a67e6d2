// Row-wise normalisations (API.md, "Normalisation"): layer norm, L2 normalisation, softmax.
//
// Every kernel works one row at a time (a row of a ViT-B activation is 768 floats = 3 KB, so a
// second pass over it hits L1) and spreads rows over the pool. Reductions inside a row use full
// SIMD vectors; the cross-row reductions of the layer-norm backward (dgamma, dbeta) go through
// fixed 32-row blocks with one partial sum each, added in order, so results do not depend on the
// thread count.
#include <cmath>
#include <vector>

#include "common.h"
#include "kernel_args.h"
#include "simd.h"

namespace clipts {
namespace {

using simd::Vec;

constexpr size_t kGrain = 1 << 15;  // elements; below ~2 chunks of this, stay on one thread

template <typename F>
void RowsFor(size_t rows, size_t n, F&& fn) {
  size_t grain = n == 0 ? rows : (kGrain + n - 1) / n;
  ParallelFor(rows, grain, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) fn(r);
  });
}

template <typename T>
T RowSum(const T* x, size_t n) {
  using V = Vec<T>;
  V acc = V::Zero();
  simd::ForVec<T>(n, [&](size_t j, int w) { acc = acc + V::Load(x + j, w); });
  return acc.ReduceAdd();
}

// ---- layer norm ---------------------------------------------------------------------------

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_ARRAY(T, gamma, 1, "gamma");
    CLIPTS_ARRAY(T, beta, 2, "beta");
    CLIPTS_SIZE(rows, 3);
    CLIPTS_SIZE(n, 4);
    CLIPTS_NUM(eps, 5);
    CLIPTS_ARRAY(T, out, 6, "out");
    CLIPTS_ARRAY(T, mean, 7, "mean");
    CLIPTS_ARRAY(T, rstd, 8, "rstd");
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(gamma, n, "gamma");
    CLIPTS_NEED(beta, n, "beta");
    CLIPTS_NEED(out, rows * n, "out");
    CLIPTS_NEED(mean, rows, "mean");
    CLIPTS_NEED(rstd, rows, "rstd");
    if (n == 0) return env.Undefined();
    RowsFor(rows, n, [&](size_t r) {
      const T* xr = x.data + r * n;
      T* yr = out.data + r * n;
      // Two-pass variance (Σ(x−μ)², not Σx²−μ²): no cancellation for rows with a large mean.
      T mu = RowSum(xr, n) / static_cast<T>(n);
      V vmu = V::Set(mu), acc = V::Zero();
      simd::ForVec<T>(n, [&](size_t j, int w) {
        V d = V::LoadOr(xr + j, w, mu) - vmu;  // lanes past the row give exactly 0
        acc = Fma(d, d, acc);
      });
      T var = acc.ReduceAdd() / static_cast<T>(n);
      T rs = T(1) / std::sqrt(var + static_cast<T>(eps));
      mean.data[r] = mu;
      rstd.data[r] = rs;
      V vrs = V::Set(rs);
      simd::ForVec<T>(n, [&](size_t j, int w) {
        V xh = (V::Load(xr + j, w) - vmu) * vrs;
        Fma(xh, V::Load(gamma.data + j, w), V::Load(beta.data + j, w)).Store(yr + j, w);
      });
    });
    return env.Undefined();
  });
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_ARRAY(T, gamma, 1, "gamma");
    CLIPTS_ARRAY(T, mean, 2, "mean");
    CLIPTS_ARRAY(T, rstd, 3, "rstd");
    CLIPTS_ARRAY(T, dy, 4, "dy");
    CLIPTS_SIZE(rows, 5);
    CLIPTS_SIZE(n, 6);
    CLIPTS_ARRAY(T, dx, 7, "dx");
    CLIPTS_ARRAY(T, dgamma, 8, "dgamma");
    CLIPTS_ARRAY(T, dbeta, 9, "dbeta");
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(gamma, n, "gamma");
    CLIPTS_NEED(mean, rows, "mean");
    CLIPTS_NEED(rstd, rows, "rstd");
    CLIPTS_NEED(dy, rows * n, "dy");
    CLIPTS_NEED(dx, rows * n, "dx");
    CLIPTS_NEED(dgamma, n, "dgamma");
    CLIPTS_NEED(dbeta, n, "dbeta");
    if (n == 0 || rows == 0) return env.Undefined();
    constexpr size_t kBlockRows = 32;
    size_t blocks = (rows + kBlockRows - 1) / kBlockRows;
    // partial[b] holds block b's Σ dy·x̂ (first n) and Σ dy (next n).
    std::vector<T> partial(blocks * 2 * n, T(0));
    size_t grain = (kGrain + kBlockRows * n - 1) / (kBlockRows * n);
    ParallelFor(blocks, grain, [&](size_t b0, size_t b1) {
      for (size_t b = b0; b < b1; ++b) {
        T* pg = partial.data() + b * 2 * n;
        T* pb = pg + n;
        size_t r1 = (b + 1) * kBlockRows < rows ? (b + 1) * kBlockRows : rows;
        for (size_t r = b * kBlockRows; r < r1; ++r) {
          const T* xr = x.data + r * n;
          const T* gr = dy.data + r * n;
          T* dr = dx.data + r * n;
          V vmu = V::Set(mean.data[r]), vrs = V::Set(rstd.data[r]);
          // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ
          V sg = V::Zero(), sgx = V::Zero();
          simd::ForVec<T>(n, [&](size_t j, int w) {
            V xh = (V::Load(xr + j, w) - vmu) * vrs;
            V g = V::Load(gr + j, w) * V::Load(gamma.data + j, w);  // 0 in masked lanes
            sg = sg + g;
            sgx = Fma(g, xh, sgx);
          });
          T inv_n = T(1) / static_cast<T>(n);
          V mg = V::Set(sg.ReduceAdd() * inv_n), mgx = V::Set(sgx.ReduceAdd() * inv_n);
          simd::ForVec<T>(n, [&](size_t j, int w) {
            V xh = (V::Load(xr + j, w) - vmu) * vrs;
            V d = V::Load(gr + j, w);
            V g = d * V::Load(gamma.data + j, w);
            (vrs * (g - mg - xh * mgx)).Store(dr + j, w);
            Fma(d, xh, V::Load(pg + j, w)).Store(pg + j, w);
            (V::Load(pb + j, w) + d).Store(pb + j, w);
          });
        }
      }
    });
    // Add the block partials in block order (deterministic), columns spread over the pool.
    size_t cgrain = (kGrain + blocks - 1) / blocks;
    ParallelFor(n, cgrain < 64 ? 64 : cgrain, [&](size_t c0, size_t c1) {
      for (size_t b = 0; b < blocks; ++b) {
        const T* pg = partial.data() + b * 2 * n;
        const T* pb = pg + n;
        for (size_t j = c0; j < c1; ++j) {
          dgamma.data[j] += pg[j];
          dbeta.data[j] += pb[j];
        }
      }
    });
    return env.Undefined();
  });
}

// ---- L2 normalisation -----------------------------------------------------------------------

// A zero row would divide by zero; like F.normalize we divide by max(‖x‖, 1e-12) instead (and
// the backward uses the same clamped value), so a zero row maps to zero, not NaN. `norms` holds
// the true norm.
template <typename T>
T ClampNorm(T v) { return v < T(1e-12) ? T(1e-12) : v; }

Napi::Value L2Normalize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_SIZE(rows, 1);
    CLIPTS_SIZE(n, 2);
    CLIPTS_ARRAY(T, out, 3, "out");
    CLIPTS_ARRAY(T, norms, 4, "norms");
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(out, rows * n, "out");
    CLIPTS_NEED(norms, rows, "norms");
    RowsFor(rows, n, [&](size_t r) {
      const T* xr = x.data + r * n;
      T* yr = out.data + r * n;
      V acc = V::Zero();
      simd::ForVec<T>(n, [&](size_t j, int w) { V v = V::Load(xr + j, w); acc = Fma(v, v, acc); });
      T norm = std::sqrt(acc.ReduceAdd());
      norms.data[r] = norm;
      V inv = V::Set(T(1) / ClampNorm(norm));
      simd::ForVec<T>(n, [&](size_t j, int w) { (V::Load(xr + j, w) * inv).Store(yr + j, w); });
    });
    return env.Undefined();
  });
}

// y = x/‖x‖ ⇒ dx = (dy − y·(y·dy)) / ‖x‖
Napi::Value L2NormalizeBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "out", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, y, 0, "out");
    CLIPTS_ARRAY(T, norms, 1, "norms");
    CLIPTS_ARRAY(T, dy, 2, "dy");
    CLIPTS_SIZE(rows, 3);
    CLIPTS_SIZE(n, 4);
    CLIPTS_ARRAY(T, dx, 5, "dx");
    CLIPTS_NEED(y, rows * n, "out");
    CLIPTS_NEED(norms, rows, "norms");
    CLIPTS_NEED(dy, rows * n, "dy");
    CLIPTS_NEED(dx, rows * n, "dx");
    RowsFor(rows, n, [&](size_t r) {
      const T* yr = y.data + r * n;
      const T* gr = dy.data + r * n;
      T* dr = dx.data + r * n;
      V acc = V::Zero();
      simd::ForVec<T>(n, [&](size_t j, int w) { acc = Fma(V::Load(yr + j, w), V::Load(gr + j, w), acc); });
      V dot = V::Set(acc.ReduceAdd());
      V inv = V::Set(T(1) / ClampNorm(norms.data[r]));
      simd::ForVec<T>(n, [&](size_t j, int w) {
        ((V::Load(gr + j, w) - V::Load(yr + j, w) * dot) * inv).Store(dr + j, w);
      });
    });
    return env.Undefined();
  });
}

// ---- softmax ----------------------------------------------------------------------------------

}  // namespace

// Softmax of one row: shared with the loss (crossEntropy). Returns log Σ exp(x − max) and the max
// through the out-parameters for logSoftmax / cross-entropy.
template <typename T>
void SoftmaxRow(const T* x, size_t n, T* y, T* max_out, T* logsum_out) {
  using V = Vec<T>;
  if (n == 0) return;
  // Lanes past the row load as −inf: they never win the max and exp(−inf − max) adds 0 to the sum.
  V vmax = V::Set(-INFINITY);
  simd::ForVec<T>(n, [&](size_t j, int w) { vmax = Max(vmax, V::LoadOr(x + j, w, -INFINITY)); });
  T mx = vmax.ReduceMax();
  if (mx == -INFINITY) mx = 0;  // an all −inf row: exps are 0, no NaN from (−inf) − (−inf)
  V vm = V::Set(mx), acc = V::Zero();
  simd::ForVec<T>(n, [&](size_t j, int w) {
    V e = simd::Exp(V::LoadOr(x + j, w, -INFINITY) - vm);
    e.Store(y + j, w);
    acc = acc + e;
  });
  T sum = acc.ReduceAdd();
  V inv = V::Set(T(1) / sum);
  simd::ForVec<T>(n, [&](size_t j, int w) { (V::Load(y + j, w) * inv).Store(y + j, w); });
  if (max_out != nullptr) *max_out = mx;
  if (logsum_out != nullptr) *logsum_out = std::log(sum);
}
template void SoftmaxRow<float>(const float*, size_t, float*, float*, float*);
template void SoftmaxRow<double>(const double*, size_t, double*, double*, double*);

namespace {

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_SIZE(rows, 1);
    CLIPTS_SIZE(n, 2);
    CLIPTS_ARRAY(T, out, 3, "out");
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(out, rows * n, "out");
    RowsFor(rows, n, [&](size_t r) { SoftmaxRow<T>(x.data + r * n, n, out.data + r * n, nullptr, nullptr); });
    return env.Undefined();
  });
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "y", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, y, 0, "y");
    CLIPTS_ARRAY(T, dy, 1, "dy");
    CLIPTS_SIZE(rows, 2);
    CLIPTS_SIZE(n, 3);
    CLIPTS_ARRAY(T, dx, 4, "dx");
    CLIPTS_NEED(y, rows * n, "y");
    CLIPTS_NEED(dy, rows * n, "dy");
    CLIPTS_NEED(dx, rows * n, "dx");
    RowsFor(rows, n, [&](size_t r) {
      const T* yr = y.data + r * n;
      const T* gr = dy.data + r * n;
      T* dr = dx.data + r * n;
      V acc = V::Zero();
      simd::ForVec<T>(n, [&](size_t j, int w) { acc = Fma(V::Load(yr + j, w), V::Load(gr + j, w), acc); });
      V dot = V::Set(acc.ReduceAdd());
      simd::ForVec<T>(n, [&](size_t j, int w) {
        (V::Load(yr + j, w) * (V::Load(gr + j, w) - dot)).Store(dr + j, w);
      });
    });
    return env.Undefined();
  });
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_SIZE(rows, 1);
    CLIPTS_SIZE(n, 2);
    CLIPTS_ARRAY(T, out, 3, "out");
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(out, rows * n, "out");
    RowsFor(rows, n, [&](size_t r) {
      const T* xr = x.data + r * n;
      T* yr = out.data + r * n;
      T mx = 0, logsum = 0;
      SoftmaxRow<T>(xr, n, yr, &mx, &logsum);  // y is scratch here, overwritten below
      V shift = V::Set(mx + logsum);
      simd::ForVec<T>(n, [&](size_t j, int w) { (V::Load(xr + j, w) - shift).Store(yr + j, w); });
    });
    return env.Undefined();
  });
}

}  // namespace

void RegisterNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNorm", Napi::Function::New(env, LayerNorm));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward));
  exports.Set("l2Normalize", Napi::Function::New(env, L2Normalize));
  exports.Set("l2NormalizeBackward", Napi::Function::New(env, L2NormalizeBackward));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward));
  exports.Set("logSoftmax", Napi::Function::New(env, LogSoftmax));
}

}  // namespace clipts
