// GEMM, batched GEMM, bf16 conversion and bf16 GEMM (API.md, "GEMM"), plus fmaPeak.
//
// float64 always goes to CBLAS (dgemm). float32 goes to our own AVX-512 GEMM when the CPU has
// AVX-512 and the matrices are big enough for packing to pay, else to CBLAS. Why not always
// OpenBLAS: Debian's OpenBLAS 0.3.21 does not know Zen 4/5, and the environment of these machines
// pins OPENBLAS_CORETYPE=Haswell (auto-detection on newer CPUs used to crash or give wrong
// results), so OpenBLAS runs its 256-bit AVX2 kernels at about half of what the FMA units can do.
// Our kernel is the classic packed design (Goto/BLIS): B is packed in KC×NC blocks of NR-column
// micro-panels, A in KC-deep MR-row micro-panels, and a 12×32 register tile (24 zmm accumulators)
// does the work, with the B micro-panel resident in L1 and the A block in L2.
//
// The bf16 GEMM uses the same driver with AVX512-BF16 `vdpbf16ps`, which multiplies pairs of bf16
// values and accumulates in fp32: one instruction does two k steps, hence ~2× the fp32 rate.
// (Debian's OpenBLAS is built without BUILD_BFLOAT16: cblas.h declares cblas_sbgemm but the
// library does not export it, so there is no sbgemm to call.)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <string>
#include <vector>

#include "blas.h"
#include "common.h"
#include "kernel_args.h"
#include "simd.h"

#if CLIPTS_AVX512 && defined(__AVX512BF16__)
#define CLIPTS_BF16 1
#else
#define CLIPTS_BF16 0
#endif

namespace clipts {
namespace {

// ---- which float32 GEMM -----------------------------------------------------------------------

// 'auto' uses the AVX-512 kernel where it applies; 'blas' forces CBLAS (for benchmarks and for
// comparing results). Initialised from CLIP_TS_GEMM.
std::atomic<int> g_gemm_kernel{-1};  // -1 unset, 0 auto, 1 blas
int GemmKernelChoice() {
  int k = g_gemm_kernel.load();
  if (k < 0) {
    const char* e = std::getenv("CLIP_TS_GEMM");
    k = (e != nullptr && std::string(e) == "blas") ? 1 : 0;
    g_gemm_kernel.store(k);
  }
  return k;
}

bool CpuHasAvx512() {
#if CLIPTS_AVX512
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return ok;
#else
  return false;
#endif
}
bool CpuHasBf16() {
#if CLIPTS_BF16
  static const bool ok = CpuHasAvx512() && __builtin_cpu_supports("avx512bf16");
  return ok;
#else
  return false;
#endif
}

// ---- bf16 conversion --------------------------------------------------------------------------

// Round to nearest even on the upper 16 bits; NaN stays NaN (quiet bit forced, since rounding could
// otherwise carry a NaN's payload into infinity).
inline uint16_t F32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
inline float Bf16ToF32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

#if CLIPTS_AVX512
// F32ToBf16 on 16 lanes: each 32-bit lane returns its bf16 bits in the low half.
// (vcvtneps2bf16 would be one instruction, but it flushes denormals; this stays bit-exact with the
// scalar conversion and with toBf16.)
inline __m512i RneBf16Bits(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i absmask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, absmask), inf);
  __m512i r = _mm512_add_epi32(
      u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1))));
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x400000)));
  return _mm512_srli_epi32(r, 16);
}
#endif

void ToBf16Range(const float* src, uint16_t* dst, size_t n) {
  size_t i = 0;
#if CLIPTS_AVX512
  for (; i + 16 <= n; i += 16) {
    __m512i r = RneBf16Bits(_mm512_loadu_ps(src + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm512_cvtepi32_epi16(r));
  }
#endif
  for (; i < n; ++i) dst[i] = F32ToBf16(src[i]);
}

void FromBf16Range(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
#if CLIPTS_AVX512
  for (; i + 16 <= n; i += 16) {
    __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
    _mm512_storeu_si512(dst + i, _mm512_slli_epi32(h, 16));
  }
#endif
  for (; i < n; ++i) dst[i] = Bf16ToF32(src[i]);
}

// IEEE half → float32, exact (subnormal halves are normal floats; Inf/NaN keep sign and payload).
inline float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: shift the leading 1 into the implicit position
    uint32_t e = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mant & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void FromF16Range(const uint16_t* src, float* dst, size_t n) {
  size_t i = 0;
#if CLIPTS_AVX512
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i))));
#endif
  for (; i < n; ++i) dst[i] = F16ToF32(src[i]);
}

// ---- shapes and argument checks ---------------------------------------------------------------

struct GemmShape {
  bool ta, tb;
  size_t M, N, K, lda, ldb, ldc;
};

// Elements spanned by an r×c row-major operand with leading dimension ld (0 if empty).
inline size_t Span(size_t rows, size_t cols, size_t ld) { return rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols; }
inline size_t RowsA(const GemmShape& s) { return s.ta ? s.K : s.M; }
inline size_t ColsA(const GemmShape& s) { return s.ta ? s.M : s.K; }
inline size_t RowsB(const GemmShape& s) { return s.tb ? s.N : s.K; }
inline size_t ColsB(const GemmShape& s) { return s.tb ? s.K : s.N; }

bool CheckLd(Napi::Env env, size_t ld, size_t cols, const char* name) {
  size_t need = cols < 1 ? 1 : cols;
  if (ld < need) {
    ThrowRange(env, std::string(name) + " = " + std::to_string(ld) + " is smaller than the row length " +
                        std::to_string(need));
    return false;
  }
  return true;
}

bool CheckShape(Napi::Env env, const GemmShape& s) {
  return CheckLd(env, s.lda, ColsA(s), "lda") && CheckLd(env, s.ldb, ColsB(s), "ldb") && CheckLd(env, s.ldc, s.N, "ldc");
}

// ---- packed AVX-512 GEMM driver -----------------------------------------------------------

#if CLIPTS_AVX512

constexpr int MR = 12;       // rows of the register tile
constexpr int NR = 32;       // columns of the register tile (2 zmm)
constexpr size_t MC = 120;   // rows of A per task (10 micro-panels; 120 KB of packed fp32 A at KC=256)
constexpr size_t NC = 4096;  // columns of B per packed block (fits the big L3)

