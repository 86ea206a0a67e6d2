// Float32 convolution forward for AVX-512 CPUs: an implicit-im2col GEMM with a fused epilogue.
//
// Why not im2col + BLAS (conv.cc's general path): the lowered matrix is kh·kw times the input and
// is written to memory only to be packed again by the GEMM; OpenBLAS runs its AVX2 kernels on
// these machines; and bias, batch norm, residual and ReLU each cost another pass over the output.
// Here the receptive fields are copied straight into the GEMM's packed B panels (the only copy),
// and each output tile gets its epilogue while it is still in registers.
//
// GEMM view per call: out[n][o][p] = Σ_k W[o][k] · X̂[k][j], j = n·P + p runs over the whole
// batch, so small maps (7×7) fill register tiles across image boundaries without a gather.
//  * Register tile: MR = 8 output channels × 48 positions (3 zmm), 24 accumulators; a short
//    panel uses 1 or 2 zmm, so a 49-position map does not pay for 96.
//  * B (positions) is packed per task in k-blocks of ≤ 256 rows, channel-innermost (the taps'
//    masks and offsets are worked out once per panel, not per channel).
//  * A (weights) is packed once per call, k-block-major, shared by all threads; with few columns
//    (batch 1, 7×7 and 14×14 maps) the micro-kernel reads the weights in place instead.
//  * Tasks are column chunks × channel blocks; channel blocks only split when there are too few
//    chunks for the threads (batch 1, small maps). Every task packs its own B.
//  * Partial sums over k-blocks go to a per-task scratch, so the output is written once, by the
//    epilogue, through per-image runs (masked stores; a tile may span two images). Big outputs
//    are written with streaming stores, on a panel grid aligned to the output's cache lines.
//  * Memory the hardware prefetchers do not follow (the next tile's output and residual rows, the
//    input rows of the next packing step, one per channel) is prefetched between micro-kernel calls.
// Each output element is summed in the same order whatever the thread count, task split or
// epilogue, so the fused kernel (conv → BN → [+ residual] → ReLU) equals conv2d followed by the
// separate batchNorm/add/relu kernels bit for bit.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "simd.h"
#include "threadpool.h"

#if CLIPTS_AVX512
#include <immintrin.h>

