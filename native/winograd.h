// Float32 3×3 stride-1 pad-1 convolution forward by Winograd F(2×2, 3×3), AVX-512, with the same
// fused epilogue as conv_fast.h (bias → batch norm → [+ residual] → [ReLU]).
//
// Each 2×2 output tile is computed from the 4×4 input tile around it: V = Bᵀ d B (per channel),
// U = G g Gᵀ (per output/input channel pair), M = Σ_c U ⊙ V (16 independent GEMMs, one per
// transform position), Y = Aᵀ M A. The GEMMs do 16/36 of the direct conv's multiplications.
// F(2×2, 3×3) is used (not F(4×4, 3×3)) because its transforms are exact up to one rounding per
// add (coefficients 0, ±1 on the data side, ½ in G) and its error stays at the direct conv's
// level (relative L2 ~3e-7 on RN50's layers, against ~2e-6 for F(4×4)).
//
// Work split: blocks of NR (48) consecutive tiles (in n, tile row, tile column order) run one per
// thread, from a shared counter. Per block, all channels of the input transform go to a
// thread-local [16][C][48] buffer (the packed B panel layout of conv_fast's micro-kernel); then
// per MR-channel output panel, the 16 GEMMs leave a [16][MR][48] block in L1, which the output
// transform and epilogue turn into output pixels right away. The transformed filters are packed
// once per call as [16][O/MR][C][MR] (the micro-kernel's A panels).
//
// CLIP_TS_WINOGRAD=0 disables it (every conv on the direct kernel), =1 uses it for every shape it
// supports (tests); unset, it is used where it measured faster than the direct kernel.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "conv_fast.h"

#if CLIPTS_AVX512
#include <immintrin.h>