inline size_t RoundUp(size_t a, size_t b) { return (a + b - 1) / b * b; }

// Writes an MR×NR fp32 tile (edge tiles) into C: the first k block applies beta (beta == 0 never reads C, so
// garbage/NaN there does not leak), later k blocks accumulate.
inline void StoreTile(const float* tile, float* C, size_t ldc, int mr, int nr, float alpha, float beta, bool first) {
  __mmask16 m0 = nr >= 16 ? 0xffff : static_cast<__mmask16>((1u << nr) - 1u);
  __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : static_cast<__mmask16>((1u << (nr - 16)) - 1u);
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int r = 0; r < mr; ++r) {
    float* c = C + r * ldc;
    __m512 t0 = _mm512_mul_ps(va, _mm512_loadu_ps(tile + r * NR));
    __m512 t1 = _mm512_mul_ps(va, _mm512_loadu_ps(tile + r * NR + 16));
    if (!first) {
      t0 = _mm512_add_ps(t0, _mm512_maskz_loadu_ps(m0, c));
      t1 = _mm512_add_ps(t1, _mm512_maskz_loadu_ps(m1, c + 16));
    } else if (beta != 0.0f) {
      t0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), t0);
      t1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), t1);
    }
    _mm512_mask_storeu_ps(c, m0, t0);
    _mm512_mask_storeu_ps(c + 16, m1, t1);
  }
}

// Where a micro-kernel's MR×NR result goes. Full tiles are written straight from the
// accumulator registers; edge tiles (mr < MR or nr < NR) go through `tile` and StoreTile's masks.
struct TileOut {
  float* C;
  size_t ldc;
  int mr, nr;
  float alpha, beta;
  bool first;
  float* tile;
};

inline void WriteAcc(__m512 (&c)[MR][2], const TileOut& o) {
  if (o.mr == MR && o.nr == NR) {
    const __m512 va = _mm512_set1_ps(o.alpha), vb = _mm512_set1_ps(o.beta);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      float* cr = o.C + r * o.ldc;
      __m512 t0 = _mm512_mul_ps(va, c[r][0]), t1 = _mm512_mul_ps(va, c[r][1]);
      if (!o.first) {
        t0 = _mm512_add_ps(t0, _mm512_loadu_ps(cr));
        t1 = _mm512_add_ps(t1, _mm512_loadu_ps(cr + 16));
      } else if (o.beta != 0.0f) {
        t0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr), t0);
        t1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr + 16), t1);
      }
      _mm512_storeu_ps(cr, t0);
      _mm512_storeu_ps(cr + 16, t1);
    }
    return;
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
    _mm512_storeu_ps(o.tile + r * NR, c[r][0]);
    _mm512_storeu_ps(o.tile + r * NR + 16, c[r][1]);
  }
  StoreTile(o.tile, o.C, o.ldc, o.mr, o.nr, o.alpha, o.beta, o.first);
}

// fp32: packed A micro-panel Ap[k·MR + r], packed B micro-panel Bp[k·NR + c].
struct F32Kernel {
  using AElem = float;
  using BElem = float;
  using BSrc = float;
  static constexpr size_t kPerStep = 1;  // k values per packed step
  static constexpr size_t KC = 256;      // k values per block: B micro-panel = 32 KB, stays in L1

  static void PackA(const float* A, size_t lda, bool ta, size_t i0, size_t mr, size_t k0, size_t kc, float* Ap) {
    if (ta) {  // A(i, k) = A[k·lda + i]: a row of the panel is contiguous
      for (size_t k = 0; k < kc; ++k) {
        const float* src = A + (k0 + k) * lda + i0;
        float* dst = Ap + k * MR;
        size_t r = 0;
        for (; r < mr; ++r) dst[r] = src[r];
        for (; r < MR; ++r) dst[r] = 0;
      }
    } else {  // A(i, k) = A[i·lda + k]: 16 k values of a row at a time, scattered MR apart
      const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(MR));
      for (size_t r = 0; r < MR; ++r) {
        if (r < mr) {
          const float* src = A + (i0 + r) * lda + k0;
          size_t k = 0;
          for (; k + 16 <= kc; k += 16) _mm512_i32scatter_ps(Ap + k * MR + r, idx, _mm512_loadu_ps(src + k), 4);
          for (; k < kc; ++k) Ap[k * MR + r] = src[k];
        } else {
          for (size_t k = 0; k < kc; ++k) Ap[k * MR + r] = 0;
        }
      }
    }
  }

  static void PackB(const float* B, size_t ldb, bool tb, size_t j0, size_t nr, size_t k0, size_t kc, float* Bp) {
    if (!tb) {  // B(k, j) = B[k·ldb + j]: a k row of the panel is contiguous
      __mmask16 m0 = nr >= 16 ? 0xffff : static_cast<__mmask16>((1u << nr) - 1u);
      __mmask16 m1 = nr >= 32 ? 0xffff : nr <= 16 ? 0 : static_cast<__mmask16>((1u << (nr - 16)) - 1u);
      for (size_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0;
        _mm512_storeu_ps(Bp + k * NR, _mm512_maskz_loadu_ps(m0, src));
        _mm512_storeu_ps(Bp + k * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
      }
    } else {  // B(k, j) = B[j·ldb + k]: 16 k values of a column at a time, scattered NR apart
      const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                             _mm512_set1_epi32(NR));
      for (size_t c = 0; c < static_cast<size_t>(NR); ++c) {
        if (c < nr) {
          const float* src = B + (j0 + c) * ldb + k0;
          size_t k = 0;
          for (; k + 16 <= kc; k += 16) _mm512_i32scatter_ps(Bp + k * NR + c, idx, _mm512_loadu_ps(src + k), 4);
          for (; k < kc; ++k) Bp[k * NR + c] = src[k];
        } else {
          for (size_t k = 0; k < kc; ++k) Bp[k * NR + c] = 0;
        }
      }
    }
  }

  // tile (MR×NR) = Σ_k Ap ⊗ Bp. The 24 accumulators stay in registers; each k step is 2 loads of
  // B, 12 broadcasts of A (folded into the FMAs as memory operands) and 24 FMAs.
  static void Micro(size_t steps, const float* Ap, const float* Bp, const TileOut& out) {
    __m512 c[MR][2];
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_ps();
    for (size_t k = 0; k < steps; ++k) {
      __m512 b0 = _mm512_loadu_ps(Bp);
      __m512 b1 = _mm512_loadu_ps(Bp + 16);
      _mm_prefetch(reinterpret_cast<const char*>(Ap + 8 * MR), _MM_HINT_T0);  // A streams from L2
#pragma GCC unroll 12
      for (int r = 0; r < MR; ++r) {
        __m512 a = _mm512_set1_ps(Ap[r]);
        c[r][0] = _mm512_fmadd_ps(a, b0, c[r][0]);
        c[r][1] = _mm512_fmadd_ps(a, b1, c[r][1]);
      }
      Ap += MR;
      Bp += NR;
    }
    WriteAcc(c, out);
  }
};