namespace clipts {
namespace conv_fast {

constexpr int MR = 8;       // output channels per register tile
constexpr int NVMAX = 3;    // zmm columns per register tile
constexpr int NR = 16 * NVMAX;
constexpr int KWMAX = 7;    // widest kernel handled here (wider ones use conv.cc's patch lowering)
constexpr int64_t KCMAX = 256;

struct Shape {
  int64_t N, C, H, W, O, kh, kw, s, pad;
  int64_t Ho, Wo, P, K;
};

// Per output channel o, applied in this order to the finished sum t (any pointer may be null):
// t += bias[o]; t = (t − center[o])·scale[o] + shift[o]; t += residual[n][o][p]; t = max(t, 0).
// The batch-norm step is the same expression (and rounding) as batchnorm.cc's ScaleShift.
struct Epilogue {
  const float* bias = nullptr;
  const float* center = nullptr;
  const float* scale = nullptr;
  const float* shift = nullptr;
  const float* residual = nullptr;
  bool relu = false;
};

inline bool Supported(const Shape& g) {
  static const bool cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return cpu && g.kw <= KWMAX;
}

namespace detail {

inline __mmask16 Bits16(uint64_t m, int q) { return static_cast<__mmask16>((m >> (16 * q)) & 0xffffu); }
// Lanes [a, b) of a 64-lane mask.
inline uint64_t Range(int64_t a, int64_t b) {
  if (b <= a) return 0;
  const uint64_t hi = b >= 64 ? ~uint64_t{0} : ((uint64_t{1} << b) - 1);
  const uint64_t lo = a <= 0 ? 0 : ((uint64_t{1} << a) - 1);
  return hi & ~lo;
}

// Thread-local buffers, grown as needed: a fresh allocation per call would page-fault (the pool
// threads persist, so each keeps its own).
inline float* Buffer(int slot, size_t n) {
  struct Buf {
    std::unique_ptr<float[]> p;
    size_t n = 0;
  };
  thread_local Buf bufs[4];
  Buf& b = bufs[slot];
  if (b.n < n) {
    b.p.reset();
    b.p.reset(new float[n + 16]);
    b.n = n;
  }
  // 64-byte aligned start.
  return reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(b.p.get()) + 63) & ~uintptr_t{63});
}

// A masked load of one zmm of a packed B row from channel c's plane: lanes `m` of
// x + c·HW + off (stride 1) or of every other element from there (stride 2: lo/hi are the masks
// of the two source zmm). Lanes of one entry come from one input row of one image.
struct Ent {
  int64_t off;
  __mmask16 m, lo, hi;
};

// Output of a panel: per zmm q, the (mask, offset) pairs that place its lanes in `out` (row o
// adds o·P). Lanes of one pair belong to one image.
struct OutPart {
  __mmask16 mask;
  int64_t off;
};

struct Panel {
  int64_t j0;  // first column
  int ncols, nv;
  int nOut[NVMAX];
  OutPart out[NVMAX][NR];
};

// The packer's entries of all panels of a task: entries of (panel t, kernel tap r = ki·kw + kj,
// zmm q) are ents[start[i] .. start[i + 1]), i = (t·kh·kw + r)·NVMAX + q.
struct Entries {
  std::vector<Ent> ents;
  std::vector<int> start;
};

// Describes columns [j0, j0 + ncols) for the packer (appending to `e`) and the epilogue.
inline void MakePanel(const Shape& g, int64_t j0, int ncols, Panel* pn, Entries* e) {
  pn->j0 = j0;
  pn->ncols = ncols;
  pn->nv = (ncols + 15) / 16;
  for (int q = 0; q < NVMAX; ++q) pn->nOut[q] = 0;
  // Runs of consecutive positions of one output row of one image: lanes [l0, l0 + len) hold
  // columns ow0, ow0 + 1, … of output row oh of image n.
  struct Run {
    int l0, len;
    int64_t n, oh, ow0;
  };
  Run runs[NR];
  int nruns = 0;
  int lane = 0;
  while (lane < ncols) {
    const int64_t j = j0 + lane;
    const int64_t n = j / g.P, p = j - n * g.P;
    // Output part: the rest of this image inside the panel.
    const int olen = static_cast<int>(std::min<int64_t>(ncols - lane, g.P - p));
    for (int q = lane / 16; q <= (lane + olen - 1) / 16; ++q) {
      pn->out[q][pn->nOut[q]++] = OutPart{Bits16(Range(lane, lane + olen), q), n * g.O * g.P + p - lane};
    }
    int64_t oh = p / g.Wo, ow = p - oh * g.Wo;
    for (int left = olen; left > 0; ++oh, ow = 0) {
      const int len = static_cast<int>(std::min<int64_t>(left, g.Wo - ow));
      runs[nruns++] = Run{lane, len, n, oh, ow};
      lane += len;
      left -= len;
    }
  }
  // Per run and kj: the lanes whose input column is inside [0, W) (lane L of a run reads column
  // colBase + kj + L·s), as zmm masks; they do not depend on the kernel row ki.
  struct RunCols {
    int64_t colBase;
    __mmask16 m[KWMAX][NVMAX], lo[KWMAX][NVMAX], hi[KWMAX][NVMAX];
  };
  RunCols rc[NR];
  for (int t = 0; t < nruns; ++t) {
    const Run& r = runs[t];
    rc[t].colBase = r.ow0 * g.s - g.pad - static_cast<int64_t>(r.l0) * g.s;
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      const int64_t base = rc[t].colBase + kj;
      int64_t lo = r.l0, hi = r.l0 + r.len;
      if (base + lo * g.s < 0) lo = (-base + g.s - 1) / g.s;
      if (base + (hi - 1) * g.s > g.W - 1) hi = g.W - 1 - base >= 0 ? (g.W - 1 - base) / g.s + 1 : 0;
      const uint64_t lanes = Range(std::max<int64_t>(lo, r.l0), std::min<int64_t>(hi, r.l0 + r.len));
      for (int q = 0; q < NVMAX; ++q) {
        const __mmask16 m = Bits16(lanes, q);
        rc[t].m[kj][q] = m;
        rc[t].lo[kj][q] = static_cast<__mmask16>(_pdep_u32(m & 0xffu, 0x5555u));
        rc[t].hi[kj][q] = static_cast<__mmask16>(_pdep_u32(static_cast<uint32_t>(m) >> 8, 0x5555u));
      }
    }
  }
  const int64_t HW = g.H * g.W;
  e->ents.reserve(e->ents.size() + static_cast<size_t>(g.kh * g.kw * nruns * 2));
  for (int64_t ki = 0; ki < g.kh; ++ki) {
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      for (int q = 0; q < NVMAX; ++q) {
        e->start.push_back(static_cast<int>(e->ents.size()));
        if (q >= pn->nv) continue;
        for (int t = 0; t < nruns; ++t) {
          const Run& r = runs[t];
          const __mmask16 m = rc[t].m[kj][q];
          const int64_t ih = r.oh * g.s - g.pad + ki;
          if (m == 0 || ih < 0 || ih >= g.H) continue;
          // Address of lane 0 of zmm q (masked-off lanes may point outside the image; they are
          // never read).
          e->ents.push_back(Ent{r.n * g.C * HW + ih * g.W + rc[t].colBase + kj + static_cast<int64_t>(16 * q) * g.s, m,
                                rc[t].lo[kj][q], rc[t].hi[kj][q]});
        }
      }
    }
  }
}

