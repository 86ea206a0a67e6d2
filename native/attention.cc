// Multi-head scaled dot-product attention, forward and backward (API.md, "Attention").
//
// Q, K, V are read strided straight out of the packed [B, T, 3W] in-projection output, so no
// head split / transpose copies are made (PyTorch's nn.MultiheadAttention makes several). Each
// (batch, head) pair is an independent task on the pool; inside a task the products are small
// (T ≤ 77, D = 64) and run through one register-blocked kernel, SmallGemm below, whose inner
// dimension is the contiguous one of B. Kᵀ and Vᵀ, the two B operands not laid out that way, are
// transposed into per-thread scratch first; the transposed A operands (dSᵀ, Pᵀ) are read in place.
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "common.h"
#include "kernel_args.h"
#include "simd.h"

namespace clipts {

template <typename T>
void SoftmaxRow(const T* x, size_t n, T* y, T* max_out, T* logsum_out);  // norm.cc

namespace {

using simd::Vec;

// C[MR×(NV vectors)] = alpha·A·B over K, accumulators in registers (MR·NV ≤ 16 vectors).
// A's element (r, k) is A[r·sr + k·sk]: A is only ever broadcast one scalar at a time, so it can be
// read transposed (sr = 1, sk = lda) at no cost, which saves the dSᵀ and Pᵀ copies in the backward.
// `last_w` is the lane count of the last vector (masked loads/stores at the matrix edge).
template <typename T, int MR, int NV>
void MicroNN(size_t K, T alpha, const T* A, size_t sr, size_t sk, const T* B, size_t ldb, T* C, size_t ldc, int last_w) {
  using V = Vec<T>;
  constexpr int W = V::W;
  // Every loop is fully unrolled so that each acc[r][v] is a distinct register (with a loop left
  // rolled, GCC keeps the array in memory and stores all 16 accumulators on every k step).
  V acc[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = V::Zero();
  for (size_t k = 0; k < K; ++k) {
    V b[NV];
    const T* brow = B + k * ldb;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = V::Load(brow + v * W, v == NV - 1 ? last_w : W);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      V a = V::Set(A[r * sr + k * sk]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = Fma(a, b[v], acc[r][v]);
    }
  }
  V va = V::Set(alpha);
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) (acc[r][v] * va).Store(C + r * ldc + v * W, v == NV - 1 ? last_w : W);
}

template <typename T, int MR>
void MicroRows(int nv, size_t K, T alpha, const T* A, size_t sr, size_t sk, const T* B, size_t ldb, T* C, size_t ldc,
               int last_w) {
  switch (nv) {
    case 1: MicroNN<T, MR, 1>(K, alpha, A, sr, sk, B, ldb, C, ldc, last_w); break;
    case 2: MicroNN<T, MR, 2>(K, alpha, A, sr, sk, B, ldb, C, ldc, last_w); break;
    case 3: MicroNN<T, MR, 3>(K, alpha, A, sr, sk, B, ldb, C, ldc, last_w); break;
    default: MicroNN<T, MR, 4>(K, alpha, A, sr, sk, B, ldb, C, ldc, last_w); break;
  }
}

// C (M×N, ldc) = alpha · op(A) (M×K) · B (K×N, ldb), row-major; op(A) = A (M×K, lda) or, with
// transA, Aᵀ for A stored K×M with leading dimension lda. C is overwritten.
// Tiles of 4 rows × 4 vectors (64 floats): every k step does 4 B loads, 4 broadcasts, 16 FMAs.
template <typename T>
void SmallGemm(bool transA, size_t M, size_t N, size_t K, T alpha, const T* A, size_t lda, const T* B, size_t ldb,
               T* C, size_t ldc) {
  constexpr size_t W = Vec<T>::W;
  const size_t sr = transA ? 1 : lda, sk = transA ? lda : 1;
  for (size_t j = 0; j < N; j += 4 * W) {
    size_t width = N - j < 4 * W ? N - j : 4 * W;
    int nv = static_cast<int>((width + W - 1) / W);
    int last_w = static_cast<int>(width - (nv - 1) * W);
    size_t i = 0;
    for (; i + 4 <= M; i += 4) MicroRows<T, 4>(nv, K, alpha, A + i * sr, sr, sk, B + j, ldb, C + i * ldc + j, ldc, last_w);
    switch (M - i) {
      case 3: MicroRows<T, 3>(nv, K, alpha, A + i * sr, sr, sk, B + j, ldb, C + i * ldc + j, ldc, last_w); break;
      case 2: MicroRows<T, 2>(nv, K, alpha, A + i * sr, sr, sk, B + j, ldb, C + i * ldc + j, ldc, last_w); break;
      case 1: MicroRows<T, 1>(nv, K, alpha, A + i * sr, sr, sk, B + j, ldb, C + i * ldc + j, ldc, last_w); break;
      default: break;
    }
  }
}

#if CLIPTS_AVX512
// In-register transpose of a 16×16 float block: r[i] = row i in, r[c] = column c out.
// unpack → 2×2 blocks, shuffle_ps → 4×4 blocks within each 128-bit lane, shuffle_f32x4 → the 4×4
// arrangement of lanes. 64 shuffles per 256 values (a scatter-based transpose was ~5× slower).
inline void Transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  // Now lane L of r[4g + m] holds rows 4g..4g+3 of column 4L + m.
  for (int m = 0; m < 4; ++m) {
    __m512 x0 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0x44), x1 = _mm512_shuffle_f32x4(r[m], r[4 + m], 0xEE);
    __m512 y0 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0x44), y1 = _mm512_shuffle_f32x4(r[8 + m], r[12 + m], 0xEE);
    t[m] = _mm512_shuffle_f32x4(x0, y0, 0x88);
    t[4 + m] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
    t[8 + m] = _mm512_shuffle_f32x4(x1, y1, 0x88);
    t[12 + m] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}