#if CLIPTS_BF16

// bf16: a packed step holds two k values. Ap[s·MR + r] is the 32-bit pair (A(r, 2s), A(r, 2s+1))
// rounded to bf16 while packing; Bp[s·2NR + 2c + e] = B(2s + e, c), so one zmm holds 16 columns ×
// 2 k values, the operand layout of vdpbf16ps.
struct Bf16Kernel {
  using AElem = uint32_t;
  using BElem = uint16_t;
  using BSrc = uint16_t;
  static constexpr size_t kPerStep = 2;
  static constexpr size_t KC = 512;  // 256 steps: B micro-panel = 32 KB, as for fp32

  // Packing is vectorised: with vdpbf16ps doing two k steps per instruction, scalar packing and
  // conversion would otherwise be a visible share of the time for N = 768-sized products.
  static void PackA(const float* A, size_t lda, bool ta, size_t i0, size_t mr, size_t k0, size_t kc, uint32_t* Ap) {
    const size_t steps = (kc + 1) / 2;
    const size_t full = kc / 2;  // steps with both k values inside the block
    if (ta) {
      // A(i, k) = A[k·lda + i]: the 12 rows of one k are contiguous; a step is two such loads.
      const __mmask16 m = static_cast<__mmask16>((1u << mr) - 1u);
      for (size_t s = 0; s < steps; ++s) {
        const float* r0 = A + (k0 + 2 * s) * lda + i0;
        __m512i lo = RneBf16Bits(_mm512_maskz_loadu_ps(m, r0));
        __m512i hi = s < full ? RneBf16Bits(_mm512_maskz_loadu_ps(m, r0 + lda)) : _mm512_setzero_si512();
        __m512i w = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
        _mm512_mask_storeu_epi32(Ap + s * MR, static_cast<__mmask16>((1u << MR) - 1u), w);
      }
      return;
    }
    // A(i, k) = A[i·lda + k]: 32 k values of a row become 16 pair-words, scattered MR words apart.
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(MR));
    for (size_t r = 0; r < MR; ++r) {
      if (r >= mr) {
        for (size_t s = 0; s < steps; ++s) Ap[s * MR + r] = 0;
        continue;
      }
      const float* src = A + (i0 + r) * lda + k0;
      size_t s = 0;
      for (; 2 * s + 32 <= kc; s += 16) {
        __m256i lo = _mm512_cvtepi32_epi16(RneBf16Bits(_mm512_loadu_ps(src + 2 * s)));
        __m256i hi = _mm512_cvtepi32_epi16(RneBf16Bits(_mm512_loadu_ps(src + 2 * s + 16)));
        __m512i words = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        _mm512_i32scatter_epi32(Ap + s * MR + r, idx, words, 4);
      }
      for (; s < steps; ++s) {
        uint32_t lo = F32ToBf16(src[2 * s]);
        uint32_t hi = 2 * s + 1 < kc ? F32ToBf16(src[2 * s + 1]) : 0u;
        Ap[s * MR + r] = lo | (hi << 16);
      }
    }
  }

  static void PackB(const uint16_t* B, size_t ldb, bool tb, size_t j0, size_t nr, size_t k0, size_t kc, uint16_t* Bp) {
    const size_t steps = (kc + 1) / 2;
    const size_t full = kc / 2;
    if (!tb) {
      // B(k, j) = B[k·ldb + j]: interleave rows 2s and 2s+1 column by column.
      const __mmask32 m = nr >= 32 ? 0xffffffffu : static_cast<__mmask32>((1u << nr) - 1u);
      alignas(64) static const uint16_t kIdx0[32] = {0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
                                                     8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
      const __m512i idx0 = _mm512_load_si512(kIdx0);
      const __m512i idx1 = _mm512_add_epi16(idx0, _mm512_set1_epi16(16));
      for (size_t s = 0; s < steps; ++s) {
        const uint16_t* r0 = B + (k0 + 2 * s) * ldb + j0;
        __m512i a = _mm512_maskz_loadu_epi16(m, r0);
        __m512i b = s < full ? _mm512_maskz_loadu_epi16(m, r0 + ldb) : _mm512_setzero_si512();
        _mm512_storeu_si512(Bp + s * 2 * NR, _mm512_permutex2var_epi16(a, idx0, b));
        _mm512_storeu_si512(Bp + s * 2 * NR + 32, _mm512_permutex2var_epi16(a, idx1, b));
      }
      return;
    }
    // B(k, j) = B[j·ldb + k]: a column's k pairs are already the 32-bit words we need; scatter 16
    // of them at a time, NR words apart.
    uint32_t* bw = reinterpret_cast<uint32_t*>(Bp);
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32(NR));
    for (size_t c = 0; c < static_cast<size_t>(NR); ++c) {
      if (c >= nr) {
        for (size_t s = 0; s < steps; ++s) bw[s * NR + c] = 0;
        continue;
      }
      const uint16_t* src = B + (j0 + c) * ldb + k0;
      size_t s = 0;
      for (; s + 16 <= full; s += 16) _mm512_i32scatter_epi32(bw + s * NR + c, idx, _mm512_loadu_si512(src + 2 * s), 4);
      for (; s < steps; ++s) {
        uint32_t lo = src[2 * s];
        uint32_t hi = 2 * s + 1 < kc ? src[2 * s + 1] : 0u;
        bw[s * NR + c] = lo | (hi << 16);
      }
    }
  }

  static void Micro(size_t steps, const uint32_t* Ap, const uint16_t* Bp, const TileOut& out) {
    __m512 c[MR][2];
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) c[r][0] = c[r][1] = _mm512_setzero_ps();
    for (size_t s = 0; s < steps; ++s) {
      __m512bh b0 = (__m512bh)_mm512_loadu_si512(Bp);
      __m512bh b1 = (__m512bh)_mm512_loadu_si512(Bp + 32);
      _mm_prefetch(reinterpret_cast<const char*>(Ap + 8 * MR), _MM_HINT_T0);  // A streams from L2
#pragma GCC unroll 12
      for (int r = 0; r < MR; ++r) {
        __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(Ap[r]));
        c[r][0] = _mm512_dpbf16_ps(c[r][0], a, b0);
        c[r][1] = _mm512_dpbf16_ps(c[r][1], a, b1);
      }
      Ap += MR;
      Bp += 2 * NR;
    }
    WriteAcc(c, out);
  }
};