// Packs k rows [k0, k0 + kc) of the lowered input of np panels into dst (panel t at
// dst + t·ldp, rows of 16·nv floats); padding lanes and lanes past ncols are zero. The loops run
// channel-innermost: a (panel, tap, zmm)'s entries are the same for every channel, so the inner
// loop is one or two masked loads and a store.
inline void PackBlock(const Shape& g, const float* x, const Panel* panels, int np, const Entries& E, int64_t k0,
                      int64_t kc, float* dst, int64_t ldp) {
  const int64_t HW = g.H * g.W, khw = g.kh * g.kw;
  const int64_t cA = k0 / khw, cB = (k0 + kc - 1) / khw;
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const Ent* ents = E.ents.data();
  const int* start = E.start.data();
  for (int t = 0; t < np; ++t) {
    const int nv = panels[t].nv, ld = 16 * nv;
    const int64_t dstep = khw * ld;
    for (int64_t r = 0; r < khw; ++r) {
      // Channels whose tap r lies in the block.
      const int64_t c0 = cA * khw + r < k0 ? cA + 1 : cA;
      const int64_t c1 = cB * khw + r >= k0 + kc ? cB - 1 : cB;  // inclusive
      if (c0 > c1) continue;
      const int64_t nc = c1 - c0 + 1;
      const int* st = start + (t * khw + r) * NVMAX;
      for (int q = 0; q < nv; ++q) {
        float* d = dst + t * ldp + (c0 * khw + r - k0) * ld + 16 * q;
        const int n = st[q + 1] - st[q];
        const Ent* e = ents + st[q];
        if (n == 0) {
          for (int64_t c = 0; c < nc; ++c) _mm512_store_ps(d + c * dstep, _mm512_setzero_ps());
        } else if (n == 1 && g.s == 1) {
          const float* src = x + c0 * HW + e->off;
          const __mmask16 m = e->m;
          for (int64_t c = 0; c < nc; ++c, src += HW) _mm512_store_ps(d + c * dstep, _mm512_maskz_loadu_ps(m, src));
        } else if (n == 1 && g.s == 2) {
          const float* src = x + c0 * HW + e->off;
          for (int64_t c = 0; c < nc; ++c, src += HW) {
            const __m512 a = _mm512_maskz_loadu_ps(e->lo, src);
            const __m512 b = _mm512_maskz_loadu_ps(e->hi, src + 16);
            _mm512_store_ps(d + c * dstep, _mm512_maskz_permutex2var_ps(e->m, a, even, b));
          }
        } else {
          const float* xc = x + c0 * HW;
          for (int64_t c = 0; c < nc; ++c, xc += HW) {
            __m512 v = _mm512_setzero_ps();
            for (int i = 0; i < n; ++i) {
              const float* src = xc + e[i].off;
              if (g.s == 1) {
                v = _mm512_mask_loadu_ps(v, e[i].m, src);
              } else if (g.s == 2) {
                const __m512 a = _mm512_maskz_loadu_ps(e[i].lo, src);
                const __m512 b = _mm512_maskz_loadu_ps(e[i].hi, src + 16);
                v = _mm512_mask_mov_ps(v, e[i].m, _mm512_permutex2var_ps(a, even, b));
              } else {
                alignas(64) float tmp[16];
                _mm512_store_ps(tmp, v);
                for (int l = 0; l < 16; ++l) {
                  if ((e[i].m >> l) & 1) tmp[l] = src[static_cast<int64_t>(l) * g.s];
                }
                v = _mm512_load_ps(tmp);
              }
            }
            _mm512_store_ps(d + c * dstep, v);
          }
        }
      }
    }
  }
}

