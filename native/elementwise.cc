// Elementwise kernels, reductions and index ops (API.md, "Elementwise").
//
// All of these are memory-bound: the goal is one pass over memory per call, full-width SIMD
// (simd.h), and the thread pool for large arrays. Activations fuse their whole formula (QuickGELU
// is x·σ(1.702x) in one pass, its backward reads x and dy once) where PyTorch runs 3-6 separate
// elementwise kernels and materialises the intermediates.
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "kernel_args.h"
#include "simd.h"

namespace clipts {
namespace {

using simd::Vec;

// Elements per thread chunk below which threading costs more than it saves (~100-200 KB).
constexpr size_t kGrain = 1 << 15;

// Runs f(i, w) for vector steps over [0, n): chunks of whole vectors are spread over the pool, so
// only the very last step of the array is a masked tail.
template <typename T, typename F>
void MapVec(size_t n, F&& f) {
  constexpr size_t W = Vec<T>::W;
  size_t nv = (n + W - 1) / W;
  ParallelFor(nv, kGrain / W, [&](size_t b, size_t e) {
    size_t end = e * W < n ? e * W : n;
    for (size_t i = b * W; i < end; i += W) f(i, static_cast<int>(end - i < W ? end - i : W));
  });
}

// ---- binary / scaling ---------------------------------------------------------------------

Napi::Value Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "a", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, a, 0, "a");
    CLIPTS_ARRAY(T, b, 1, "b");
    CLIPTS_ARRAY(T, out, 2, "out");
    size_t n = a.length;
    CLIPTS_NEED(b, n, "b");
    CLIPTS_NEED(out, n, "out");
    MapVec<T>(n, [&](size_t i, int w) { (V::Load(a.data + i, w) + V::Load(b.data + i, w)).Store(out.data + i, w); });
    return env.Undefined();
  });
}

Napi::Value Mul(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "a", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, a, 0, "a");
    CLIPTS_ARRAY(T, b, 1, "b");
    CLIPTS_ARRAY(T, out, 2, "out");
    size_t n = a.length;
    CLIPTS_NEED(b, n, "b");
    CLIPTS_NEED(out, n, "out");
    MapVec<T>(n, [&](size_t i, int w) { (V::Load(a.data + i, w) * V::Load(b.data + i, w)).Store(out.data + i, w); });
    return env.Undefined();
  });
}

Napi::Value Axpby(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 1, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_NUM(alpha, 0);
    CLIPTS_ARRAY(T, x, 1, "x");
    CLIPTS_NUM(beta, 2);
    CLIPTS_ARRAY(T, y, 3, "y");
    size_t n = x.length;
    CLIPTS_NEED(y, n, "y");
    V va = V::Set(static_cast<T>(alpha)), vb = V::Set(static_cast<T>(beta));
    if (beta == 0) {  // y may hold NaN/garbage: 0·NaN must not leak into the result
      MapVec<T>(n, [&](size_t i, int w) { (va * V::Load(x.data + i, w)).Store(y.data + i, w); });
    } else {
      MapVec<T>(n, [&](size_t i, int w) {
        Fma(va, V::Load(x.data + i, w), vb * V::Load(y.data + i, w)).Store(y.data + i, w);
      });
    }
    return env.Undefined();
  });
}

Napi::Value Scale(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_NUM(s, 1);
    CLIPTS_ARRAY(T, out, 2, "out");
    size_t n = x.length;
    CLIPTS_NEED(out, n, "out");
    V vs = V::Set(static_cast<T>(s));
    MapVec<T>(n, [&](size_t i, int w) { (vs * V::Load(x.data + i, w)).Store(out.data + i, w); });
    return env.Undefined();
  });
}

// ---- bias and reductions ------------------------------------------------------------------

Napi::Value AddBias(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_ARRAY(T, bias, 1, "bias");
    CLIPTS_SIZE(rows, 2);
    CLIPTS_SIZE(n, 3);
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(bias, n, "bias");
    size_t grain = n == 0 ? rows : (kGrain + n - 1) / n;
    ParallelFor(rows, grain, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        T* row = x.data + r * n;
        simd::ForVec<T>(n, [&](size_t j, int w) { (V::Load(row + j, w) + V::Load(bias.data + j, w)).Store(row + j, w); });
      }
    });
    return env.Undefined();
  });
}

