// A thin SIMD layer for the float/double kernels (elementwise, norm, attention, loss, optim).
//
// Kernels are written once, templated on the element type T, against `Vec<T>`: with AVX-512
// (this project compiles with -march=native) Vec<float> is 16 lanes and Vec<double> 8 lanes;
// elsewhere Vec<T> is a single scalar lane, so the same kernel source is still correct (just
// slower). Tails are handled with masked loads/stores rather than scalar loops, so every
// element of an array goes through the same arithmetic (a float kernel gives the same value for
// element i whatever the array length).
//
// Exp/Sigmoid/Phi for float are our own polynomial approximations (~1-2 ulp, see the tests in
// test/native/elementwise.test.ts). The double versions call the C library lane by lane: double
// is only used for finite-difference tests, where exactness matters more than speed.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
#define CLIPTS_AVX512 1
// GCC 12 reports its own _mm512_undefined_* placeholders inside the intrinsic headers as
// "may be used uninitialized" wherever a masked load is inlined (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#else
#define CLIPTS_AVX512 0
#endif

namespace clipts {
namespace simd {

template <typename T>
struct Vec;

#if CLIPTS_AVX512

template <>
struct Vec<float> {
  static constexpr int W = 16;
  __m512 v;
  Vec() = default;
  Vec(__m512 x) : v(x) {}  // NOLINT: implicit on purpose, keeps kernels readable
  static Vec Set(float x) { return _mm512_set1_ps(x); }
  static Vec Zero() { return _mm512_setzero_ps(); }
  static __mmask16 Mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  // Loads `n` (1..W) elements; lanes past n are zero.
  static Vec Load(const float* p, int n = W) {
    return n == W ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(Mask(n), p);
  }
  // Loads `n` elements; lanes past n hold `fill` (e.g. −inf for a max, so the tail never wins).
  static Vec LoadOr(const float* p, int n, float fill) {
    return n == W ? _mm512_loadu_ps(p) : _mm512_mask_loadu_ps(_mm512_set1_ps(fill), Mask(n), p);
  }
  void Store(float* p, int n = W) const {
    if (n == W) _mm512_storeu_ps(p, v); else _mm512_mask_storeu_ps(p, Mask(n), v);
  }
  float ReduceAdd() const { return _mm512_reduce_add_ps(v); }
  float ReduceMax() const { return _mm512_reduce_max_ps(v); }
  // Sum in double: used where a long float reduction must not lose precision.
  double ReduceAddD() const {
    __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
  }
};
inline Vec<float> operator+(Vec<float> a, Vec<float> b) { return _mm512_add_ps(a.v, b.v); }
inline Vec<float> operator-(Vec<float> a, Vec<float> b) { return _mm512_sub_ps(a.v, b.v); }
inline Vec<float> operator*(Vec<float> a, Vec<float> b) { return _mm512_mul_ps(a.v, b.v); }
inline Vec<float> operator/(Vec<float> a, Vec<float> b) { return _mm512_div_ps(a.v, b.v); }
inline Vec<float> Fma(Vec<float> a, Vec<float> b, Vec<float> c) { return _mm512_fmadd_ps(a.v, b.v, c.v); }
inline Vec<float> Max(Vec<float> a, Vec<float> b) { return _mm512_max_ps(a.v, b.v); }
inline Vec<float> Min(Vec<float> a, Vec<float> b) { return _mm512_min_ps(a.v, b.v); }
inline Vec<float> Sqrt(Vec<float> a) { return _mm512_sqrt_ps(a.v); }
inline Vec<float> Abs(Vec<float> a) { return _mm512_abs_ps(a.v); }
// x > 0 ? a : b
inline Vec<float> SelectPos(Vec<float> x, Vec<float> a, Vec<float> b) {
  __mmask16 m = _mm512_cmp_ps_mask(x.v, _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_mask_blend_ps(m, b.v, a.v);
}

template <>
struct Vec<double> {
  static constexpr int W = 8;
  __m512d v;
  Vec() = default;
  Vec(__m512d x) : v(x) {}  // NOLINT
  static Vec Set(double x) { return _mm512_set1_pd(x); }
  static Vec Zero() { return _mm512_setzero_pd(); }
  static __mmask8 Mask(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static Vec Load(const double* p, int n = W) {
    return n == W ? _mm512_loadu_pd(p) : _mm512_maskz_loadu_pd(Mask(n), p);
  }
  static Vec LoadOr(const double* p, int n, double fill) {
    return n == W ? _mm512_loadu_pd(p) : _mm512_mask_loadu_pd(_mm512_set1_pd(fill), Mask(n), p);
  }
  void Store(double* p, int n = W) const {
    if (n == W) _mm512_storeu_pd(p, v); else _mm512_mask_storeu_pd(p, Mask(n), v);
  }
  double ReduceAdd() const { return _mm512_reduce_add_pd(v); }
  double ReduceMax() const { return _mm512_reduce_max_pd(v); }
  double ReduceAddD() const { return _mm512_reduce_add_pd(v); }
};
inline Vec<double> operator+(Vec<double> a, Vec<double> b) { return _mm512_add_pd(a.v, b.v); }
inline Vec<double> operator-(Vec<double> a, Vec<double> b) { return _mm512_sub_pd(a.v, b.v); }
inline Vec<double> operator*(Vec<double> a, Vec<double> b) { return _mm512_mul_pd(a.v, b.v); }
inline Vec<double> operator/(Vec<double> a, Vec<double> b) { return _mm512_div_pd(a.v, b.v); }
inline Vec<double> Fma(Vec<double> a, Vec<double> b, Vec<double> c) { return _mm512_fmadd_pd(a.v, b.v, c.v); }
inline Vec<double> Max(Vec<double> a, Vec<double> b) { return _mm512_max_pd(a.v, b.v); }
inline Vec<double> Min(Vec<double> a, Vec<double> b) { return _mm512_min_pd(a.v, b.v); }
inline Vec<double> Sqrt(Vec<double> a) { return _mm512_sqrt_pd(a.v); }
inline Vec<double> Abs(Vec<double> a) { return _mm512_abs_pd(a.v); }
inline Vec<double> SelectPos(Vec<double> x, Vec<double> a, Vec<double> b) {
  __mmask8 m = _mm512_cmp_pd_mask(x.v, _mm512_setzero_pd(), _CMP_GT_OQ);
  return _mm512_mask_blend_pd(m, b.v, a.v);
}

// exp(x) for 16 floats. Range reduction x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in a hi part
// exact in float and a lo correction, so n·ln2_hi is exact), then a degree-7 Taylor polynomial of
// e^r (truncation error r^8/8! < 7e-9 relative, below float rounding), then scalef to multiply by
// 2^n, which also gives inf/0 on overflow/underflow without special cases. The clamp keeps
// n·ln2 finite for ±inf inputs; Min/Max are written so that a NaN input stays NaN.
inline Vec<float> Exp(Vec<float> x) {
  const __m512 hi = _mm512_set1_ps(88.8f), lo = _mm512_set1_ps(-110.0f);
  __m512 xc = _mm512_max_ps(lo, _mm512_min_ps(hi, x.v));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// Lane-by-lane libm for double (see the header comment).
template <typename F>
inline Vec<double> MapLanes(Vec<double> x, F f) {
  alignas(64) double t[8];
  _mm512_store_pd(t, x.v);
  for (int i = 0; i < 8; ++i) t[i] = f(t[i]);
  return _mm512_load_pd(t);
}
inline Vec<double> Exp(Vec<double> x) { return MapLanes(x, [](double a) { return std::exp(a); }); }

#else  // scalar fallback: one lane

template <typename T>
struct Vec {
  static constexpr int W = 1;
  T v;
  Vec() = default;
  Vec(T x) : v(x) {}  // NOLINT
  static Vec Set(T x) { return x; }
  static Vec Zero() { return T(0); }
  static Vec Load(const T* p, int = 1) { return *p; }
  static Vec LoadOr(const T* p, int, T) { return *p; }
  void Store(T* p, int = 1) const { *p = v; }
  T ReduceAdd() const { return v; }
  T ReduceMax() const { return v; }
  double ReduceAddD() const { return v; }
};
template <typename T> inline Vec<T> operator+(Vec<T> a, Vec<T> b) { return a.v + b.v; }
template <typename T> inline Vec<T> operator-(Vec<T> a, Vec<T> b) { return a.v - b.v; }
template <typename T> inline Vec<T> operator*(Vec<T> a, Vec<T> b) { return a.v * b.v; }
template <typename T> inline Vec<T> operator/(Vec<T> a, Vec<T> b) { return a.v / b.v; }
template <typename T> inline Vec<T> Fma(Vec<T> a, Vec<T> b, Vec<T> c) { return a.v * b.v + c.v; }
// std::fmax/fmin return the number when one argument is NaN; these keep NaN like the AVX path's
// callers expect from a plain comparison.
template <typename T> inline Vec<T> Max(Vec<T> a, Vec<T> b) { return a.v > b.v ? a.v : b.v; }
template <typename T> inline Vec<T> Min(Vec<T> a, Vec<T> b) { return a.v < b.v ? a.v : b.v; }
template <typename T> inline Vec<T> Sqrt(Vec<T> a) { return std::sqrt(a.v); }
template <typename T> inline Vec<T> Abs(Vec<T> a) { return std::fabs(a.v); }
template <typename T> inline Vec<T> SelectPos(Vec<T> x, Vec<T> a, Vec<T> b) { return x.v > 0 ? a : b; }
template <typename T> inline Vec<T> Exp(Vec<T> x) { return std::exp(x.v); }

#endif

// σ(x) = 1 / (1 + e^(−x)); e^(−x) = inf for very negative x gives exactly 0, no NaN.
template <typename T>
inline Vec<T> Sigmoid(Vec<T> x) {
  using V = Vec<T>;
  return V::Set(T(1)) / (V::Set(T(1)) + Exp(V::Zero() - x));
}

// Φ(x), the standard normal CDF, for exact GELU.
// Float: Φ(x) = ½·erfc(−x/√2), with erfc(a) for a ≥ 0 from the classic Chebyshev-fitted form
// erfc(a) ≈ t·exp(−a² + P(t)), t = 1/(1 + a/2) (fractional error < 1.2e-7 for every a ≥ 0), and
// erfc(−a) = 2 − erfc(a). Because that form is accurate *relative* to erfc, Φ stays accurate in
// the far negative tail, where GELU is tiny (an absolute-error erf would lose all digits there).
#if CLIPTS_AVX512
inline Vec<float> Phi(Vec<float> x) {
  using V = Vec<float>;
  V a = Abs(x) * V::Set(0.70710678118654752f);
  V t = V::Set(1.0f) / Fma(a, V::Set(0.5f), V::Set(1.0f));
  V p = V::Set(0.17087277f);
  p = Fma(p, t, V::Set(-0.82215223f));
  p = Fma(p, t, V::Set(1.48851587f));
  p = Fma(p, t, V::Set(-1.13520398f));
  p = Fma(p, t, V::Set(0.27886807f));
  p = Fma(p, t, V::Set(-0.18628806f));
  p = Fma(p, t, V::Set(0.09678418f));
  p = Fma(p, t, V::Set(0.37409196f));
  p = Fma(p, t, V::Set(1.00002368f));
  p = Fma(p, t, V::Set(-1.26551223f));
  // a² = x²/2 exactly as hi + lo (FMA split of x·x; halving is exact), and the exponent
  // p − a² as s + err with a two-sum, so the exponent carries no rounding error before exp: in
  // the tail (|x| ~ 5) a rounded exponent alone would cost ~10 ulp.
  __m512 xx = _mm512_mul_ps(x.v, x.v);
  __m512 xxlo = _mm512_fmsub_ps(x.v, x.v, xx);
  const __m512 half = _mm512_set1_ps(0.5f);
  __m512 a2 = _mm512_mul_ps(xx, half), a2lo = _mm512_mul_ps(xxlo, half);
  __m512 s = _mm512_sub_ps(p.v, a2);
  __m512 bb = _mm512_sub_ps(s, p.v);  // two-sum of p + (−a2)
  __m512 err = _mm512_add_ps(_mm512_sub_ps(p.v, _mm512_sub_ps(s, bb)), _mm512_sub_ps(_mm512_sub_ps(_mm512_setzero_ps(), a2), bb));
  __m512 delta = _mm512_sub_ps(err, a2lo);  // tiny: e^(s + δ) ≈ e^s·(1 + δ)
  V e = t * V(_mm512_fmadd_ps(Exp(V(s)).v, delta, Exp(V(s)).v));  // erfc(a)
  V half_e = e * V::Set(0.5f);
  // x > 0: Φ = 1 − ½erfc(a); otherwise Φ = ½erfc(a).
  return SelectPos(x, V::Set(1.0f) - half_e, half_e);
}
inline Vec<double> Phi(Vec<double> x) {
  return MapLanes(x, [](double a) { return 0.5 * std::erfc(-a * 0.70710678118654752440); });
}
#else
// Scalar build: evaluate in double, so the float result is correctly rounded (x/√2 rounded in
// float alone would cost ~20 ulp in the far tail).
template <typename T>
inline Vec<T> Phi(Vec<T> x) {
  return static_cast<T>(0.5 * std::erfc(-static_cast<double>(x.v) * 0.70710678118654752440));
}
#endif

// Runs body(i, n) over [0, len) in vector steps: n = W except for the masked tail.
template <typename T, typename F>
inline void ForVec(size_t len, F&& body) {
  constexpr int W = Vec<T>::W;
  size_t i = 0;
  for (; i + W <= len; i += W) body(i, W);
  if (i < len) body(i, static_cast<int>(len - i));
}

}  // namespace simd
}  // namespace clipts