namespace clipts {
namespace winograd {

using conv_fast::Epilogue;
using conv_fast::MR;
using conv_fast::NR;
using conv_fast::Shape;

// -1: off, 0: heuristic, 1: forced (where supported).
inline int Mode() {
  const char* e = std::getenv("CLIP_TS_WINOGRAD");
  if (e == nullptr || *e == '\0') return 0;
  if (e[0] == '0') return -1;
  if (e[0] == '1') return 1;
  return 0;
}

inline bool Supported(const Shape& g) {
  return g.kh == 3 && g.kw == 3 && g.s == 1 && g.pad == 1 && g.Ho == g.H && g.Wo == g.W;
}

inline bool Use(const Shape& g) {
  const int m = Mode();
  if (m < 0 || !winograd::Supported(g)) return false;
  if (m > 0) return true;
  // Measured (RN50 layers, 2 threads, AMD EPYC): 1.2–1.9× the direct kernel from 32 channels and
  // about 400 tiles on (batch 32: 112×112 to 7×7); slower with fewer tiles (the filter transform
  // and the streaming of the transformed filters are not amortised: batch 1 at 14×14 and below).
  const int64_t tiles = g.N * ((g.H + 1) / 2) * ((g.W + 1) / 2);
  return g.C >= 32 && g.O >= 32 && g.C <= 512 && g.H >= 7 && g.W >= 7 && tiles >= 8 * NR;
}

namespace detail {

// Up[((pos·panelsO + ir)·C + c)·MR + r] = (G g[o][c] Gᵀ)[pos], o = ir·MR + r (0 past O),
// computed in double (the MR = 8 channels of a panel in one zmm) and rounded once.
inline void TransformFilters(const Shape& g, const float* w, float* Up, int64_t panelsO) {
  const int64_t C = g.C;
  ParallelFor(static_cast<size_t>(panelsO), 1, [&](size_t b, size_t e) {
    const __m512d half = _mm512_set1_pd(0.5);
    for (size_t irs = b; irs < e; ++irs) {
      const int64_t ir = static_cast<int64_t>(irs);
      const int rows = static_cast<int>(std::min<int64_t>(MR, g.O - ir * MR));
      for (int64_t c = 0; c < C; ++c) {
        alignas(32) float kk[9][MR];
        for (int r = 0; r < MR; ++r) {
          const float* k = w + ((ir * MR + std::min(r, rows - 1)) * C + c) * 9;
          for (int t = 0; t < 9; ++t) kk[t][r] = r < rows ? k[t] : 0.0f;
        }
        __m512d k[9];
        for (int t = 0; t < 9; ++t) k[t] = _mm512_cvtps_pd(_mm256_load_ps(kk[t]));
        __m512d t4[4][3];  // G k
        for (int j = 0; j < 3; ++j) {
          const __m512d k0 = k[j], k1 = k[3 + j], k2 = k[6 + j];
          t4[0][j] = k0;
          t4[1][j] = _mm512_mul_pd(half, _mm512_add_pd(_mm512_add_pd(k0, k1), k2));
          t4[2][j] = _mm512_mul_pd(half, _mm512_add_pd(_mm512_sub_pd(k0, k1), k2));
          t4[3][j] = k2;
        }
        float* dst = Up + (ir * C + c) * MR;
        const int64_t ps = panelsO * C * MR;
        for (int i = 0; i < 4; ++i) {  // (G k) Gᵀ
          const __m512d a0 = t4[i][0], a1 = t4[i][1], a2 = t4[i][2];
          const __m512d u[4] = {a0, _mm512_mul_pd(half, _mm512_add_pd(_mm512_add_pd(a0, a1), a2)),
                                _mm512_mul_pd(half, _mm512_add_pd(_mm512_sub_pd(a0, a1), a2)), a2};
          for (int j = 0; j < 4; ++j) _mm256_store_ps(dst + (i * 4 + j) * ps, _mm512_cvtpd_ps(u[j]));
        }
      }
    }
  });
}

// A 16-lane group of a block is cut into runs: lanes [l0, l0 + len) hold consecutive tiles
// tx0, tx0 + 1, … of one tile row ty of one image. A run's input rows are read with contiguous
// masked loads and split into even and odd columns; its output rows are written with contiguous
// masked stores after interleaving the tiles' two columns (gathers and scatters are several
// times slower on these CPUs).
struct Run {
  int64_t in;       // element (row 2ty − 1, column 2tx0 − 1 − 2·l0) of image n, channel 0
  int64_t out;      // element (row 2ty, column 2tx0 − 2·l0) of image n, channel 0
  __mmask16 lanes;  // [l0, l0 + len)
  __mmask16 ld[4];  // columns inside [0, W) of the loads at in + 0, 16, 2, 18
  __mmask16 st[2];  // outputs of the run inside [0, W) in the two interleaved halves
  uint8_t rows;     // bit a: input row 2ty − 1 + a inside [0, H)
  bool row1;        // output row 2ty + 1 < H
};

struct Group {
  int nruns;
  Run runs[16];
};

inline void MakeGroup(const Shape& g, int64_t j0, int64_t J, Group* G) {
  const int64_t TW = (g.W + 1) / 2, TH = (g.H + 1) / 2, tpi = TH * TW;
  G->nruns = 0;
  for (int l = 0; l < 16 && j0 + l < J;) {
    const int64_t j = j0 + l;
    const int64_t n = j / tpi, rem = j - n * tpi, ty = rem / TW, tx0 = rem - ty * TW;
    const int len = static_cast<int>(std::min<int64_t>({16 - l, TW - tx0, J - j}));
    Run& r = G->runs[G->nruns++];
    const int64_t c0 = 2 * tx0 - 1 - 2 * l;  // input column of load element 0
    r.in = n * g.C * g.H * g.W + (2 * ty - 1) * g.W + c0;
    r.out = n * g.O * g.P + 2 * ty * g.W + c0 + 1;
    r.lanes = static_cast<__mmask16>(((1u << len) - 1) << l);
    const int offs[4] = {0, 16, 2, 18};
    for (int i = 0; i < 4; ++i) {
      uint32_t m = 0;
      for (int e = 0; e < 16; ++e) {
        const int64_t col = c0 + offs[i] + e;
        if (col >= 0 && col < g.W) m |= 1u << e;
      }
      r.ld[i] = static_cast<__mmask16>(m);
    }
    uint32_t st = 0;  // 32 interleaved outputs: element e is lane e / 2, column 2tx + e % 2
    for (int e = 0; e < 32; ++e) {
      const int lane = e / 2;
      const int64_t col = c0 + 1 + e;
      if (lane >= l && lane < l + len && col < g.W) st |= 1u << e;
    }
    r.st[0] = static_cast<__mmask16>(st & 0xffffu);
    r.st[1] = static_cast<__mmask16>(st >> 16);
    r.rows = 0;
    for (int a = 0; a < 4; ++a) {
      if (2 * ty - 1 + a >= 0 && 2 * ty - 1 + a < g.H) r.rows |= static_cast<uint8_t>(1u << a);
    }
    r.row1 = 2 * ty + 1 < g.H;
    l += len;
  }
}

// Vb[(pos·C + c)·ld + 16q + l] = (Bᵀ d B)[pos] of lane l's tile, channel c.
inline void InputTransform(const Shape& g, const float* x, const Group* groups, int nv, float* Vb) {
  const int64_t HW = g.H * g.W, C = g.C, ld = 16 * nv, W = g.W;
  const __m512 zero = _mm512_setzero_ps();
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int q = 0; q < nv; ++q) {
    const Group& G = groups[q];
    for (int64_t c = 0; c < C; ++c) {
      __m512 d[4][4];
      for (int a = 0; a < 4; ++a) {
        for (int b = 0; b < 4; ++b) d[a][b] = zero;
      }
      for (int k = 0; k < G.nruns; ++k) {
        const Run& r = G.runs[k];
        const float* src = x + r.in + c * HW;
        const bool one = G.nruns == 1;
#pragma GCC unroll 4
        for (int a = 0; a < 4; ++a) {
          if (!((r.rows >> a) & 1)) continue;
          const float* row = src + a * W;
          const __m512 v0 = _mm512_maskz_loadu_ps(r.ld[0], row);
          const __m512 v1 = _mm512_maskz_loadu_ps(r.ld[1], row + 16);
          const __m512 v2 = _mm512_maskz_loadu_ps(r.ld[2], row + 2);
          const __m512 v3 = _mm512_maskz_loadu_ps(r.ld[3], row + 18);
          const __m512 e0 = _mm512_permutex2var_ps(v0, even, v1);
          const __m512 e1 = _mm512_permutex2var_ps(v0, odd, v1);
          const __m512 e2 = _mm512_permutex2var_ps(v2, even, v3);
          const __m512 e3 = _mm512_permutex2var_ps(v2, odd, v3);
          if (one) {
            d[a][0] = e0;
            d[a][1] = e1;
            d[a][2] = e2;
            d[a][3] = e3;
          } else {
            d[a][0] = _mm512_mask_mov_ps(d[a][0], r.lanes, e0);
            d[a][1] = _mm512_mask_mov_ps(d[a][1], r.lanes, e1);
            d[a][2] = _mm512_mask_mov_ps(d[a][2], r.lanes, e2);
            d[a][3] = _mm512_mask_mov_ps(d[a][3], r.lanes, e3);
          }
        }
      }
      // Bᵀ d: rows.
      __m512 t[4][4];
#pragma GCC unroll 4
      for (int b = 0; b < 4; ++b) {
        t[0][b] = _mm512_sub_ps(d[0][b], d[2][b]);
        t[1][b] = _mm512_add_ps(d[1][b], d[2][b]);
        t[2][b] = _mm512_sub_ps(d[2][b], d[1][b]);
        t[3][b] = _mm512_sub_ps(d[1][b], d[3][b]);
      }
      float* dst = Vb + c * ld + 16 * q;
      const int64_t ps = C * ld;
#pragma GCC unroll 4
      for (int i = 0; i < 4; ++i) {
        _mm512_store_ps(dst + (i * 4 + 0) * ps, _mm512_sub_ps(t[i][0], t[i][2]));
        _mm512_store_ps(dst + (i * 4 + 1) * ps, _mm512_add_ps(t[i][1], t[i][2]));
        _mm512_store_ps(dst + (i * 4 + 2) * ps, _mm512_sub_ps(t[i][2], t[i][1]));
        _mm512_store_ps(dst + (i * 4 + 3) * ps, _mm512_sub_ps(t[i][1], t[i][3]));
      }
    }
  }
}

// Output row `row` (0 or 1) of a group's tiles, channel o: a, b are the tiles' left and right
// columns; interleaved, through the epilogue (conv_fast::detail::Finish's arithmetic), stored.
inline void StoreRow(const Shape& g, const Epilogue& ep, const Group& G, int64_t o, int row, __m512 a, __m512 b,
                     float* out) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512 zero = _mm512_setzero_ps();
  __m512 z[2] = {_mm512_permutex2var_ps(a, lo, b), _mm512_permutex2var_ps(a, hi, b)};
  const int64_t base = o * g.P + row * g.W;
  for (int h = 0; h < 2; ++h) {
    __m512 t = z[h];
    if (ep.bias != nullptr) t = _mm512_add_ps(t, _mm512_set1_ps(ep.bias[o]));
    if (ep.scale != nullptr) {
      t = _mm512_fmadd_ps(_mm512_sub_ps(t, _mm512_set1_ps(ep.center[o])), _mm512_set1_ps(ep.scale[o]),
                          _mm512_set1_ps(ep.shift[o]));
    }
    if (ep.residual != nullptr) {
      __m512 res = zero;
      for (int k = 0; k < G.nruns; ++k) {
        const Run& r = G.runs[k];
        if (row == 1 && !r.row1) continue;
        res = _mm512_mask_loadu_ps(res, r.st[h], ep.residual + base + r.out + 16 * h);
      }
      t = _mm512_add_ps(t, res);
    }
    if (ep.relu) t = _mm512_max_ps(t, zero);
    for (int k = 0; k < G.nruns; ++k) {
      const Run& r = G.runs[k];
      if (row == 1 && !r.row1) continue;
      _mm512_mask_storeu_ps(out + base + r.out + 16 * h, r.st[h], t);
    }
  }
}

template <int NV>
inline void GemmOut(const Shape& g, const Epilogue& ep, const float* Up, int64_t panelsO, const float* Vb,
                    const Group* groups, float* Mb, float* out) {
  constexpr int ld = 16 * NV;
  const int64_t C = g.C;
  for (int64_t ir = 0; ir < panelsO; ++ir) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, g.O - ir * MR));
    for (int pos = 0; pos < 16; ++pos) {
      __m512 acc[MR][NV];
      conv_fast::detail::Micro<NV>(C, Up + (pos * panelsO + ir) * C * MR, 0, MR, Vb + pos * C * ld, acc);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 3
        for (int v = 0; v < NV; ++v) _mm512_store_ps(Mb + (pos * MR + r) * ld + 16 * v, acc[r][v]);
      }
    }
    for (int r = 0; r < rows; ++r) {
      const int64_t o = ir * MR + r;
      for (int v = 0; v < NV; ++v) {
        __m512 m[16];
        for (int pos = 0; pos < 16; ++pos) m[pos] = _mm512_load_ps(Mb + (pos * MR + r) * ld + 16 * v);
        // Aᵀ M: rows.
        __m512 s0[4], s1[4];
        for (int j = 0; j < 4; ++j) {
          s0[j] = _mm512_add_ps(_mm512_add_ps(m[j], m[4 + j]), m[8 + j]);
          s1[j] = _mm512_sub_ps(_mm512_sub_ps(m[4 + j], m[8 + j]), m[12 + j]);
        }
        const __m512 y00 = _mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]);
        const __m512 y01 = _mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]);
        const __m512 y10 = _mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]);
        const __m512 y11 = _mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]);
        StoreRow(g, ep, groups[v], o, 0, y00, y01, out);
        StoreRow(g, ep, groups[v], o, 1, y10, y11, out);
      }
    }
  }
}

}  // namespace detail