// Column sums, the bias gradient: the columns are split into strips of 8 vectors whose running
// sums live in registers while the strip streams down all rows, so each thread reads its strip once
// and no partial buffers or atomics are needed.
template <typename T>
void SumRowsKernel(const T* x, size_t rows, size_t n, T* out, bool accumulate) {
  using V = Vec<T>;
  constexpr size_t S = 8;  // vectors per strip
  constexpr size_t SW = S * V::W;
  size_t strips = (n + SW - 1) / SW;
  size_t work_per_strip = rows * SW;
  size_t grain = work_per_strip == 0 ? strips : (kGrain + work_per_strip - 1) / work_per_strip;
  ParallelFor(strips, grain, [&](size_t s0, size_t s1) {
    for (size_t s = s0; s < s1; ++s) {
      size_t c0 = s * SW;
      size_t width = n - c0 < SW ? n - c0 : SW;
      V acc[S];
      int w[S];
      // Fully unrolled loops keep acc[] in registers (see MicroNN in attention.cc).
#pragma GCC unroll 8
      for (size_t k = 0; k < S; ++k) {
        acc[k] = V::Zero();
        size_t off = k * V::W;
        w[k] = off >= width ? 0 : static_cast<int>(width - off < V::W ? width - off : V::W);
      }
      if (width == SW) {
        for (size_t r = 0; r < rows; ++r) {
          const T* row = x + r * n + c0;
#pragma GCC unroll 8
          for (size_t k = 0; k < S; ++k) acc[k] = acc[k] + V::Load(row + k * V::W);
        }
      } else {
        for (size_t r = 0; r < rows; ++r) {
          const T* row = x + r * n + c0;
          for (size_t k = 0; k < S; ++k)
            if (w[k] > 0) acc[k] = acc[k] + V::Load(row + k * V::W, w[k]);
        }
      }
      for (size_t k = 0; k < S; ++k) {
        if (w[k] == 0) continue;
        T* o = out + c0 + k * V::W;
        if (accumulate) acc[k] = acc[k] + V::Load(o, w[k]);
        acc[k].Store(o, w[k]);
      }
    }
  });
}

Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_SIZE(rows, 1);
    CLIPTS_SIZE(n, 2);
    CLIPTS_ARRAY(T, out, 3, "out");
    bool accumulate = GetBool(info, 4);
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(out, n, "out");
    SumRowsKernel<T>(x.data, rows, n, out.data, accumulate);
    return env.Undefined();
  });
}

Napi::Value SumCols(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_SIZE(rows, 1);
    CLIPTS_SIZE(n, 2);
    CLIPTS_ARRAY(T, out, 3, "out");
    bool accumulate = GetBool(info, 4);
    CLIPTS_NEED(x, rows * n, "x");
    CLIPTS_NEED(out, rows, "out");
    size_t grain = n == 0 ? rows : (kGrain + n - 1) / n;
    ParallelFor(rows, grain, [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) {
        const T* row = x.data + r * n;
        V acc = V::Zero();
        simd::ForVec<T>(n, [&](size_t j, int w) { acc = acc + V::Load(row + j, w); });
        T s = static_cast<T>(acc.ReduceAdd());
        out.data[r] = accumulate ? out.data[r] + s : s;
      }
    });
    return env.Undefined();
  });
}

}  // namespace

// Deterministic float64 sum (of x, or of x² when `squares`): fixed blocks, each summed on one
// thread into a double, then the partials added in order, so the result does not depend on the
// thread count. Within a block, float lanes are flushed to double every 64 vectors so a float
// accumulator never holds more than 64 terms. Used by sumAll and sumSquares (optim.cc).
template <typename T>
double SumDouble(const T* x, size_t n, bool squares) {
  using V = Vec<T>;
  constexpr size_t kBlock = 1 << 14;
  size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
  ParallelFor(blocks, 4, [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; ++b) {
      size_t start = b * kBlock, end = start + kBlock < n ? start + kBlock : n;
      double total = 0;
      for (size_t i = start; i < end;) {
        size_t stop = i + 64 * V::W < end ? i + 64 * V::W : end;
        V acc = V::Zero();
        for (; i < stop; i += V::W) {
          int w = static_cast<int>(stop - i < V::W ? stop - i : V::W);
          V v = V::Load(x + i, w);
          acc = squares ? Fma(v, v, acc) : acc + v;
        }
        total += acc.ReduceAddD();
      }
      partial[b] = total;
    }
  });
  double s = 0;
  for (double p : partial) s += p;
  return s;
}
template double SumDouble<float>(const float*, size_t, bool);
template double SumDouble<double>(const double*, size_t, bool);

namespace {

Napi::Value SumAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, x, 0, "x");
    return Napi::Number::New(env, SumDouble<T>(x.data, x.length, false));
  });
}

// ---- activations ------------------------------------------------------------------------------