// acc = Σ_k A[k][0..MR) ⊗ Bp[k][0..16·NV). A is a packed panel (A[k][r] = Ap[k·MR + r]) when
// lda == 0, else the weights themselves (A[k][r] = Ap[r·lda + k]; rows past `rows` repeat the
// last one, whose results are not stored).
template <int NV>
inline void Micro(int64_t kc, const float* __restrict Ap, int64_t lda, int rows, const float* __restrict Bp,
                  __m512 (&acc)[MR][NV]) {
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  if (lda == 0) {
    for (int64_t k = 0; k < kc; ++k) {
      __m512 b[NV];
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(Bp + 16 * v);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m512 a = _mm512_set1_ps(Ap[r]);
#pragma GCC unroll 3
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
      }
      Ap += MR;
      Bp += 16 * NV;
    }
    return;
  }
  const float* a0 = Ap;
  const float* a1 = Ap + std::min(1, rows - 1) * lda;
  const float* a2 = Ap + std::min(2, rows - 1) * lda;
  const float* a3 = Ap + std::min(3, rows - 1) * lda;
  const float* a4 = Ap + std::min(4, rows - 1) * lda;
  const float* a5 = Ap + std::min(5, rows - 1) * lda;
  const float* a6 = Ap + std::min(6, rows - 1) * lda;
  const float* a7 = Ap + std::min(7, rows - 1) * lda;
  for (int64_t k = 0; k < kc; ++k) {
    if ((k & 15) == 0) {
      // Eight weight rows stream from memory, too many for the hardware prefetcher to follow
      // from a standing start: fetch four lines ahead in each.
      _mm_prefetch(reinterpret_cast<const char*>(a0 + k + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(a1 + k + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(a2 + k + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(a3 + k + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(a4 + k + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(a5 + k + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(a6 + k + 64), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(a7 + k + 64), _MM_HINT_T0);
    }
    __m512 b[NV];
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) b[v] = _mm512_load_ps(Bp + 16 * v);
    const float av[MR] = {a0[k], a1[k], a2[k], a3[k], a4[k], a5[k], a6[k], a7[k]};
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(av[r]);
#pragma GCC unroll 3
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(a, b[v], acc[r][v]);
    }
    Bp += 16 * NV;
  }
}

// Not the last k-block: the tile's partial sums to (first) or onto (later) the scratch tile.
template <int NV>
inline void SavePartial(__m512 (&acc)[MR][NV], float* tile, bool first) {
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      float* p = tile + r * NR + 16 * v;
      _mm512_store_ps(p, first ? acc[r][v] : _mm512_add_ps(_mm512_load_ps(p), acc[r][v]));
    }
  }
}

// The last k-block: finish the sum (+ the scratch partial), apply the epilogue, write rows
// [o0, o0 + mr) through the panel's output parts.
template <int NV>
inline void Finish(__m512 (&acc)[MR][NV], const float* partial, const Shape& g, const Epilogue& ep, const Panel& pn,
                   int64_t o0, int mr, bool stream, float* out) {
  const __m512 zero = _mm512_setzero_ps();
  for (int r = 0; r < mr; ++r) {
    const int64_t o = o0 + r;
    const int64_t rowOff = o * g.P;
    __m512 vb = zero, vc = zero, va = zero, vd = zero;
    if (ep.bias != nullptr) vb = _mm512_set1_ps(ep.bias[o]);
    if (ep.scale != nullptr) {
      vc = _mm512_set1_ps(ep.center[o]);
      va = _mm512_set1_ps(ep.scale[o]);
      vd = _mm512_set1_ps(ep.shift[o]);
    }
#pragma GCC unroll 3
    for (int v = 0; v < NV; ++v) {
      __m512 t = acc[r][v];
      if (partial != nullptr) t = _mm512_add_ps(_mm512_load_ps(partial + r * NR + 16 * v), t);
      if (ep.bias != nullptr) t = _mm512_add_ps(t, vb);
      if (ep.scale != nullptr) t = _mm512_fmadd_ps(_mm512_sub_ps(t, vc), va, vd);
      const int parts = pn.nOut[v];
      if (ep.residual != nullptr) {
        __m512 res = zero;
        for (int i = 0; i < parts; ++i) {
          res = _mm512_mask_loadu_ps(res, pn.out[v][i].mask, ep.residual + pn.out[v][i].off + 16 * v + rowOff);
        }
        t = _mm512_add_ps(t, res);
      }
      if (ep.relu) t = _mm512_max_ps(t, zero);
      float* dst0 = out + pn.out[v][0].off + 16 * v + rowOff;
      if (stream && parts == 1 && pn.out[v][0].mask == 0xffff && (reinterpret_cast<uintptr_t>(dst0) & 63) == 0) {
        _mm512_stream_ps(dst0, t);
      } else {
        for (int i = 0; i < parts; ++i) {
          _mm512_mask_storeu_ps(out + pn.out[v][i].off + 16 * v + rowOff, pn.out[v][i].mask, t);
        }
      }
    }
  }
}

struct Plan {
  int64_t J;         // columns: N·P
  int64_t KC;        // k rows per block
  int64_t panelsO;   // MR-channel panels
  int64_t MCp;       // channel panels per A block (an L2-sized slice of a k-block)
  int64_t chunkCols, chunks;
  int64_t rowBlocks, panelsPerBlock;
  int64_t phase;     // panels start at columns ≡ phase (mod NR): output rows then start on cache lines
  bool packA;        // pack the weights (else the micro-kernel reads them in place)
  bool stream;       // full aligned output lines are written with non-temporal stores
};

inline Plan MakePlan(const Shape& g, int threads, const float* out) {
  Plan pl;
  pl.J = g.N * g.P;
  // Tensors are malloc'd (16-byte aligned). When every output row starts at the same offset
  // within a cache line (P a multiple of 16), shifting the panel grid to that offset makes each
  // full tile row three whole lines: no stores split across lines, and whole-line streaming.
  pl.phase = 0;
  if (g.P % 16 == 0) pl.phase = ((64 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(out) & 63)) & 63) / 4;
  // Outputs far larger than the caches go straight to memory (no read for ownership of lines
  // that are entirely overwritten); smaller ones stay cached for the next layer.
  pl.stream = g.N * g.O * g.P * 4 >= (int64_t{24} << 20);
  const int64_t kblocks = (g.K + KCMAX - 1) / KCMAX;
  pl.KC = (g.K + kblocks - 1) / kblocks;
  pl.panelsO = (g.O + MR - 1) / MR;
  pl.MCp = std::max<int64_t>(1, (384 * 1024 / 4) / (pl.KC * MR));
  // ~4 register panels of columns per task: the packed B block (≤ 256 × 192 floats) stays in L2.
  const int64_t want = 4 * NR;
  const int64_t chunks = std::max<int64_t>(1, (pl.J + want - 1) / want);
  pl.chunkCols = ((pl.J + chunks - 1) / chunks + NR - 1) / NR * NR;
  // Chunk k covers [Start(k), Start(k + 1)); see ChunkStart.
  pl.chunks = std::max<int64_t>(1, (pl.J - pl.phase + pl.chunkCols - 1) / pl.chunkCols);
  // Too few chunks for the threads (batch 1, small maps): split the channels as well.
  const int64_t target = 4 * static_cast<int64_t>(threads);
  pl.rowBlocks = 1;
  if (threads > 1 && pl.chunks < target) {
    pl.rowBlocks = std::min<int64_t>((target + pl.chunks - 1) / pl.chunks, std::max<int64_t>(1, pl.panelsO / 2));
  }
  pl.panelsPerBlock = (pl.panelsO + pl.rowBlocks - 1) / pl.rowBlocks;
  pl.rowBlocks = (pl.panelsO + pl.panelsPerBlock - 1) / pl.panelsPerBlock;
  // Packing reads and writes every weight once more; it pays only when each weight then serves
  // many column panels. With few columns (batch 1, 7×7 and 14×14 maps) the weights stream from
  // memory straight into the micro-kernel.
  pl.packA = pl.J > 5 * NR;
  return pl;
}