// out ([N, O, H, W]) = epilogue(conv3×3(x, w, pad 1)). Same contract as conv_fast::Forward.
inline void Forward(const Shape& g, const float* x, const float* w, float* out, const Epilogue& ep) {
  using namespace detail;
  if (g.N == 0 || g.P == 0) return;
  const int threads = GetNumThreads();
  const int64_t panelsO = (g.O + MR - 1) / MR;
  float* Up = conv_fast::detail::Buffer(3, static_cast<size_t>(16 * panelsO * g.C * MR));
  TransformFilters(g, w, Up, panelsO);
  const int64_t J = g.N * ((g.H + 1) / 2) * ((g.W + 1) / 2);
  const int64_t blocks = (J + NR - 1) / NR;
  std::atomic<int64_t> next{0};
  ParallelFor(static_cast<size_t>(std::min<int64_t>(threads, blocks)), 1, [&](size_t, size_t) {
    float* Vb = conv_fast::detail::Buffer(0, static_cast<size_t>(16 * g.C * NR));
    float* Mb = conv_fast::detail::Buffer(1, static_cast<size_t>(16 * MR * NR));
    Group groups[3];
    for (;;) {
      const int64_t b = next.fetch_add(1);
      if (b >= blocks) break;
      const int64_t j0 = b * NR;
      const int nv = static_cast<int>((std::min<int64_t>(NR, J - j0) + 15) / 16);
      for (int q = 0; q < nv; ++q) MakeGroup(g, j0 + 16 * q, J, &groups[q]);
      InputTransform(g, x, groups, nv, Vb);
      switch (nv) {
        case 3: GemmOut<3>(g, ep, Up, panelsO, Vb, groups, Mb, out); break;
        case 2: GemmOut<2>(g, ep, Up, panelsO, Vb, groups, Mb, out); break;
        default: GemmOut<1>(g, ep, Up, panelsO, Vb, groups, Mb, out); break;
      }
    }
  });
}

}  // namespace winograd
}  // namespace clipts

#endif  // CLIPTS_AVX512