#endif  // CLIPTS_BF16

// Packing buffers, kept per calling thread and grown as needed: a fresh zero-filled std::vector
// per call would cost a memset and page faults over several MB on every GEMM. (Only the thread that
// calls PackedGemm owns them; pool workers just write through the pointer during the call.)
template <typename E>
E* Scratch(int slot, size_t n) {
  struct Buf { std::unique_ptr<E[]> p; size_t n = 0; };
  thread_local Buf bufs[2];
  Buf& b = bufs[slot];
  if (b.n < n) {
    b.p.reset(new E[n]);
    b.n = n;
  }
  return b.p.get();
}

// Per (NC column block, KC depth block): pack all of op(A)[:, k-block] and op(B)[k-block, j-block]
// (one ParallelFor over micro-panels), then compute the tile grid split into tasks of MC rows × a
// column range (a second ParallelFor). Each element of A and B is packed exactly once per k block.
// `parallel` false runs everything on the calling thread (for use inside a ParallelFor body).
template <class Kern>
void PackedGemm(const GemmShape& s, float alpha, const float* A, const typename Kern::BSrc* B, float beta, float* C,
                bool parallel) {
  using AElem = typename Kern::AElem;
  using BElem = typename Kern::BElem;
  const size_t M = s.M, N = s.N, K = s.K;
  // Rows of A packed at a time: bounds the A buffer to ~4 MB (fp32, KC = 256) whatever M is.
  constexpr size_t kChunkRows = 34 * MC;
  const size_t mp_max = (std::min(M, kChunkRows) + MR - 1) / MR;  // A micro-panels per chunk
  const size_t kc_max = std::min(Kern::KC, RoundUp(K, Kern::kPerStep));
  const size_t steps_max = kc_max / Kern::kPerStep;
  const size_t a_panel = steps_max * MR, b_panel = steps_max * Kern::kPerStep * NR;
  AElem* apack = Scratch<AElem>(0, mp_max * a_panel);
  BElem* bpack = Scratch<BElem>(1, ((std::min(N, NC) + NR - 1) / NR) * b_panel);
  const int threads = parallel ? GetNumThreads() : 1;
  auto run = [&](size_t n, size_t grain, const std::function<void(size_t, size_t)>& fn) {
    if (parallel) ParallelFor(n, grain, fn); else fn(0, n);
  };
  for (size_t jc = 0; jc < N; jc += NC) {
    const size_t nc = std::min(NC, N - jc);
    const size_t np = (nc + NR - 1) / NR;
    for (size_t pc = 0; pc < K; pc += Kern::KC) {
      const size_t kc = std::min(Kern::KC, K - pc);
      const size_t steps = (kc + Kern::kPerStep - 1) / Kern::kPerStep;
      const bool first = pc == 0;
      for (size_t ic = 0; ic < M; ic += kChunkRows) {
        const size_t mc = std::min(kChunkRows, M - ic);
        const size_t mp = (mc + MR - 1) / MR;
        const size_t nb = ic == 0 ? np : 0;  // B is packed once per (jc, pc), with the first chunk
        // Pack: jobs [0, mp) are A micro-panels, [mp, mp + nb) B micro-panels.
        run(mp + nb, 8, [&](size_t j0, size_t j1) {
          for (size_t j = j0; j < j1; ++j) {
            if (j < mp) {
              size_t i0 = ic + j * MR;
              Kern::PackA(A, s.lda, s.ta, i0, std::min<size_t>(MR, M - i0), pc, kc, apack + j * a_panel);
            } else {
              size_t c0 = (j - mp) * NR;
              Kern::PackB(B, s.ldb, s.tb, jc + c0, std::min<size_t>(NR, nc - c0), pc, kc, bpack + (j - mp) * b_panel);
            }
          }
        });
        // Compute: exactly 4 tasks per thread when there are enough rows (ParallelFor makes at most
        // 4 chunks per thread, so any other count leaves one thread a chunk more than the other:
        // 27 MC-row blocks on 2 threads ran 4:3). Each task's rows stay ≤ ~40 panels (≤ 480 KB of
        // packed A, inside L2); with few rows, split by rows of MC and then by columns.
        const size_t want = static_cast<size_t>(threads) * 4;
        size_t mpb = MC / MR;
        if (threads > 1 && mp >= want && (mp + want - 1) / want <= 40) mpb = (mp + want - 1) / want;
        const size_t rblocks = (mp + mpb - 1) / mpb;
        size_t cblocks = 1;
        if (threads > 1 && rblocks < want) cblocks = std::min(np, (want + rblocks - 1) / rblocks);
        const size_t npb = (np + cblocks - 1) / cblocks;
        run(rblocks * cblocks, 1, [&](size_t t0, size_t t1) {
          alignas(64) float tile[MR * NR];
          for (size_t t = t0; t < t1; ++t) {
            size_t rb = t / cblocks, cb = t % cblocks;
            size_t ir0 = rb * mpb, ir1 = std::min(mp, ir0 + mpb);
            size_t jr0 = cb * npb, jr1 = std::min(np, jr0 + npb);
            for (size_t jr = jr0; jr < jr1; ++jr) {
              const BElem* bp = bpack + jr * b_panel;
              size_t col = jc + jr * NR;
              int nr = static_cast<int>(std::min<size_t>(NR, nc - jr * NR));
              for (size_t ir = ir0; ir < ir1; ++ir) {
                size_t row = ic + ir * MR;
                int mr = static_cast<int>(std::min<size_t>(MR, M - row));
                // Start fetching this tile of C now: the micro-kernel's k loop hides the latency,
                // and the C update after it would otherwise stall on 24 cache misses.
                float* crow = C + row * s.ldc + col;
                for (int r = 0; r < mr; ++r) {
                  _mm_prefetch(reinterpret_cast<const char*>(crow + r * s.ldc), _MM_HINT_T0);
                  _mm_prefetch(reinterpret_cast<const char*>(crow + r * s.ldc + 16), _MM_HINT_T0);
                }
                Kern::Micro(steps, apack + ir * a_panel, bp, TileOut{crow, s.ldc, mr, nr, alpha, beta, first, tile});
              }
            }
          }
        });
      }
    }
  }
}