#endif

// dst (cols×rows, row stride ldd) = src (rows×cols, row stride ld)ᵀ; for float with AVX-512 in 16×16 blocks
// (edges masked), since a scalar loop would cost about as much as the 50×50×64 product it feeds.
template <typename T>
void TransposeTo(const T* src, size_t rows, size_t cols, size_t ld, T* dst, size_t ldd) {
#if CLIPTS_AVX512
  if constexpr (std::is_same_v<T, float>) {
    for (size_t r0 = 0; r0 < rows; r0 += 16) {
      const size_t nr = rows - r0 < 16 ? rows - r0 : 16;
      const __mmask16 rmask = static_cast<__mmask16>((1u << nr) - 1u);
      for (size_t c0 = 0; c0 < cols; c0 += 16) {
        const size_t nc = cols - c0 < 16 ? cols - c0 : 16;
        const __mmask16 cmask = static_cast<__mmask16>((1u << nc) - 1u);
        __m512 v[16];
        for (size_t i = 0; i < 16; ++i)
          v[i] = i < nr ? _mm512_maskz_loadu_ps(cmask, src + (r0 + i) * ld + c0) : _mm512_setzero_ps();
        Transpose16x16(v);
        for (size_t c = 0; c < nc; ++c) _mm512_mask_storeu_ps(dst + (c0 + c) * ldd + r0, rmask, v[c]);
      }
    }
    return;
  }
#endif
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * ld + c];
}

// Per-task scratch whose rows start on 64-byte boundaries: Kᵀ/Vᵀ rows are padded to whole vectors
// so that the kernel's B loads never straddle two cache lines.
template <typename T>
struct Padded {
  std::vector<T> buf;
  T* data;
  size_t ld;
  Padded(size_t rows, size_t cols) {
    constexpr size_t W = Vec<T>::W;
    ld = (cols + W - 1) / W * W;
    buf.resize(rows * ld + 64 / sizeof(T));
    auto addr = reinterpret_cast<uintptr_t>(buf.data());
    data = buf.data() + ((64 - addr % 64) % 64) / sizeof(T);
  }
};

struct Dims {
  size_t B, H, Tq, Tk, D, qs, ks, vs, os;
};

// Checks the strided operands: each row stride must hold all H heads, and each array must reach
// its last element (batch B−1, position T−1, column H·D−1).
template <typename T>
bool CheckStrided(Napi::Env env, const View<T>& a, size_t B, size_t T_, size_t stride, size_t HD, const char* name,
                  const char* stride_name) {
  if (B * T_ * HD == 0) return true;
  if (stride < HD) {
    ThrowRange(env, std::string(stride_name) + " = " + std::to_string(stride) + " is smaller than H·D = " +
                        std::to_string(HD));
    return false;
  }
  return CheckLength(env, a, (B * T_ - 1) * stride + HD, name);
}