// First column of chunk ch: 0, then phase + ch·chunkCols (so chunk 0 may hold up to 15 more).
inline int64_t ChunkStart(const Plan& pl, int64_t ch) {
  if (ch >= pl.chunks) return pl.J;
  return ch == 0 ? 0 : std::min(pl.J, pl.phase + ch * pl.chunkCols);
}

// Packed weights: k-block by k-block (rows [pc, pc + kc)), each block all channel panels in order,
// a panel [kc][MR] (zero rows past O): the A panels of consecutive micro-kernel calls are one
// sequential stream.
inline const float* APanel(const Shape& g, const Plan& pl, const float* Ap, int64_t pc, int64_t kc, int64_t ir) {
  if (!pl.packA) return Ap + ir * MR * g.K + pc;
  return Ap + pc * pl.panelsO * MR + ir * kc * MR;
}

// 8×8 transpose: rows r[0..8) (8 floats each) → columns, out[k] = (r0[k], …, r7[k]).
inline void Transpose8(__m256 (&r)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

inline void PackWeights(const Shape& g, const Plan& pl, const float* w, float* Ap) {
  const int64_t kblocks = (g.K + pl.KC - 1) / pl.KC;
  const size_t items = static_cast<size_t>(kblocks * pl.panelsO);
  ParallelFor(items, std::max<size_t>(1, 16384 / static_cast<size_t>(pl.KC * MR)), [&](size_t b, size_t e) {
    for (size_t it = b; it < e; ++it) {
      const int64_t kb = static_cast<int64_t>(it) / pl.panelsO, ir = static_cast<int64_t>(it) % pl.panelsO;
      const int64_t pc = kb * pl.KC, kc = std::min(pl.KC, g.K - pc);
      float* dst = const_cast<float*>(APanel(g, pl, Ap, pc, kc, ir));
      const int64_t o0 = ir * MR;
      const int rows = static_cast<int>(std::min<int64_t>(MR, g.O - o0));
      int64_t k = 0;
      if (rows == MR) {
        for (; k + 8 <= kc; k += 8) {
          __m256 r[8];
          for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(w + (o0 + i) * g.K + pc + k);
          Transpose8(r);
          for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k + i) * MR, r[i]);
        }
      }
      for (; k < kc; ++k) {
        for (int r = 0; r < MR; ++r) dst[k * MR + r] = r < rows ? w[(o0 + r) * g.K + pc + k] : 0.0f;
      }
    }
  });
}