// ---- skinny A·Bᵀ (few rows of A) ------------------------------------------------------------
// With few rows of A — a linear layer on one image's 50 tokens, or a short prompt — packing B (the
// weight matrix) costs as much as the product: the weights are read, written packed and read
// again, all from memory. For op(B) = Bᵀ, each C(i, j) is a dot product of two contiguous rows,
// A(i, :) and B(j, :), so the kernel streams B's rows once, in place: an SR-row slice of B stays in
// L1 while every RR-row group of A (L2 resident) meets it, each of the RR×SR accumulators gathers
// 16 lanes of one dot product, and the lanes are summed once at the end of K.
//
// Two element types share the driver: float32 (16 k per step, FMA) and bf16 (32 k per step,
// vdpbf16ps on pairs; A rounded to bf16 once per call, B given in bf16 — half the weight traffic).
constexpr size_t kSkinnyMaxM = 96;
constexpr int SR = 6;  // rows of B per slice
constexpr int RR = 4;  // rows of A per register tile (RR×SR accumulators + RR A vectors + 1 B vector ≤ 32 zmm)

struct SkinnyF32 {
  using Elem = float;
  static constexpr size_t kStep = 16;     // k values per 512-bit vector
  static constexpr size_t kKBlock = 1024; // a slice of B (SR rows × 4 KB) stays in L1
  static __m512 Load(const float* p) { return _mm512_loadu_ps(p); }
  static __m512 LoadTail(const float* p, size_t n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p); }
  static __m512 Madd(__m512 acc, __m512 a, __m512 b) { return _mm512_fmadd_ps(a, b, acc); }
};

#if CLIPTS_BF16
struct SkinnyBf16 {
  using Elem = uint16_t;
  static constexpr size_t kStep = 32;
  static constexpr size_t kKBlock = 2048;
  static __m512 Load(const uint16_t* p) { return _mm512_castsi512_ps(_mm512_loadu_si512(p)); }
  static __m512 LoadTail(const uint16_t* p, size_t n) {
    return _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(static_cast<__mmask32>((1ull << n) - 1), p));
  }
  static __m512 Madd(__m512 acc, __m512 a, __m512 b) {
    return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh&>(a), reinterpret_cast<__m512bh&>(b));
  }
};
#endif

// `next`, if not null, is the next slice of B: its lines are prefetched along the k loop (B comes
// from memory once per call, and waiting for it slice by slice cost half the time at one image).
template <class Kern, int R, int S>
inline void SkinnyTile(size_t K, const typename Kern::Elem* A, size_t lda, const typename Kern::Elem* B, size_t ldb,
                       float* C, size_t ldc, float alpha, float beta, const typename Kern::Elem* next) {
  __m512 acc[R][S];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < S; ++c) acc[r][c] = _mm512_setzero_ps();
  size_t k = 0;
  for (; k + Kern::kStep <= K; k += Kern::kStep) {
    // The empty asm statements keep each loaded vector in a register: left alone, GCC folds the
    // loads into the FMAs as memory operands (one load per FMA instead of one per vector), which
    // measured half the speed on this machine's Zen 5.
    __m512 a[R];
    for (int r = 0; r < R; ++r) {
      a[r] = Kern::Load(A + r * lda + k);
      __asm__("" : "+v"(a[r]));
    }
    if (next != nullptr)
      for (int c = 0; c < SR; ++c) _mm_prefetch(reinterpret_cast<const char*>(next + c * ldb + k), _MM_HINT_T0);
    for (int c = 0; c < S; ++c) {
      __m512 b = Kern::Load(B + c * ldb + k);
      __asm__("" : "+v"(b));
      for (int r = 0; r < R; ++r) acc[r][c] = Kern::Madd(acc[r][c], a[r], b);
    }
  }
  if (k < K) {
    __m512 a[R];
    for (int r = 0; r < R; ++r) a[r] = Kern::LoadTail(A + r * lda + k, K - k);
    for (int c = 0; c < S; ++c) {
      __m512 b = Kern::LoadTail(B + c * ldb + k, K - k);
      for (int r = 0; r < R; ++r) acc[r][c] = Kern::Madd(acc[r][c], a[r], b);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < S; ++c) {
      float v = alpha * _mm512_reduce_add_ps(acc[r][c]);
      float* out = C + r * ldc + c;
      *out = beta == 0.0f ? v : v + beta * *out;  // beta == 0 never reads C
    }
}

template <class Kern, int S>
inline void SkinnyRows(size_t M, size_t K, const typename Kern::Elem* A, size_t lda, const typename Kern::Elem* B,
                       size_t ldb, float* C, size_t ldc, float alpha, float beta, const typename Kern::Elem* next) {
  size_t i = 0;
  // The first row group prefetches the next slice of B (the later ones find this one in L1).
  for (; i + RR <= M; i += RR)
    SkinnyTile<Kern, RR, S>(K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, alpha, beta, i == 0 ? next : nullptr);
  switch (M - i) {
    case 3: SkinnyTile<Kern, 3, S>(K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, alpha, beta, nullptr); break;
    case 2: SkinnyTile<Kern, 2, S>(K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, alpha, beta, nullptr); break;
    case 1: SkinnyTile<Kern, 1, S>(K, A + i * lda, lda, B, ldb, C + i * ldc, ldc, alpha, beta, nullptr); break;
    default: break;
  }
}