bool ReadDims(const Napi::CallbackInfo& info, size_t first, Dims* d) {
  const char* names[] = {"B", "H", "Tq", "Tk", "D", "qs", "ks", "vs", "os"};
  size_t* fields[] = {&d->B, &d->H, &d->Tq, &d->Tk, &d->D, &d->qs, &d->ks, &d->vs, &d->os};
  for (size_t i = 0; i < 9; ++i)
    if (!GetSize(info, first + i, names[i], fields[i])) return false;
  return true;
}

size_t TaskGrain(const Dims& d) {
  size_t work = d.Tq * d.Tk * (d.D == 0 ? 1 : d.D);
  return work == 0 ? d.B * d.H : (65536 + work - 1) / work;
}

Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "q", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    CLIPTS_ARRAY(T, q, 0, "q");
    CLIPTS_ARRAY(T, k, 1, "k");
    CLIPTS_ARRAY(T, v, 2, "v");
    CLIPTS_ARRAY(T, out, 3, "out");
    CLIPTS_OPT_ARRAY(T, probs, 4, "probs");
    Dims d;
    if (!ReadDims(info, 5, &d)) return env.Undefined();
    CLIPTS_NUM(scale, 14);
    bool causal = GetBool(info, 15);
    size_t HD = d.H * d.D;
    if (!CheckStrided(env, q, d.B, d.Tq, d.qs, HD, "q", "qs") || !CheckStrided(env, k, d.B, d.Tk, d.ks, HD, "k", "ks") ||
        !CheckStrided(env, v, d.B, d.Tk, d.vs, HD, "v", "vs") ||
        !CheckStrided(env, out, d.B, d.Tq, d.os, HD, "out", "os"))
      return env.Undefined();
    if (probs.data != nullptr) CLIPTS_NEED(probs, d.B * d.H * d.Tq * d.Tk, "probs");
    if (d.B * d.H * d.Tq * d.D == 0) return env.Undefined();
    T sc = static_cast<T>(scale);
    ParallelFor(d.B * d.H, TaskGrain(d), [&](size_t t0, size_t t1) {
      Padded<T> kt(d.D, d.Tk);
      std::vector<T> local(probs.data == nullptr ? d.Tq * d.Tk : 0);
      for (size_t t = t0; t < t1; ++t) {
        size_t b = t / d.H, h = t % d.H;
        const T* qp = q.data + b * d.Tq * d.qs + h * d.D;
        const T* kp = k.data + b * d.Tk * d.ks + h * d.D;
        const T* vp = v.data + b * d.Tk * d.vs + h * d.D;
        T* op = out.data + b * d.Tq * d.os + h * d.D;
        T* p = probs.data != nullptr ? probs.data + t * d.Tq * d.Tk : local.data();
        if (d.Tk == 0) {  // no keys: the output is an empty sum
          for (size_t i = 0; i < d.Tq; ++i)
            for (size_t c = 0; c < d.D; ++c) op[i * d.os + c] = 0;
          continue;
        }
        TransposeTo(kp, d.Tk, d.D, d.ks, kt.data, kt.ld);
        SmallGemm<T>(false, d.Tq, d.Tk, d.D, sc, qp, d.qs, kt.data, kt.ld, p, d.Tk);
        for (size_t i = 0; i < d.Tq; ++i) {
          T* row = p + i * d.Tk;
          // Causal: only keys j ≤ i take part; the masked probabilities are exactly 0.
          size_t n = causal ? (i + 1 < d.Tk ? i + 1 : d.Tk) : d.Tk;
          SoftmaxRow<T>(row, n, row, nullptr, nullptr);
          for (size_t j = n; j < d.Tk; ++j) row[j] = 0;
        }
        SmallGemm<T>(false, d.Tq, d.D, d.Tk, T(1), p, d.Tk, vp, d.vs, op, d.os);
      }
    });
    return env.Undefined();
  });
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "q", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    using V = Vec<T>;
    CLIPTS_ARRAY(T, q, 0, "q");
    CLIPTS_ARRAY(T, k, 1, "k");
    CLIPTS_ARRAY(T, v, 2, "v");
    CLIPTS_ARRAY(T, probs, 3, "probs");
    CLIPTS_ARRAY(T, dout, 4, "dout");
    CLIPTS_ARRAY(T, dq, 5, "dq");
    CLIPTS_ARRAY(T, dk, 6, "dk");
    CLIPTS_ARRAY(T, dv, 7, "dv");
    Dims d;
    if (!ReadDims(info, 8, &d)) return env.Undefined();
    CLIPTS_NUM(scale, 17);
    size_t HD = d.H * d.D;
    if (!CheckStrided(env, q, d.B, d.Tq, d.qs, HD, "q", "qs") || !CheckStrided(env, k, d.B, d.Tk, d.ks, HD, "k", "ks") ||
        !CheckStrided(env, v, d.B, d.Tk, d.vs, HD, "v", "vs") ||
        !CheckStrided(env, dout, d.B, d.Tq, d.os, HD, "dout", "os") ||
        !CheckStrided(env, dq, d.B, d.Tq, d.qs, HD, "dq", "qs") ||
        !CheckStrided(env, dk, d.B, d.Tk, d.ks, HD, "dk", "ks") ||
        !CheckStrided(env, dv, d.B, d.Tk, d.vs, HD, "dv", "vs"))
      return env.Undefined();
    CLIPTS_NEED(probs, d.B * d.H * d.Tq * d.Tk, "probs");
    if (d.B * d.H * d.D == 0) return env.Undefined();
    T sc = static_cast<T>(scale);
    ParallelFor(d.B * d.H, TaskGrain(d), [&](size_t t0, size_t t1) {
      Padded<T> vt(d.D, d.Tk);
      std::vector<T> ds(d.Tq * d.Tk);
      for (size_t t = t0; t < t1; ++t) {
        size_t b = t / d.H, h = t % d.H;
        const T* qp = q.data + b * d.Tq * d.qs + h * d.D;
        const T* kp = k.data + b * d.Tk * d.ks + h * d.D;
        const T* vp = v.data + b * d.Tk * d.vs + h * d.D;
        const T* dop = dout.data + b * d.Tq * d.os + h * d.D;
        T* dqp = dq.data + b * d.Tq * d.qs + h * d.D;
        T* dkp = dk.data + b * d.Tk * d.ks + h * d.D;
        T* dvp = dv.data + b * d.Tk * d.vs + h * d.D;
        const T* p = probs.data + t * d.Tq * d.Tk;
        if (d.Tq == 0 || d.Tk == 0) {  // empty products: the gradients are zero
          for (size_t i = 0; i < d.Tq; ++i)
            for (size_t c = 0; c < d.D; ++c) dqp[i * d.qs + c] = 0;
          for (size_t j = 0; j < d.Tk; ++j)
            for (size_t c = 0; c < d.D; ++c) dkp[j * d.ks + c] = dvp[j * d.vs + c] = 0;
          continue;
        }
        // dP = dO·Vᵀ
        TransposeTo(vp, d.Tk, d.D, d.vs, vt.data, vt.ld);
        SmallGemm<T>(false, d.Tq, d.Tk, d.D, T(1), dop, d.os, vt.data, vt.ld, ds.data(), d.Tk);
        // dS = scale·P⊙(dP − rowsum(dP⊙P)), in place over dP; masked positions have P = 0.
        for (size_t i = 0; i < d.Tq; ++i) {
          const T* pr = p + i * d.Tk;
          T* sr = ds.data() + i * d.Tk;
          V acc = V::Zero();
          simd::ForVec<T>(d.Tk, [&](size_t j, int w) { acc = Fma(V::Load(pr + j, w), V::Load(sr + j, w), acc); });
          V dot = V::Set(acc.ReduceAdd()), vsc = V::Set(sc);
          simd::ForVec<T>(d.Tk, [&](size_t j, int w) {
            (vsc * V::Load(pr + j, w) * (V::Load(sr + j, w) - dot)).Store(sr + j, w);
          });
        }
        // dQ = dS·K,  dK = dSᵀ·Q,  dV = Pᵀ·dO   (scale is already inside dS)
        SmallGemm<T>(false, d.Tq, d.D, d.Tk, T(1), ds.data(), d.Tk, kp, d.ks, dqp, d.qs);
        SmallGemm<T>(true, d.Tk, d.D, d.Tq, T(1), ds.data(), d.Tk, qp, d.qs, dkp, d.ks);
        SmallGemm<T>(true, d.Tk, d.D, d.Tq, T(1), p, d.Tk, dop, d.os, dvp, d.vs);
      }
    });
    return env.Undefined();
  });
}

}  // namespace

void RegisterAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
}

}  // namespace clipts