// The input that the next packing step reads (the next k-block of this task, or the first one of
// the next task), prefetched a few lines between micro-kernel calls: packing reads one row per
// channel, a plane apart, which the hardware prefetchers do not follow, so without this the
// packing of small-O layers (256→64 1×1) waits on memory for most of its time.
struct Ahead {
  struct Span {
    int64_t off, lines;  // first float (in channel 0's plane) and 16-float lines
  };
  std::vector<Span> spans;
  const float* x = nullptr;
  int64_t HW = 0, c = 0, cEnd = 0, line = 0;
  size_t s = 0;
  int64_t perCall = 0;

  // The input regions of columns [j0, j1) (whole input rows when a run spans output rows).
  void SetColumns(const Shape& g, int64_t j0, int64_t j1) {
    spans.clear();
    for (int64_t j = j0; j < j1;) {
      const int64_t n = j / g.P, p0 = j - n * g.P, p1 = std::min(g.P, j1 - n * g.P);
      const int64_t oh0 = p0 / g.Wo, oh1 = (p1 - 1) / g.Wo;
      const int64_t ihLo = std::max<int64_t>(0, oh0 * g.s - g.pad), ihHi = std::min(g.H, oh1 * g.s - g.pad + g.kh);
      const int64_t base = n * g.C * g.H * g.W;
      if (oh0 == oh1) {
        const int64_t iwLo = std::max<int64_t>(0, (p0 - oh0 * g.Wo) * g.s - g.pad);
        const int64_t iwHi = std::min(g.W, (p1 - 1 - oh0 * g.Wo) * g.s - g.pad + g.kw);
        for (int64_t ih = ihLo; ih < ihHi && iwHi > iwLo; ++ih) {
          spans.push_back(Span{base + ih * g.W + iwLo, (iwHi - iwLo + 15) / 16 + 1});
        }
      } else if (ihHi > ihLo) {
        spans.push_back(Span{base + ihLo * g.W, ((ihHi - ihLo) * g.W + 15) / 16 + 1});
      }
      j = (n + 1) * g.P;
    }
  }
  // Targets channels [c0, c1), spread over `calls` micro-kernel calls.
  void Start(const float* xx, int64_t hw, int64_t c0, int64_t c1, int64_t calls) {
    x = xx;
    HW = hw;
    c = c0;
    cEnd = c1;
    s = 0;
    line = 0;
    int64_t lines = 0;
    for (const Span& sp : spans) lines += sp.lines;
    lines *= std::max<int64_t>(0, c1 - c0);
    perCall = spans.empty() ? 0 : std::min<int64_t>(96, (lines + calls - 1) / std::max<int64_t>(1, calls));
  }
  void Step() {
    for (int64_t i = 0; i < perCall && c < cEnd; ++i) {
      const Span& sp = spans[s];
      _mm_prefetch(reinterpret_cast<const char*>(x + c * HW + sp.off + line * 16), _MM_HINT_T0);
      if (++line == sp.lines) {
        line = 0;
        if (++s == spans.size()) {
          s = 0;
          ++c;
        }
      }
    }
  }
};