// Unary map y = f(x) and the backward dx = g(x, dy), both over the whole of x.
template <typename Fwd>
Napi::Value UnaryForward(const Napi::CallbackInfo& info, Fwd fwd) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_ARRAY(T, out, 1, "out");
    size_t n = x.length;
    CLIPTS_NEED(out, n, "out");
    MapVec<T>(n, [&](size_t i, int w) { fwd(V::Load(x.data + i, w)).Store(out.data + i, w); });
    return env.Undefined();
  });
}
template <typename Bwd>
Napi::Value UnaryBackward(const Napi::CallbackInfo& info, Bwd bwd) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_ARRAY(T, dy, 1, "dy");
    CLIPTS_ARRAY(T, dx, 2, "dx");
    size_t n = x.length;
    CLIPTS_NEED(dy, n, "dy");
    CLIPTS_NEED(dx, n, "dx");
    MapVec<T>(n, [&](size_t i, int w) {
      bwd(V::Load(x.data + i, w), V::Load(dy.data + i, w)).Store(dx.data + i, w);
    });
    return env.Undefined();
  });
}

// The activation formulas are generic lambdas so one definition serves Vec<float> and Vec<double>.
struct QuickGeluF {
  template <typename V> V operator()(V x) const {
    using T = decltype(x.ReduceAdd());
    return x * simd::Sigmoid(x * V::Set(T(1.702)));
  }
};
struct QuickGeluB {
  // d/dx x·σ(ax) = s + a·x·s·(1−s), s = σ(ax). 1 − s is computed as s·e^(−ax), not by
  // subtracting from 1: for large x, s rounds to 1 − 2^-24 and 1 − s would lose most digits.
  template <typename V> V operator()(V x, V dy) const {
    using T = decltype(x.ReduceAdd());
    V ax = x * V::Set(T(1.702));
    V e = simd::Exp(V::Zero() - ax);
    V s = V::Set(T(1)) / (V::Set(T(1)) + e);
    // 1 − s = e·s ≤ 1; for very negative x, e = inf and s = 0 give NaN, which Min turns into 1
    // (Min returns its second operand when the first is NaN, in both SIMD and scalar builds).
    V one_minus_s = Min(e * s, V::Set(T(1)));
    return dy * (s * Fma(ax, one_minus_s, V::Set(T(1))));
  }
};
struct GeluF {
  template <typename V> V operator()(V x) const { return x * simd::Phi(x); }
};
struct GeluB {
  // d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
  template <typename V> V operator()(V x, V dy) const {
    using T = decltype(x.ReduceAdd());
    V pdf = simd::Exp(x * x * V::Set(T(-0.5))) * V::Set(T(0.39894228040143267794));
    return dy * Fma(x, pdf, simd::Phi(x));
  }
};
struct ReluF {
  template <typename V> V operator()(V x) const { return simd::SelectPos(x, x, V::Zero()); }
};
struct ReluB {
  template <typename V> V operator()(V x, V dy) const { return simd::SelectPos(x, dy, V::Zero()); }
};

Napi::Value QuickGelu(const Napi::CallbackInfo& info) { return UnaryForward(info, QuickGeluF{}); }
Napi::Value QuickGeluBackward(const Napi::CallbackInfo& info) { return UnaryBackward(info, QuickGeluB{}); }
Napi::Value Gelu(const Napi::CallbackInfo& info) { return UnaryForward(info, GeluF{}); }
Napi::Value GeluBackward(const Napi::CallbackInfo& info) { return UnaryBackward(info, GeluB{}); }
Napi::Value Relu(const Napi::CallbackInfo& info) { return UnaryForward(info, ReluF{}); }
Napi::Value ReluBackward(const Napi::CallbackInfo& info) { return UnaryBackward(info, ReluB{}); }

// ---- index ops ---------------------------------------------------------------------------------

// Every index is checked before any row is copied, so a bad id leaves the output untouched.
bool CheckIds(Napi::Env env, const View<int32_t>& ids, size_t limit, const char* name) {
  for (size_t i = 0; i < ids.length; ++i) {
    int32_t id = ids.data[i];
    if (id < 0 || static_cast<size_t>(id) >= limit) {
      ThrowRange(env, std::string(name) + "[" + std::to_string(i) + "] = " + std::to_string(id) +
                          " is outside [0, " + std::to_string(limit) + ")");
      return false;
    }
  }
  return true;
}

// out[i, :] = src[idx[i], :], rows spread over the pool.
template <typename T>
void GatherKernel(const T* src, const int32_t* idx, size_t count, size_t n, T* out) {
  size_t grain = n == 0 ? count : (kGrain + n - 1) / n;
  ParallelFor(count, grain, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i)
      std::memcpy(out + i * n, src + static_cast<size_t>(idx[i]) * n, n * sizeof(T));
  });
}