// C = alpha·A·Bᵀ + beta·C with A [M × K] (lda) and B [N × K] (ldb) of the kernel's element type.
template <class Kern>
void SkinnyGemmABt(const GemmShape& s, float alpha, const typename Kern::Elem* A, const typename Kern::Elem* B,
                   float beta, float* C, bool parallel) {
  using E = typename Kern::Elem;
  const size_t slices = (s.N + SR - 1) / SR;
  // K is cut into blocks so that a slice of B stays in L1 and the rows of A in L2; later blocks
  // accumulate into C.
  auto body = [&](size_t j0, size_t j1) {
    for (size_t j = j0; j < j1; ++j) {
      const size_t col = j * SR;
      float* c = C + col;
      for (size_t k0 = 0; k0 < s.K; k0 += Kern::kKBlock) {
        const size_t kc = std::min(Kern::kKBlock, s.K - k0);
        const E* a = A + k0;
        const E* b = B + col * s.ldb + k0;
        const float bk = k0 == 0 ? beta : 1.0f;
        // Prefetch the next slice only when it is whole (SR rows exist to read).
        const E* next = col + 2 * SR <= s.N ? b + SR * s.ldb : nullptr;
        switch (std::min<size_t>(SR, s.N - col)) {
          case 6: SkinnyRows<Kern, 6>(s.M, kc, a, s.lda, b, s.ldb, c, s.ldc, alpha, bk, next); break;
          case 5: SkinnyRows<Kern, 5>(s.M, kc, a, s.lda, b, s.ldb, c, s.ldc, alpha, bk, next); break;
          case 4: SkinnyRows<Kern, 4>(s.M, kc, a, s.lda, b, s.ldb, c, s.ldc, alpha, bk, next); break;
          case 3: SkinnyRows<Kern, 3>(s.M, kc, a, s.lda, b, s.ldb, c, s.ldc, alpha, bk, next); break;
          case 2: SkinnyRows<Kern, 2>(s.M, kc, a, s.lda, b, s.ldb, c, s.ldc, alpha, bk, next); break;
          default: SkinnyRows<Kern, 1>(s.M, kc, a, s.lda, b, s.ldb, c, s.ldc, alpha, bk, next); break;
        }
      }
    }
  };
  // A chunk worth a thread: about 64 K-long dot products per A row.
  if (parallel) ParallelFor(slices, std::max<size_t>(1, 4096 / std::max<size_t>(s.K, 1)), body); else body(0, slices);
}

// Few rows of A against a transposed B (the linear layer's x·Wᵀ) with a K long enough to vectorise.
bool UseSkinny(const GemmShape& s) {
  return !s.ta && s.tb && s.M <= kSkinnyMaxM && s.K >= 64 && s.N >= SR;
}

// Whether the packed kernel is worth it: tiny or skinny products go to BLAS (packing and 12×32
// tiles would mostly be padding there).
bool UsePacked(const GemmShape& s) {
  return s.M >= 16 && s.N >= 32 && s.K >= 16 && static_cast<double>(s.M) * s.N * s.K >= 262144.0;
}

#endif  // CLIPTS_AVX512

void ScaleC(const GemmShape& s, float beta, float* C) {
  for (size_t i = 0; i < s.M; ++i)
    for (size_t j = 0; j < s.N; ++j) C[i * s.ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * s.ldc + j];
}

// float32 GEMM on the calling thread's choice of kernel. `parallel` false: single-threaded.
void Sgemm(const GemmShape& s, float alpha, const float* A, const float* B, float beta, float* C, bool parallel) {
  if (s.M == 0 || s.N == 0) return;
  if (s.K == 0) { ScaleC(s, beta, C); return; }
#if CLIPTS_AVX512
  if (GemmKernelChoice() == 0 && CpuHasAvx512() && UseSkinny(s)) {
    SkinnyGemmABt<SkinnyF32>(s, alpha, A, B, beta, C, parallel);
    return;
  }
  if (GemmKernelChoice() == 0 && CpuHasAvx512() && UsePacked(s)) {
    PackedGemm<F32Kernel>(s, alpha, A, B, beta, C, parallel);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, static_cast<int>(s.M),
              static_cast<int>(s.N), static_cast<int>(s.K), alpha, A, static_cast<int>(s.lda), B,
              static_cast<int>(s.ldb), beta, C, static_cast<int>(s.ldc));
}

void Dgemm(const GemmShape& s, double alpha, const double* A, const double* B, double beta, double* C) {
  if (s.M == 0 || s.N == 0) return;
  cblas_dgemm(CblasRowMajor, s.ta ? CblasTrans : CblasNoTrans, s.tb ? CblasTrans : CblasNoTrans, static_cast<int>(s.M),
              static_cast<int>(s.N), static_cast<int>(s.K), alpha, A, static_cast<int>(s.lda), B,
              static_cast<int>(s.ldb), beta, C, static_cast<int>(s.ldc));
}

// CBLAS takes int sizes.
bool CheckIntRange(Napi::Env env, const GemmShape& s) {
  const size_t lim = 0x7fffffff;
  if (s.M > lim || s.N > lim || s.K > lim || s.lda > lim || s.ldb > lim || s.ldc > lim) {
    ThrowRange(env, "GEMM sizes and leading dimensions must be below 2^31");
    return false;
  }
  return true;
}

// ---- exported functions -----------------------------------------------------------------------

// gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 6, "A", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    GemmShape s;
    s.ta = GetBool(info, 0);
    s.tb = GetBool(info, 1);
    CLIPTS_SIZE(M, 2);
    CLIPTS_SIZE(N, 3);
    CLIPTS_SIZE(K, 4);
    CLIPTS_NUM(alpha, 5);
    CLIPTS_ARRAY(T, A, 6, "A");
    CLIPTS_SIZE(lda, 7);
    CLIPTS_ARRAY(T, B, 8, "B");
    CLIPTS_SIZE(ldb, 9);
    CLIPTS_NUM(beta, 10);
    CLIPTS_ARRAY(T, C, 11, "C");
    CLIPTS_SIZE(ldc, 12);
    s.M = M; s.N = N; s.K = K; s.lda = lda; s.ldb = ldb; s.ldc = ldc;
    if (!CheckShape(env, s) || !CheckIntRange(env, s)) return env.Undefined();
    if (M > 0 && N > 0 && K > 0) {
      CLIPTS_NEED(A, Span(RowsA(s), ColsA(s), lda), "A");
      CLIPTS_NEED(B, Span(RowsB(s), ColsB(s), ldb), "B");
    }
    CLIPTS_NEED(C, Span(M, N, ldc), "C");
    if constexpr (std::is_same_v<T, float>) {
      Sgemm(s, static_cast<float>(alpha), A.data, B.data, static_cast<float>(beta), C.data, true);
    } else {
      Dgemm(s, alpha, A.data, B.data, beta, C.data);
    }
    return env.Undefined();
  });
}