// The output (for writing) and residual lines of the tile at channels [o0, o0 + MR): the tiles of
// one panel are MR rows a plane apart, too many streams for the hardware prefetcher, and each
// micro-kernel call is long enough to hide the memory latency of the next tile.
inline void PrefetchTile(const Shape& g, const Epilogue& ep, const Panel& pn, int64_t o0, bool stream, float* out) {
  const int64_t o1 = std::min<int64_t>(g.O, o0 + MR);
  for (int q = 0; q < pn.nv; ++q) {
    for (int i = 0; i < pn.nOut[q]; ++i) {
      const OutPart& part = pn.out[q][i];
      const int lo = __builtin_ctz(part.mask), hi = 31 - __builtin_clz(part.mask);
      for (int64_t o = o0; o < o1; ++o) {
        const int64_t base = part.off + 16 * q + o * g.P;
        __builtin_prefetch(out + base + lo, 1, 3);
        __builtin_prefetch(out + base + hi, 1, 3);
        if (ep.residual != nullptr) {
          __builtin_prefetch(ep.residual + base + lo, 0, 3);
          __builtin_prefetch(ep.residual + base + hi, 0, 3);
        }
      }
    }
  }
}

template <int NV>
inline void PanelRows(const Shape& g, const Plan& pl, const Epilogue& ep, const Panel& pn, const float* Ap,
                      const float* Bp, int64_t pc, int64_t kc, int64_t ir0, int64_t ir1, int64_t irBase, bool first,
                      bool last, float* scratch, Ahead* ahead, float* out) {
  __m512 acc[MR][NV];
  for (int64_t ir = ir0; ir < ir1; ++ir) {
    const int64_t o0 = ir * MR;
    const int rows = static_cast<int>(std::min<int64_t>(MR, g.O - o0));
    if (last && ir + 1 < ir1) PrefetchTile(g, ep, pn, o0 + MR, pl.stream, out);
    if (ahead != nullptr) ahead->Step();
    Micro<NV>(kc, APanel(g, pl, Ap, pc, kc, ir), pl.packA ? 0 : g.K, rows, Bp, acc);
    float* tile = scratch + (ir - irBase) * MR * NR;
    if (!last) {
      SavePartial<NV>(acc, tile, first);
    } else {
      Finish<NV>(acc, first ? nullptr : tile, g, ep, pn, o0, rows, pl.stream, out);
    }
  }
}