// dst[idx[i], :] += src[i, :]. Ids repeat (a token id used twice), so rows cannot be split across
// threads; the columns can: each thread owns a column strip of every destination row.
template <typename T>
void ScatterAddKernel(const T* src, const int32_t* idx, size_t count, size_t n, T* dst) {
  using V = Vec<T>;
  constexpr size_t SW = 4 * V::W;
  size_t strips = (n + SW - 1) / SW;
  size_t work = count * SW;
  size_t grain = work == 0 ? strips : (kGrain + work - 1) / work;
  ParallelFor(strips, grain, [&](size_t s0, size_t s1) {
    size_t c0 = s0 * SW, c1 = s1 * SW < n ? s1 * SW : n;
    for (size_t i = 0; i < count; ++i) {
      const T* s = src + i * n;
      T* d = dst + static_cast<size_t>(idx[i]) * n;
      for (size_t j = c0; j < c1; j += V::W) {
        int w = static_cast<int>(c1 - j < V::W ? c1 - j : V::W);
        (V::Load(d + j, w) + V::Load(s + j, w)).Store(d + j, w);
      }
    }
  });
}

Napi::Value Embedding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "weight", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, weight, 0, "weight");
    CLIPTS_ARRAY(int32_t, ids, 1, "ids");
    CLIPTS_SIZE(V, 2);
    CLIPTS_SIZE(D, 3);
    CLIPTS_ARRAY(T, out, 4, "out");
    CLIPTS_NEED(weight, V * D, "weight");
    CLIPTS_NEED(out, ids.length * D, "out");
    if (!CheckIds(env, ids, V, "ids")) return env.Undefined();
    GatherKernel<T>(weight.data, ids.data, ids.length, D, out.data);
    return env.Undefined();
  });
}

Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "dy", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, dy, 0, "dy");
    CLIPTS_ARRAY(int32_t, ids, 1, "ids");
    CLIPTS_SIZE(V, 2);
    CLIPTS_SIZE(D, 3);
    CLIPTS_ARRAY(T, dweight, 4, "dweight");
    CLIPTS_NEED(dy, ids.length * D, "dy");
    CLIPTS_NEED(dweight, V * D, "dweight");
    if (!CheckIds(env, ids, V, "ids")) return env.Undefined();
    ScatterAddKernel<T>(dy.data, ids.data, ids.length, D, dweight.data);
    return env.Undefined();
  });
}

// out[b] = x[b]ᵀ in 16×16 tiles, so both the reads and the writes touch whole cache lines.
Napi::Value Transpose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, x, 0, "x");
    CLIPTS_SIZE(batch, 1);
    CLIPTS_SIZE(rows, 2);
    CLIPTS_SIZE(cols, 3);
    CLIPTS_ARRAY(T, out, 4, "out");
    size_t total = batch * rows * cols;
    CLIPTS_NEED(x, total, "x");
    CLIPTS_NEED(out, total, "out");
    constexpr size_t B = 16;
    size_t row_tiles = (rows + B - 1) / B;
    size_t tasks = batch * row_tiles;
    size_t per_task = B * (cols == 0 ? 1 : cols);
    ParallelFor(tasks, (kGrain + per_task - 1) / per_task, [&](size_t t0, size_t t1) {
      for (size_t t = t0; t < t1; ++t) {
        size_t b = t / row_tiles, r0 = (t % row_tiles) * B;
        size_t r1 = r0 + B < rows ? r0 + B : rows;
        const T* xs = x.data + b * rows * cols;
        T* os = out.data + b * rows * cols;
        for (size_t c0 = 0; c0 < cols; c0 += B) {
          size_t c1 = c0 + B < cols ? c0 + B : cols;
          for (size_t c = c0; c < c1; ++c)
            for (size_t r = r0; r < r1; ++r) os[c * rows + r] = xs[r * cols + c];
        }
      }
    });
    return env.Undefined();
  });
}

}  // namespace

void RegisterElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("add", Napi::Function::New(env, Add));
  exports.Set("axpby", Napi::Function::New(env, Axpby));
  exports.Set("scale", Napi::Function::New(env, Scale));
  exports.Set("mul", Napi::Function::New(env, Mul));
  exports.Set("addBias", Napi::Function::New(env, AddBias));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("sumCols", Napi::Function::New(env, SumCols));
  exports.Set("sumAll", Napi::Function::New(env, SumAll));
  exports.Set("quickGelu", Napi::Function::New(env, QuickGelu));
  exports.Set("quickGeluBackward", Napi::Function::New(env, QuickGeluBackward));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward));
  exports.Set("relu", Napi::Function::New(env, Relu));
  exports.Set("reluBackward", Napi::Function::New(env, ReluBackward));
  exports.Set("embedding", Napi::Function::New(env, Embedding));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward));
  exports.Set("transpose", Napi::Function::New(env, Transpose));
}

}  // namespace clipts