// gemmBatched(transA, transB, M, N, K, alpha, A, strideA, lda, B, strideB, ldb, beta, C, strideC, ldc, batch)
Napi::Value GemmBatched(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 6, "A", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    GemmShape s;
    s.ta = GetBool(info, 0);
    s.tb = GetBool(info, 1);
    CLIPTS_SIZE(M, 2);
    CLIPTS_SIZE(N, 3);
    CLIPTS_SIZE(K, 4);
    CLIPTS_NUM(alpha, 5);
    CLIPTS_ARRAY(T, A, 6, "A");
    CLIPTS_SIZE(strideA, 7);
    CLIPTS_SIZE(lda, 8);
    CLIPTS_ARRAY(T, B, 9, "B");
    CLIPTS_SIZE(strideB, 10);
    CLIPTS_SIZE(ldb, 11);
    CLIPTS_NUM(beta, 12);
    CLIPTS_ARRAY(T, C, 13, "C");
    CLIPTS_SIZE(strideC, 14);
    CLIPTS_SIZE(ldc, 15);
    CLIPTS_SIZE(batch, 16);
    s.M = M; s.N = N; s.K = K; s.lda = lda; s.ldb = ldb; s.ldc = ldc;
    if (!CheckShape(env, s) || !CheckIntRange(env, s)) return env.Undefined();
    if (batch == 0 || M == 0 || N == 0) return env.Undefined();
    if (K > 0) {
      CLIPTS_NEED(A, (batch - 1) * strideA + Span(RowsA(s), ColsA(s), lda), "A");
      CLIPTS_NEED(B, (batch - 1) * strideB + Span(RowsB(s), ColsB(s), ldb), "B");
    }
    CLIPTS_NEED(C, (batch - 1) * strideC + Span(M, N, ldc), "C");
    if (strideC == 0 && batch > 1) {
      // Every product would write the same C: the result would depend on thread timing.
      ThrowRange(env, "strideC must be > 0 when batch > 1");
      return env.Undefined();
    }
    if (strideC < Span(M, N, ldc) && batch > 1) {
      ThrowRange(env, "strideC = " + std::to_string(strideC) + " makes the C matrices overlap (each spans " +
                          std::to_string(Span(M, N, ldc)) + " elements)");
      return env.Undefined();
    }
    auto one = [&](size_t i, bool parallel) {
      const T* a = A.data + i * strideA;
      const T* b = B.data + i * strideB;
      T* c = C.data + i * strideC;
      if constexpr (std::is_same_v<T, float>) {
        Sgemm(s, static_cast<float>(alpha), a, b, static_cast<float>(beta), c, parallel);
      } else {
        Dgemm(s, alpha, a, b, beta, c);
      }
    };
    double flops = 2.0 * static_cast<double>(M) * N * K;
    if (flops >= 4e6 || batch == 1) {
      // Big products: one after another, each using every thread.
      for (size_t i = 0; i < batch; ++i) one(i, true);
    } else {
      // Many small products: one per thread at a time, BLAS single-threaded inside.
      BlasSerialScope serial;
      size_t grain = static_cast<size_t>(std::max(1.0, 2e5 / std::max(flops, 1.0)));
      ParallelFor(batch, grain, [&](size_t b0, size_t b1) {
        for (size_t i = b0; i < b1; ++i) one(i, false);
      });
    }
    return env.Undefined();
  });
}

// (src, dst) element conversions between float32 and 16-bit formats, split over the pool.
template <typename Src, typename Dst>
Napi::Value Convert(const Napi::CallbackInfo& info, void (*range)(const Src*, Dst*, size_t)) {
  Napi::Env env = info.Env();
  CLIPTS_ARRAY(Src, src, 0, "src");
  CLIPTS_ARRAY(Dst, dst, 1, "dst");
  CLIPTS_NEED(dst, src.length, "dst");
  ParallelFor(src.length, 1 << 16, [&](size_t b, size_t e) { range(src.data + b, dst.data + b, e - b); });
  return env.Undefined();
}

Napi::Value ToBf16(const Napi::CallbackInfo& info) { return Convert<float, uint16_t>(info, ToBf16Range); }
Napi::Value FromBf16(const Napi::CallbackInfo& info) { return Convert<uint16_t, float>(info, FromBf16Range); }
// fromFloat16: checkpoints store float16; converting 150 M weights in JavaScript took seconds of
// a model load.
Napi::Value FromFloat16(const Napi::CallbackInfo& info) { return Convert<uint16_t, float>(info, FromF16Range); }

// gemmBf16(transA, transB, M, N, K, alpha, A F32, lda, B U16, ldb, beta, C F32, ldc)
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmShape s;
  s.ta = GetBool(info, 0);
  s.tb = GetBool(info, 1);
  CLIPTS_SIZE(M, 2);
  CLIPTS_SIZE(N, 3);
  CLIPTS_SIZE(K, 4);
  CLIPTS_NUM(alpha, 5);
  CLIPTS_ARRAY(float, A, 6, "A");
  CLIPTS_SIZE(lda, 7);
  CLIPTS_ARRAY(uint16_t, B, 8, "B");
  CLIPTS_SIZE(ldb, 9);
  CLIPTS_NUM(beta, 10);
  CLIPTS_ARRAY(float, C, 11, "C");
  CLIPTS_SIZE(ldc, 12);
  s.M = M; s.N = N; s.K = K; s.lda = lda; s.ldb = ldb; s.ldc = ldc;
  if (!CheckShape(env, s) || !CheckIntRange(env, s)) return env.Undefined();
  if (M > 0 && N > 0 && K > 0) {
    CLIPTS_NEED(A, Span(RowsA(s), ColsA(s), lda), "A");
    CLIPTS_NEED(B, Span(RowsB(s), ColsB(s), ldb), "B");
  }
  CLIPTS_NEED(C, Span(M, N, ldc), "C");
  if (M == 0 || N == 0) return env.Undefined();
  if (K == 0) { ScaleC(s, static_cast<float>(beta), C.data); return env.Undefined(); }