// One task: columns [j0, j1), channel panels [ir0, ir1).
// next0/next1: the columns of the task this thread runs next (next0 == next1: none, or the same).
inline void RunTask(const Shape& g, const Plan& pl, const float* x, const float* Ap, const Epilogue& ep,
                    int64_t j0, int64_t j1, int64_t ir0, int64_t ir1, int64_t next0, int64_t next1, float* out) {
  thread_local std::vector<Panel> panelBuf;
  thread_local Entries entries;
  // Panels end at columns ≡ phase (mod NR), so the first one may be short.
  const int maxPanels = static_cast<int>((j1 - j0 + NR - 1) / NR) + 1;
  if (panelBuf.size() < static_cast<size_t>(maxPanels)) panelBuf.resize(static_cast<size_t>(maxPanels));
  Panel* panels = panelBuf.data();
  entries.ents.clear();
  entries.start.clear();
  int np = 0;
  {
    for (int64_t a = j0; a < j1; ++np) {
      const int64_t into = ((a - pl.phase) % NR + NR) % NR;
      const int64_t b = std::min(j1, a + NR - into);
      MakePanel(g, a, static_cast<int>(b - a), &panels[np], &entries);
      a = b;
    }
    entries.start.push_back(static_cast<int>(entries.ents.size()));
  }
  const int64_t ldp = pl.KC * NR;
  float* Bp = Buffer(0, static_cast<size_t>(ldp * np));
  const int64_t rows = ir1 - ir0;
  float* scratch = g.K > pl.KC ? Buffer(1, static_cast<size_t>(np * rows * MR * NR)) : nullptr;
  thread_local Ahead aheadBuf;
  const int64_t khw = g.kh * g.kw, HW = g.H * g.W;
  const int64_t microCalls = np * (ir1 - ir0);
  for (int64_t pc = 0; pc < g.K; pc += pl.KC) {
    const int64_t kc = std::min(pl.KC, g.K - pc);
    const bool first = pc == 0, last = pc + kc == g.K;
    Ahead* ah = nullptr;
    if (!last) {
      // The next k-block of these columns.
      if (first) aheadBuf.SetColumns(g, j0, j1);
      const int64_t k1 = std::min(g.K, pc + kc + pl.KC);
      aheadBuf.Start(x, HW, (pc + kc) / khw, (k1 + khw - 1) / khw, microCalls);
      ah = &aheadBuf;
    } else if (next1 > next0) {
      aheadBuf.SetColumns(g, next0, next1);
      aheadBuf.Start(x, HW, 0, std::min(g.C, (pl.KC + khw - 1) / khw), microCalls);
      ah = &aheadBuf;
    }
    {
      PackBlock(g, x, panels, np, entries, pc, kc, Bp, ldp);
    }
    // Packed weights: each B panel stays in L1 while the A panels of a block stream past (Goto's
    // order). Weights read in place (few columns): each A panel is used by every B panel in turn
    // while it is in L1, so the weights stream from memory once.
    const int64_t step = pl.packA ? pl.MCp : 1;
    for (int64_t ic = ir0; ic < ir1; ic += step) {
      const int64_t ic1 = std::min(ir1, ic + step);
      for (int t = 0; t < np; ++t) {
        const Panel& pn = panels[t];
        const float* bp = Bp + t * ldp;
        float* sc = scratch == nullptr ? nullptr : scratch + t * rows * MR * NR;
        switch (pn.nv) {
          case 3: PanelRows<3>(g, pl, ep, pn, Ap, bp, pc, kc, ic, ic1, ir0, first, last, sc, ah, out); break;
          case 2: PanelRows<2>(g, pl, ep, pn, Ap, bp, pc, kc, ic, ic1, ir0, first, last, sc, ah, out); break;
          default: PanelRows<1>(g, pl, ep, pn, Ap, bp, pc, kc, ic, ic1, ir0, first, last, sc, ah, out); break;
        }
      }
    }
  }
  if (pl.stream) _mm_sfence();  // streaming stores are weakly ordered
}

}  // namespace detail

// out ([N, O, Ho, Wo]) = epilogue(conv(x, w)). `out` must not overlap x; it may be the residual.
inline void Forward(const Shape& g, const float* x, const float* w, float* out, const Epilogue& ep) {
  using namespace detail;
  if (g.N == 0 || g.P == 0) return;
  const int threads = GetNumThreads();
  const Plan pl = MakePlan(g, threads, out);
  const float* Ap = w;
  if (pl.packA) {
    float* packed = Buffer(3, static_cast<size_t>(pl.panelsO * g.K * MR));
    PackWeights(g, pl, w, packed);
    Ap = packed;
  }
  const int64_t tasks = pl.chunks * pl.rowBlocks;
  // Each thread takes runs of a few consecutive tasks from a shared counter until none are left:
  // a thread that the OS preempts (these machines are shared) holds up at most one run, not a
  // fixed share of the work. Within a run, a task prefetches the next one's input.
  const int64_t run = std::max<int64_t>(1, std::min<int64_t>(4, tasks / (8 * static_cast<int64_t>(threads))));
  std::atomic<int64_t> next{0};
  ParallelFor(static_cast<size_t>(std::min<int64_t>(threads, tasks)), 1, [&](size_t, size_t) {
    for (;;) {
      const int64_t b = next.fetch_add(run);
      if (b >= tasks) break;
      const int64_t e = std::min(tasks, b + run);
      for (int64_t t = b; t < e; ++t) {
        const int64_t ch = t / pl.rowBlocks, rb = t % pl.rowBlocks;
        const int64_t j0 = ChunkStart(pl, ch), j1 = ChunkStart(pl, ch + 1);
        const int64_t ir0 = rb * pl.panelsPerBlock, ir1 = std::min(pl.panelsO, ir0 + pl.panelsPerBlock);
        // The next task of this run, when it reads other columns.
        int64_t n0 = 0, n1 = 0;
        const int64_t nch = (t + 1) / pl.rowBlocks;
        if (t + 1 < e && nch != ch) {
          n0 = ChunkStart(pl, nch);
          n1 = ChunkStart(pl, nch + 1);
        }
        RunTask(g, pl, x, Ap, ep, j0, j1, ir0, ir1, n0, n1, out);
      }
    }
  });
}

}  // namespace conv_fast
}  // namespace clipts

#endif  // CLIPTS_AVX512