#if CLIPTS_BF16
  if (CpuHasBf16() && UseSkinny(s)) {
    // A's few rows are rounded to bf16 once (the packed path rounds while packing).
    uint16_t* a16 = Scratch<uint16_t>(0, M * K);
    for (size_t r = 0; r < M; ++r) ToBf16Range(A.data + r * lda, a16 + r * K, K);
    GemmShape w = s;
    w.lda = K;
    SkinnyGemmABt<SkinnyBf16>(w, static_cast<float>(alpha), a16, B.data, static_cast<float>(beta), C.data, true);
    return env.Undefined();
  }
  if (CpuHasBf16()) {
    PackedGemm<Bf16Kernel>(s, static_cast<float>(alpha), A.data, B.data, static_cast<float>(beta), C.data, true);
    return env.Undefined();
  }
#endif
  // Portable fallback: widen B (exact) and run the fp32 GEMM. A is rounded to bf16 first, so the
  // result matches the fast path's arithmetic up to fp32 summation order.
  size_t rb = RowsB(s), cb = ColsB(s);
  std::vector<float> bw(rb * cb);
  for (size_t r = 0; r < rb; ++r) FromBf16Range(B.data + r * ldb, bw.data() + r * cb, cb);
  size_t ra = RowsA(s), ca = ColsA(s);
  std::vector<float> aw(ra * ca);
  for (size_t r = 0; r < ra; ++r)
    for (size_t c = 0; c < ca; ++c) aw[r * ca + c] = Bf16ToF32(F32ToBf16(A.data[r * lda + c]));
  GemmShape w = s;
  w.lda = ca;
  w.ldb = cb;
  Sgemm(w, static_cast<float>(alpha), aw.data(), bw.data(), static_cast<float>(beta), C.data, true);
  return env.Undefined();
}

Napi::Value HasBf16(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), CpuHasBf16()); }

// gemmKernel() → 'avx512' | 'blas' (the float32 GEMM in use); gemmKernel('blas' | 'auto') sets it.
Napi::Value GemmKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() > 0 && !info[0].IsUndefined()) {
    if (!info[0].IsString()) {
      ThrowType(env, "gemmKernel(which) takes 'auto' or 'blas'");
      return env.Undefined();
    }
    std::string w = info[0].As<Napi::String>().Utf8Value();
    if (w != "auto" && w != "blas") {
      ThrowRange(env, "gemmKernel(which) takes 'auto' or 'blas', got '" + w + "'");
      return env.Undefined();
    }
    g_gemm_kernel.store(w == "blas" ? 1 : 0);
  }
  bool packed = GemmKernelChoice() == 0 && CpuHasAvx512();
  return Napi::String::New(env, packed ? "avx512" : "blas");
}

// fmaPeak(seconds) → GFLOP/s: every pool thread runs independent FMA chains (16 accumulators, more
// than latency × ports) for about `seconds`; flops / wall time is the machine's fp32 peak.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CLIPTS_NUM(seconds, 0);
  if (!(seconds > 0) || seconds > 60) {
    ThrowRange(env, "fmaPeak(seconds) needs 0 < seconds <= 60");
    return env.Undefined();
  }
  int threads = GetNumThreads();
  std::vector<double> flops(threads, 0.0);
  std::vector<float> sink(threads, 0.0f);
  auto t0 = std::chrono::steady_clock::now();
  ParallelFor(threads, 1, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t) {
      auto start = std::chrono::steady_clock::now();
      double done = 0;
      constexpr int kIters = 4096;
#if CLIPTS_AVX512
      __m512 acc[16];
      for (int i = 0; i < 16; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i) * 1e-3f);
      const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-7f);
      constexpr double kFlopsPerIter = 16.0 * 16 * 2;
#else
      float acc[16][8];
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) acc[i][j] = static_cast<float>(i) * 1e-3f;
      const float mul = 0.999999f, add = 1e-7f;
      constexpr double kFlopsPerIter = 16.0 * 8 * 2;
#endif
      for (;;) {
        for (int it = 0; it < kIters; ++it) {
#if CLIPTS_AVX512
#pragma GCC unroll 16
          for (int i = 0; i < 16; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
#else
          for (int i = 0; i < 16; ++i)
            for (int j = 0; j < 8; ++j) acc[i][j] = acc[i][j] * mul + add;
#endif
        }
        done += kIters * kFlopsPerIter;
        std::chrono::duration<double> el = std::chrono::steady_clock::now() - start;
        if (el.count() >= seconds) break;
      }
      float s = 0;
#if CLIPTS_AVX512
      for (int i = 0; i < 16; ++i) s += _mm512_reduce_add_ps(acc[i]);
#else
      for (int i = 0; i < 16; ++i) s += acc[i][0];
#endif
      sink[t] = s;  // keeps the loop from being optimised away
      flops[t] = done;
    }
  });
  std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
  double total = 0;
  for (double f : flops) total += f;
  float s = 0;
  for (float x : sink) s += x;
  if (s == 12345.678f) total += 1;  // never true; uses the sink
  return Napi::Number::New(env, total / wall.count() / 1e9);
}

}  // namespace

void RegisterGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("gemmBatched", Napi::Function::New(env, GemmBatched));
  exports.Set("toBf16", Napi::Function::New(env, ToBf16));
  exports.Set("fromBf16", Napi::Function::New(env, FromBf16));
  exports.Set("fromFloat16", Napi::Function::New(env, FromFloat16));
  exports.Set("gemmBf16", Napi::Function::New(env, GemmBf16));
  exports.Set("hasBf16", Napi::Function::New(env, HasBf16));
  exports.Set("gemmKernel", Napi::Function::New(env, GemmKernel));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
}

}  // namespace clipts
