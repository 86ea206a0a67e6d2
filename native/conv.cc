// 2-D convolution, NCHW, weights [O, C, kh, kw], lowered to BLAS GEMM.
//
// Lowering. An image's receptive fields are copied into a matrix so that the convolution is one
// GEMM with the weights viewed as [O, K] (K = C·kh·kw). Two layouts:
//  * "CP" (im2col): [K, cols], row r = (c, ki, kj), one column per output position; used for
//    small kernels (1×1, 3×3, 7×7). The image is first copied into zero-padded planes, so that each
//    output row of a lowered row is a plain copy (stride 1) or gather (stride s) with no bounds
//    logic: with 7×7 and 14×14 maps, bounds checks per 7- or 14-element run cost more than the
//    copy itself. A 1×1 stride-1 unpadded conv ("direct") needs no copy at all: an image is its
//    own [C, HW] matrix.
//  * "PK" (patches): [cols, K], one row per output position; a kernel row is a contiguous run of kw
//    input pixels. Used for wide kernels (ViT patch embedding: kernel = stride = 14/16/32), where it
//    is a plain reshape done with kw-long copies instead of stride-s gathers.
//
// Work split. GEMMs with few columns run below OpenBLAS's best speed (it re-packs the whole weight
// matrix on every call; 512×49×4608 runs ~15% slower per flop than 512×392×4608), so images with
// small outputs are packed several to a GEMM ("groups"): their lowered matrices sit side by side,
// and the [O, nb·P] result is scattered back to NCHW. Images with large outputs are cut into column tiles
// instead, so that a lowered tile is still in cache when the GEMM reads it.
// With at least as many groups as threads (training batches, batched embedding), each thread runs
// whole groups with single-threaded BLAS: no synchronisation, lowering in parallel for free.
// Otherwise (batch-1 inference) groups run one after another, each lowered with ParallelFor and
// multiplied by multithreaded BLAS in one GEMM per image.
//
// float32 forward on AVX-512 CPUs goes to conv_fast.h instead (implicit im2col with its own
// micro-kernel and a fused epilogue), except for wide kernels (patch embedding), which stay here.
// conv2dBatchNorm is the inference fusion conv → batch norm (running statistics) → [+ residual]
// → [ReLU]; elsewhere (float64, no AVX-512, wide kernels) it runs the conv here and the epilogue
// as one more pass with the same arithmetic. 3×3 stride-1 pad-1 float32 convs on large enough
// inputs go to winograd.h (F(2×2, 3×3), same fused epilogue) instead of conv_fast.h.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "conv_fast.h"
#include "winograd.h"
#include "conv_util.h"

namespace clipts {
namespace {

using conv_detail::Gemm;

// A GEMM narrower than this many columns is packed with other images' columns; tiles aim for at
// least this width. (OpenBLAS sgemm reaches its plateau at a few hundred columns for RN50's weights.)
constexpr int64_t kMinCols = 512;
// Direct (1×1) convs are grouped only below this many output positions.
constexpr int64_t kMinColsDirect = 128;
// Target size (elements) of one lowered tile: about L2-sized for float.
constexpr int64_t kTileElems = 96 * 1024;

struct Geom {
  int64_t N, C, H, W, O, kh, kw, s, pad;
  int64_t Ho, Wo, P, K, HW;
  int64_t Hp, Wp;  // padded plane
  bool patch;      // PK layout
  bool direct;     // 1×1, stride 1, pad 0: no lowering
};

Geom MakeGeom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh, int64_t kw, int64_t s,
              int64_t pad) {
  Geom g;
  g.N = N; g.C = C; g.H = H; g.W = W; g.O = O; g.kh = kh; g.kw = kw; g.s = s; g.pad = pad;
  g.Ho = (H + 2 * pad - kh) / s + 1;
  g.Wo = (W + 2 * pad - kw) / s + 1;
  g.P = g.Ho * g.Wo;
  g.K = C * kh * kw;
  g.HW = H * W;
  g.Hp = H + 2 * pad;
  g.Wp = W + 2 * pad;
  g.direct = kh == 1 && kw == 1 && s == 1 && pad == 0;
  // Runs of kw contiguous pixels beat stride-s gathers of Wo pixels once kernels are wide.
  g.patch = kw >= 8;
  return g;
}

template <typename T>
inline void Zero(T* p, int64_t n) {
  if (n > 0) std::memset(p, 0, static_cast<size_t>(n) * sizeof(T));
}

// ---- CP layout -------------------------------------------------------------------------------
// Copies planes [c0, c1) of image x into xp ([C, Hp, Wp]) with a zero border of width pad.
template <typename T>
void PadPlanes(const Geom& g, const T* x, T* xp, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    T* d = xp + c * g.Hp * g.Wp;
    const T* src = x + c * g.HW;
    Zero(d, g.pad * g.Wp);
    for (int64_t h = 0; h < g.H; ++h) {
      T* row = d + (g.pad + h) * g.Wp;
      Zero(row, g.pad);
      std::memcpy(row + g.pad, src + h * g.W, g.W * sizeof(T));
      Zero(row + g.pad + g.W, g.pad);
    }
    Zero(d + (g.pad + g.H) * g.Wp, g.pad * g.Wp);
  }
}

// The interior of padded planes [c0, c1) of xp, written to dx (the inverse of PadPlanes).
template <typename T>
void UnpadPlanes(const Geom& g, const T* xp, T* dx, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t h = 0; h < g.H; ++h) {
      std::memcpy(dx + c * g.HW + h * g.W, xp + (c * g.Hp + g.pad + h) * g.Wp + g.pad, g.W * sizeof(T));
    }
  }
}

// Rows [r0, r1) of the CP lowering, for output positions [p0, p1), of one image given as padded
// planes xp (or the image itself when pad = 0); row r goes to dst + r·ld.
template <typename T>
void LowerCP(const Geom& g, const T* xp, int64_t p0, int64_t p1, T* dst, int64_t ld, int64_t r0, int64_t r1) {
  if (g.direct) {
    for (int64_t r = r0; r < r1; ++r) std::memcpy(dst + r * ld, xp + r * g.HW + p0, (p1 - p0) * sizeof(T));
    return;
  }
  const int64_t oh0 = p0 / g.Wo, ow0 = p0 - oh0 * g.Wo;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t kj = r % g.kw, ki = (r / g.kw) % g.kh, c = r / (g.kw * g.kh);
    const T* base = xp + (c * g.Hp + ki) * g.Wp + kj;
    T* o = dst + r * ld;
    // One output row at a time (partial rows at the ends of a tile).
    int64_t left = p1 - p0;
    for (int64_t oh = oh0, owA = ow0; left > 0; ++oh, owA = 0) {
      const int64_t n = std::min(g.Wo - owA, left);
      const T* src = base + oh * g.s * g.Wp + owA * g.s;
      if (g.s == 1) {
        for (int64_t i = 0; i < n; ++i) o[i] = src[i];
      } else {
        for (int64_t i = 0; i < n; ++i) o[i] = src[i * g.s];
      }
      o += n;
      left -= n;
    }
  }
}

// Padded planes dxp (or dx itself when pad = 0) += the CP matrix src for positions [p0, p1),
// channels [c0, c1) only: a channel's rows land in that channel's plane alone, so channel ranges
// can run in parallel.
template <typename T>
void RaiseCP(const Geom& g, const T* src, int64_t ld, int64_t p0, int64_t p1, T* dxp, int64_t c0, int64_t c1) {
  if (g.direct) {
    for (int64_t c = c0; c < c1; ++c) {
      T* d = dxp + c * g.HW + p0;
      const T* v = src + c * ld;
      for (int64_t i = 0; i < p1 - p0; ++i) d[i] += v[i];
    }
    return;
  }
  const int64_t oh0 = p0 / g.Wo, ow0 = p0 - oh0 * g.Wo;
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const int64_t r = (c * g.kh + ki) * g.kw + kj;
        T* base = dxp + (c * g.Hp + ki) * g.Wp + kj;
        const T* v = src + r * ld;
        int64_t left = p1 - p0;
        for (int64_t oh = oh0, owA = ow0; left > 0; ++oh, owA = 0) {
          const int64_t n = std::min(g.Wo - owA, left);
          T* d = base + oh * g.s * g.Wp + owA * g.s;
          if (g.s == 1) {
            for (int64_t i = 0; i < n; ++i) d[i] += v[i];
          } else {
            for (int64_t i = 0; i < n; ++i) d[i * g.s] += v[i];
          }
          v += n;
          left -= n;
        }
      }
    }
  }
}

// ---- PK layout -------------------------------------------------------------------------------
// Rows for output positions [q0, q1) of the [p1−p0, K] lowering of image x (row of position p at
// dst + (p − p0)·ld). Wide kernels are rarely padded, so bounds are handled here, per kernel row.
template <typename T>
void LowerPK(const Geom& g, const T* x, int64_t p0, int64_t q0, int64_t q1, T* dst, int64_t ld) {
  for (int64_t p = q0; p < q1; ++p) {
    const int64_t oh = p / g.Wo, ow = p - oh * g.Wo;
    const int64_t iw0 = ow * g.s - g.pad;
    const int64_t jlo = std::min(g.kw, std::max<int64_t>(0, -iw0));
    const int64_t jhi = std::max(jlo, std::min(g.kw, g.W - iw0));
    T* row = dst + (p - p0) * ld;
    for (int64_t c = 0; c < g.C; ++c) {
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        T* seg = row + (c * g.kh + ki) * g.kw;
        const int64_t ih = oh * g.s - g.pad + ki;
        if (ih < 0 || ih >= g.H) {
          Zero(seg, g.kw);
          continue;
        }
        Zero(seg, jlo);
        if (jhi > jlo) std::memcpy(seg + jlo, x + c * g.HW + ih * g.W + iw0 + jlo, (jhi - jlo) * sizeof(T));
        Zero(seg + jhi, g.kw - jhi);
      }
    }
  }
}

// dx(image) += the PK matrix src for channels [c0, c1) (parallel-safe across channel ranges even
// when windows overlap).
template <typename T>
void RaisePK(const Geom& g, const T* src, int64_t ld, int64_t p0, int64_t p1, T* dx, int64_t c0, int64_t c1) {
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t oh = p / g.Wo, ow = p - oh * g.Wo;
    const int64_t iw0 = ow * g.s - g.pad;
    const int64_t jlo = std::min(g.kw, std::max<int64_t>(0, -iw0));
    const int64_t jhi = std::max(jlo, std::min(g.kw, g.W - iw0));
    const T* row = src + (p - p0) * ld;
    for (int64_t c = c0; c < c1; ++c) {
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        const int64_t ih = oh * g.s - g.pad + ki;
        if (ih < 0 || ih >= g.H) continue;
        const T* seg = row + (c * g.kh + ki) * g.kw;
        T* d = dx + c * g.HW + ih * g.W + iw0;
        for (int64_t j = jlo; j < jhi; ++j) d[j] += seg[j];
      }
    }
  }
}

// ---- planning ----------------------------------------------------------------------------------
struct Plan {
  int64_t groups = 0;  // group gi holds images [Begin(gi), Begin(gi + 1))
  int64_t maxNb = 1;   // most images in one group
  int64_t tile = 0;    // output positions per GEMM for a one-image group
  int64_t tiles = 1;   // tiles per image
  bool perThread = false;
  int64_t Begin(int64_t gi, int64_t N) const { return gi * N / groups; }
};

Plan MakePlan(const Geom& g) {
  const int64_t threads = GetNumThreads();
  Plan pl;
  // A direct conv's images are its GEMM operands as they lie; grouping them costs a gather and a
  // scatter, which pays off only for the smallest maps (7×7: +7% measured, 14×14: −12%).
  const int64_t groupBelow = g.direct ? kMinColsDirect : kMinCols;
  if (g.P >= groupBelow || g.N == 1) {
    pl.groups = g.N;
  } else {
    const int64_t nbTarget = (kMinCols + g.P - 1) / g.P;
    int64_t groups = (g.N + nbTarget - 1) / nbTarget;
    // A multiple of the thread count keeps every thread equally busy.
    if (threads > 1) groups = std::min(g.N, (groups + threads - 1) / threads * threads);
    pl.groups = groups;
  }
  pl.maxNb = (g.N + pl.groups - 1) / pl.groups;
  pl.perThread = threads > 1 && pl.groups >= threads && (pl.groups % threads == 0 || pl.groups >= 3 * threads);
  // Cache-sized tiles for single-threaded GEMMs; one GEMM per image for multithreaded BLAS, which
  // splits a wide GEMM well and a narrow one badly. A direct conv has nothing to keep in cache.
  const bool serialBlas = pl.perThread || threads == 1;
  const int64_t target = serialBlas && !g.direct ? std::min(g.P, std::max(kMinCols, kTileElems / g.K)) : g.P;
  // Even tiles (784 = 2×392, not 512 + 272); the recount keeps every tile non-empty.
  const int64_t count = (g.P + target - 1) / target;
  pl.tile = (g.P + count - 1) / count;
  pl.tiles = (g.P + pl.tile - 1) / pl.tile;
  return pl;
}

// Runs fn over [0, n) on the pool when `parallel`, else inline.
template <typename Fn>
void Par(bool parallel, int64_t n, int64_t itemWork, Fn&& fn) {
  if (n <= 0) return;
  if (parallel) {
    ParallelFor(static_cast<size_t>(n), conv_detail::GrainFor(static_cast<size_t>(itemWork)),
                [&](size_t b, size_t e) { fn(static_cast<int64_t>(b), static_cast<int64_t>(e)); });
  } else {
    fn(int64_t{0}, n);
  }
}

// Runs fn(j, c0, c1) over the planes of nb images, split into channel ranges.
template <typename Fn>
void ForPlanes(bool parallel, const Geom& g, int64_t nb, int64_t planeWork, Fn&& fn) {
  Par(parallel, nb * g.C, planeWork, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e;) {
      const int64_t j = i / g.C, c0 = i - j * g.C, c1 = std::min(g.C, c0 + (e - i));
      fn(j, c0, c1);
      i += c1 - c0;
    }
  });
}

template <typename T>
std::unique_ptr<T[]> Alloc(int64_t n) {
  return std::unique_ptr<T[]>(n > 0 ? new T[static_cast<size_t>(n)] : nullptr);
}

// Per-runner scratch: the lowered matrix, the grouped GEMM result or gathered dY, and padded planes
// of x (forward, dw) and of dx.
template <typename T>
struct Scratch {
  std::unique_ptr<T[]> col, wide, xpad, dxpad;
  Scratch(const Geom& g, const Plan& pl, bool needX, bool needDx) {
    const int64_t cols = pl.maxNb > 1 ? pl.maxNb * g.P : pl.tile;
    if (!(g.direct && pl.maxNb == 1)) col = Alloc<T>(cols * g.K);
    if (pl.maxNb > 1) wide = Alloc<T>(cols * g.O);
    const bool padded = !g.patch && g.pad > 0;
    const int64_t planes = pl.maxNb * g.C * g.Hp * g.Wp;
    if (padded && needX) xpad = Alloc<T>(planes);
    if (padded && needDx) dxpad = Alloc<T>(planes);
  }
};

// The CP source planes of images [n0, n0+nb): padded copies in s.xpad, or x itself.
template <typename T>
const T* SourcePlanes(const Geom& g, const T* x, int64_t n0, int64_t nb, Scratch<T>& s, bool parallel) {
  const T* xn = x + n0 * g.C * g.HW;
  if (g.patch || g.pad == 0) return xn;
  T* xp = s.xpad.get();
  ForPlanes(parallel, g, nb, g.Hp * g.Wp, [&](int64_t j, int64_t c0, int64_t c1) {
    PadPlanes(g, xn + j * g.C * g.HW, xp + j * g.C * g.Hp * g.Wp, c0, c1);
  });
  return xp;
}

// Lowers positions [p0, p1) of nb images (nb > 1 only for whole images) side by side into col.
// `planes` are the CP source planes, xn the images themselves (PK). Returns the leading dimension.
template <typename T>
int64_t Lower(const Geom& g, const T* planes, const T* xn, int64_t nb, int64_t p0, int64_t p1, T* col,
              bool parallel) {
  const int64_t span = p1 - p0, cols = nb * span;
  if (!g.patch) {
    const int64_t planeSize = g.C * g.Hp * g.Wp;
    Par(parallel, nb * g.K, span, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e;) {
        const int64_t j = i / g.K, r0 = i - j * g.K, r1 = std::min(g.K, r0 + (e - i));
        LowerCP(g, planes + j * planeSize, p0, p1, col + j * span, cols, r0, r1);
        i += r1 - r0;
      }
    });
    return cols;
  }
  Par(parallel, cols, g.K, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e;) {
      const int64_t j = i / span, q0 = p0 + (i - j * span), q1 = std::min(p1, q0 + (e - i));
      LowerPK(g, xn + j * g.C * g.HW, p0, q0, q1, col + j * span * g.K, g.K);
      i += q1 - q0;
    }
  });
  return g.K;
}

// The inverse of Lower for gradients: target planes (CP: padded or dx itself; PK: dx) += dcol.
template <typename T>
void Raise(const Geom& g, const T* dcol, int64_t ld, int64_t nb, int64_t p0, int64_t p1, T* target, bool parallel) {
  const int64_t span = p1 - p0;
  const int64_t planeSize = g.patch ? g.C * g.HW : g.C * g.Hp * g.Wp;
  ForPlanes(parallel, g, nb, span * g.kh * g.kw, [&](int64_t j, int64_t c0, int64_t c1) {
    if (g.patch) {
      RaisePK(g, dcol + j * span * g.K, ld, p0, p1, target + j * planeSize, c0, c1);
    } else {
      RaiseCP(g, dcol + j * span, ld, p0, p1, target + j * planeSize, c0, c1);
    }
  });
}

// ---- forward -----------------------------------------------------------------------------------
template <typename T>
void AddBiasRows(const Geom& g, const T* bias, T* out, int64_t ld, int64_t cols, bool parallel) {
  Par(parallel, g.O, cols, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      T* row = out + o * ld;
      const T v = bias[o];
      for (int64_t i = 0; i < cols; ++i) row[i] += v;
    }
  });
}

template <typename T>
void ForwardGroup(const Geom& g, const Plan& pl, int64_t gi, const T* x, const T* w, const T* bias, T* out,
                  Scratch<T>& s, bool parallel) {
  const int64_t n0 = pl.Begin(gi, g.N), nb = pl.Begin(gi + 1, g.N) - n0;
  const T* xn = x + n0 * g.C * g.HW;
  if (g.direct && nb == 1) {
    T* on = out + n0 * g.O * g.P;
    Gemm(false, false, g.O, g.P, g.C, T(1), w, g.K, xn, g.P, T(0), on, g.P);
    if (bias != nullptr) AddBiasRows(g, bias, on, g.P, g.P, parallel);
    return;
  }
  const T* planes = g.patch ? nullptr : SourcePlanes(g, x, n0, nb, s, parallel);
  T* col = s.col.get();
  if (nb == 1) {
    T* on = out + n0 * g.O * g.P;
    for (int64_t t = 0; t < pl.tiles; ++t) {
      const int64_t p0 = t * pl.tile, p1 = std::min(g.P, p0 + pl.tile);
      const int64_t ld = Lower(g, planes, xn, 1, p0, p1, col, parallel);
      Gemm(false, g.patch, g.O, p1 - p0, g.K, T(1), w, g.K, col, ld, T(0), on + p0, g.P);
      if (bias != nullptr) AddBiasRows(g, bias, on + p0, g.P, p1 - p0, parallel);
    }
    return;
  }
  // Several images in one GEMM, then [O, nb·P] scattered back to [nb, O, P] (adding the bias).
  const int64_t cols = nb * g.P;
  const int64_t ld = Lower(g, planes, xn, nb, 0, g.P, col, parallel);
  T* wide = s.wide.get();
  Gemm(false, g.patch, g.O, cols, g.K, T(1), w, g.K, col, ld, T(0), wide, cols);
  Par(parallel, nb * g.O, g.P, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int64_t j = i / g.O, o = i - j * g.O;
      const T* src = wide + o * cols + j * g.P;
      T* dst = out + ((n0 + j) * g.O + o) * g.P;
      if (bias == nullptr) {
        std::memcpy(dst, src, g.P * sizeof(T));
      } else {
        const T v = bias[o];
        for (int64_t k = 0; k < g.P; ++k) dst[k] = src[k] + v;
      }
    }
  });
}

template <typename T>
void ConvForward(const Geom& g, const T* x, const T* w, const T* bias, T* out) {
  if (g.N == 0) return;
  const Plan pl = MakePlan(g);
  if (pl.perThread) {
    BlasSerialScope serial;
    ParallelFor(static_cast<size_t>(pl.groups), 1, [&](size_t b, size_t e) {
      Scratch<T> s(g, pl, true, false);
      for (size_t gi = b; gi < e; ++gi) ForwardGroup(g, pl, static_cast<int64_t>(gi), x, w, bias, out, s, false);
    });
  } else {
    Scratch<T> s(g, pl, true, false);
    for (int64_t gi = 0; gi < pl.groups; ++gi) ForwardGroup(g, pl, gi, x, w, bias, out, s, true);
  }
}

// ---- backward ----------------------------------------------------------------------------------
// One group of images: dw (+)= dY·lowered(x)ᵀ (beta 0 on the first GEMM into *first), and, when dx
// is wanted, dx(images) = raise(Wᵀ·dY).
template <typename T>
void BackwardGroup(const Geom& g, const Plan& pl, int64_t gi, const T* x, const T* w, const T* dy, T* dx, T* dw,
                   bool* first, Scratch<T>& s, bool parallel) {
  const int64_t n0 = pl.Begin(gi, g.N), nb = pl.Begin(gi + 1, g.N) - n0;
  auto dwBeta = [&]() {
    const T beta = *first ? T(0) : T(1);
    *first = false;
    return beta;
  };
  const T* xn = x + n0 * g.C * g.HW;
  const T* dyn = dy + n0 * g.O * g.P;
  T* dxn = dx != nullptr ? dx + n0 * g.C * g.HW : nullptr;
  if (g.direct && nb == 1) {
    if (dw != nullptr) Gemm(false, true, g.O, g.C, g.P, T(1), dyn, g.P, xn, g.P, dwBeta(), dw, g.K);
    if (dxn != nullptr) Gemm(true, false, g.C, g.P, g.O, T(1), w, g.K, dyn, g.P, T(0), dxn, g.P);
    return;
  }
  const T* planes = dw != nullptr && !g.patch ? SourcePlanes(g, x, n0, nb, s, parallel) : nullptr;
  // Gradients are raised (accumulated) into padded planes for a padded CP conv, else into dx.
  T* target = nullptr;
  if (dxn != nullptr) {
    const bool padded = !g.patch && g.pad > 0;
    target = padded ? s.dxpad.get() : dxn;
    const int64_t planeSize = padded ? g.Hp * g.Wp : g.HW;
    ForPlanes(parallel, g, nb, planeSize, [&](int64_t j, int64_t c0, int64_t c1) {
      Zero(target + (j * g.C + c0) * planeSize, (c1 - c0) * planeSize);
    });
  }
  T* col = s.col.get();
  if (nb == 1) {
    for (int64_t t = 0; t < pl.tiles; ++t) {
      const int64_t p0 = t * pl.tile, p1 = std::min(g.P, p0 + pl.tile), cols = p1 - p0;
      if (dw != nullptr) {
        const int64_t ld = Lower(g, planes, xn, 1, p0, p1, col, parallel);
        Gemm(false, !g.patch, g.O, g.K, cols, T(1), dyn + p0, g.P, col, ld, dwBeta(), dw, g.K);
      }
      if (dxn != nullptr) {
        // The lowered x is no longer needed: its buffer takes the lowered gradient.
        if (g.patch) {
          Gemm(true, false, cols, g.K, g.O, T(1), dyn + p0, g.P, w, g.K, T(0), col, g.K);
          Raise(g, col, g.K, 1, p0, p1, target, parallel);
        } else {
          Gemm(true, false, g.K, cols, g.O, T(1), w, g.K, dyn + p0, g.P, T(0), col, cols);
          Raise(g, col, cols, 1, p0, p1, target, parallel);
        }
      }
    }
  } else {
    // Grouped: dY of the group gathered as [O, nb·P] to match the side-by-side lowering.
    const int64_t cols = nb * g.P;
    T* dyg = s.wide.get();
    Par(parallel, nb * g.O, g.P, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const int64_t j = i / g.O, o = i - j * g.O;
        std::memcpy(dyg + o * cols + j * g.P, dyn + (j * g.O + o) * g.P, g.P * sizeof(T));
      }
    });
    if (dw != nullptr) {
      const int64_t ld = Lower(g, planes, xn, nb, 0, g.P, col, parallel);
      Gemm(false, !g.patch, g.O, g.K, cols, T(1), dyg, cols, col, ld, dwBeta(), dw, g.K);
    }
    if (dxn != nullptr) {
      if (g.patch) {
        Gemm(true, false, cols, g.K, g.O, T(1), dyg, cols, w, g.K, T(0), col, g.K);
        Raise(g, col, g.K, nb, 0, g.P, target, parallel);
      } else {
        Gemm(true, false, g.K, cols, g.O, T(1), w, g.K, dyg, cols, T(0), col, cols);
        Raise(g, col, cols, nb, 0, g.P, target, parallel);
      }
    }
  }
  if (dxn != nullptr && target != dxn) {
    ForPlanes(parallel, g, nb, g.HW, [&](int64_t j, int64_t c0, int64_t c1) {
      UnpadPlanes(g, target + j * g.C * g.Hp * g.Wp, dxn + j * g.C * g.HW, c0, c1);
    });
  }
}

template <typename T>
void ConvBackward(const Geom& g, const T* x, const T* w, const T* dy, T* dx, T* dw, T* db) {
  if (g.N == 0) return;
  if (db != nullptr) {
    ParallelFor(static_cast<size_t>(g.O), conv_detail::GrainFor(static_cast<size_t>(g.N * g.P)), [&](size_t b, size_t e) {
      for (size_t o = b; o < e; ++o) {
        double acc = 0;
        for (int64_t n = 0; n < g.N; ++n) {
          const T* row = dy + (n * g.O + static_cast<int64_t>(o)) * g.P;
          for (int64_t i = 0; i < g.P; ++i) acc += row[i];
        }
        db[o] += static_cast<T>(acc);
      }
    });
  }
  if (dx == nullptr && dw == nullptr) return;
  const Plan pl = MakePlan(g);
  if (!pl.perThread) {
    Scratch<T> s(g, pl, dw != nullptr, dx != nullptr);
    bool first = false;  // accumulate straight into dw
    for (int64_t gi = 0; gi < pl.groups; ++gi) BackwardGroup(g, pl, gi, x, w, dy, dx, dw, &first, s, true);
    return;
  }
  // Each slot (one per thread) takes a contiguous range of groups; slot 0 accumulates into dw
  // itself, the others into private partial sums that are added in at the end.
  const int64_t slots = std::min<int64_t>(GetNumThreads(), pl.groups);
  const int64_t wsize = g.O * g.K;
  std::unique_ptr<T[]> partial = dw != nullptr ? Alloc<T>((slots - 1) * wsize) : nullptr;
  {
    BlasSerialScope serial;
    ParallelFor(static_cast<size_t>(slots), 1, [&](size_t b, size_t e) {
      Scratch<T> s(g, pl, dw != nullptr, dx != nullptr);
      for (size_t sl = b; sl < e; ++sl) {
        const int64_t k = static_cast<int64_t>(sl);
        T* mydw = dw == nullptr ? nullptr : (k == 0 ? dw : partial.get() + (k - 1) * wsize);
        bool first = k != 0;
        for (int64_t gi = k * pl.groups / slots; gi < (k + 1) * pl.groups / slots; ++gi) {
          BackwardGroup(g, pl, gi, x, w, dy, dx, mydw, &first, s, false);
        }
        if (mydw != nullptr && first) Zero(mydw, wsize);  // a slot without groups (cannot happen)
      }
    });
  }
  if (dw != nullptr && slots > 1) {
    const T* part = partial.get();
    ParallelFor(static_cast<size_t>(wsize), 4096, [&](size_t b, size_t e) {
      for (int64_t k = 0; k < slots - 1; ++k) {
        const T* src = part + k * wsize;
        for (size_t i = b; i < e; ++i) dw[i] += src[i];
      }
    });
  }
}

// ---- inference epilogue and dispatch ----------------------------------------------------------
// Per output channel: batch norm with running statistics as center/scale/shift (batchnorm.cc's
// arithmetic), then + residual, then ReLU. Null pointers skip a step.
template <typename T>
struct Post {
  const T* center = nullptr;
  const T* scale = nullptr;
  const T* shift = nullptr;
  const T* residual = nullptr;
  bool relu = false;
};

// The epilogue as a separate pass over out [N, O, P] (the paths without a fused kernel).
template <typename T>
void ApplyPost(const Geom& g, const Post<T>& ep, T* out) {
  ParallelFor(static_cast<size_t>(g.N * g.O), conv_detail::GrainFor(static_cast<size_t>(g.P)), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      const int64_t o = static_cast<int64_t>(i) % g.O;
      T* row = out + i * g.P;
      const T* res = ep.residual != nullptr ? ep.residual + i * g.P : nullptr;
      if (ep.scale != nullptr) {
        const T m = ep.center[o], a = ep.scale[o], d = ep.shift[o];
        for (int64_t k = 0; k < g.P; ++k) row[k] = (row[k] - m) * a + d;
      }
      if (res != nullptr) {
        for (int64_t k = 0; k < g.P; ++k) row[k] = row[k] + res[k];
      }
      if (ep.relu) {
        for (int64_t k = 0; k < g.P; ++k) row[k] = row[k] > T(0) ? row[k] : T(0);
      }
    }
  });
}

// CLIP_TS_CONV=blas keeps every conv on the im2col + BLAS path (comparisons, benchmarks).
bool FastConvAllowed() {
  static const bool allowed = [] {
    const char* e = std::getenv("CLIP_TS_CONV");
    return e == nullptr || std::string(e) != "blas";
  }();
  return allowed;
}

#if CLIPTS_AVX512
conv_fast::Shape FastShape(const Geom& g) {
  conv_fast::Shape f{g.N, g.C, g.H, g.W, g.O, g.kh, g.kw, g.s, g.pad, g.Ho, g.Wo, g.P, g.K};
  if (g.direct) {
    // A 1×1 stride-1 conv reads each image as one long row: runs then break only between images.
    f.H = 1;
    f.W = g.HW;
    f.Ho = 1;
    f.Wo = g.P;
  }
  return f;
}
#endif

// out = post(conv(x, w) + bias), on the fastest path for T and the shape.
template <typename T>
void ConvForwardPost(const Geom& g, const T* x, const T* w, const T* bias, const Post<T>& ep, T* out) {
#if CLIPTS_AVX512
  if constexpr (std::is_same<T, float>::value) {
    const conv_fast::Shape f = FastShape(g);
    if (!g.patch && FastConvAllowed() && conv_fast::Supported(f)) {
      conv_fast::Epilogue e;
      e.bias = bias;
      e.center = ep.center;
      e.scale = ep.scale;
      e.shift = ep.shift;
      e.residual = ep.residual;
      e.relu = ep.relu;
      if (winograd::Use(f)) {
        winograd::Forward(f, x, w, out, e);
        return;
      }
      conv_fast::Forward(f, x, w, out, e);
      return;
    }
  }
#endif
  ConvForward<T>(g, x, w, bias, out);
  if (ep.scale != nullptr || ep.residual != nullptr || ep.relu) ApplyPost(g, ep, out);
}

// True when [a, a + na) and [b, b + nb) share memory.
template <typename T>
bool Overlap(const T* a, size_t na, const T* b, size_t nb) {
  return na > 0 && nb > 0 && a < b + nb && b < a + na;
}

// ---- JavaScript bindings -----------------------------------------------------------------------
// Reads N, C, H, W, O, kh, kw, stride, pad starting at argument `at`, checking that the kernel fits
// the padded input.
bool ReadGeom(const Napi::CallbackInfo& info, size_t at, Geom* g) {
  Napi::Env env = info.Env();
  int64_t v[9];
  static const char* names[9] = {"N", "C", "H", "W", "O", "kh", "kw", "stride", "pad"};
  static const int64_t mins[9] = {0, 1, 1, 1, 1, 1, 1, 1, 0};
  for (int i = 0; i < 9; ++i) {
    if (!conv_detail::GetSize(info, at + i, names[i], mins[i], &v[i])) return false;
  }
  const int64_t H = v[2], W = v[3], kh = v[5], kw = v[6], pad = v[8];
  if (kh > H + 2 * pad || kw > W + 2 * pad) {
    ThrowRange(env, "kernel " + std::to_string(kh) + "x" + std::to_string(kw) + " is larger than the padded input " +
                        std::to_string(H + 2 * pad) + "x" + std::to_string(W + 2 * pad));
    return false;
  }
  // Every GEMM dimension and leading dimension (K, P, O) must fit BLAS's int; offsets are int64.
  const int64_t Ho = (H + 2 * pad - kh) / v[7] + 1, Wo = (W + 2 * pad - kw) / v[7] + 1;
  size_t k, p;
  if (!conv_detail::Product(env, "conv2d", {v[1], kh, kw}, &k) || !conv_detail::Product(env, "conv2d", {Ho, Wo}, &p)) {
    return false;
  }
  if (k > static_cast<size_t>(conv_detail::kMaxSize) || p > static_cast<size_t>(conv_detail::kMaxSize)) {
    ThrowRange(env, "conv2d: sizes too large");
    return false;
  }
  *g = MakeGeom(v[0], v[1], H, W, v[4], kh, kw, v[7], pad);
  return true;
}

// conv2d(x, w, bias, out, N, C, H, W, O, kh, kw, stride, pad)
Napi::Value JsConv2d(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto x = GetArray<T>(info, 0, "x");
    CLIPTS_CHECK(env);
    auto w = GetArray<T>(info, 1, "w");
    CLIPTS_CHECK(env);
    auto bias = GetOptionalArray<T>(info, 2, "bias");
    CLIPTS_CHECK(env);
    auto out = GetArray<T>(info, 3, "out");
    CLIPTS_CHECK(env);
    Geom g;
    if (!ReadGeom(info, 4, &g)) return env.Undefined();
    size_t nx, nw, no;
    if (!conv_detail::Product(env, "conv2d", {g.N, g.C, g.HW}, &nx) ||
        !conv_detail::Product(env, "conv2d", {g.O, g.K}, &nw) ||
        !conv_detail::Product(env, "conv2d", {g.N, g.O, g.P}, &no)) {
      return env.Undefined();
    }
    if (!CheckLength(env, x, nx, "x") || !CheckLength(env, w, nw, "w") ||
        (!conv_detail::IsAbsent(info, 2) && !CheckLength(env, bias, static_cast<size_t>(g.O), "bias")) ||
        !CheckLength(env, out, no, "out")) {
      return env.Undefined();
    }
    if (Overlap(x.data, nx, out.data, no)) {
      ThrowRange(env, "conv2d: out must not overlap x");
      return env.Undefined();
    }
    ConvForwardPost<T>(g, x.data, w.data, bias.data, Post<T>{}, out.data);
    return env.Undefined();
  });
}

// conv2dBatchNorm(x, w, bias, gamma, beta, runMean, runVar, residual, out, N, C, H, W, O, kh, kw,
// stride, pad, eps, relu)
Napi::Value JsConv2dBatchNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto x = GetArray<T>(info, 0, "x");
    CLIPTS_CHECK(env);
    auto w = GetArray<T>(info, 1, "w");
    CLIPTS_CHECK(env);
    auto bias = GetOptionalArray<T>(info, 2, "bias");
    CLIPTS_CHECK(env);
    auto gamma = GetArray<T>(info, 3, "gamma");
    CLIPTS_CHECK(env);
    auto beta = GetArray<T>(info, 4, "beta");
    CLIPTS_CHECK(env);
    auto runMean = GetArray<T>(info, 5, "runMean");
    CLIPTS_CHECK(env);
    auto runVar = GetArray<T>(info, 6, "runVar");
    CLIPTS_CHECK(env);
    auto residual = GetOptionalArray<T>(info, 7, "residual");
    CLIPTS_CHECK(env);
    auto out = GetArray<T>(info, 8, "out");
    CLIPTS_CHECK(env);
    Geom g;
    if (!ReadGeom(info, 9, &g)) return env.Undefined();
    double eps;
    if (!conv_detail::GetFinite(info, 18, "eps", &eps)) return env.Undefined();
    if (eps < 0) {
      ThrowRange(env, "eps must be >= 0");
      return env.Undefined();
    }
    if (info.Length() <= 19 || !info[19].IsBoolean()) {
      ThrowType(env, "relu must be a boolean");
      return env.Undefined();
    }
    const bool relu = info[19].As<Napi::Boolean>().Value();
    size_t nx, nw, no;
    if (!conv_detail::Product(env, "conv2dBatchNorm", {g.N, g.C, g.HW}, &nx) ||
        !conv_detail::Product(env, "conv2dBatchNorm", {g.O, g.K}, &nw) ||
        !conv_detail::Product(env, "conv2dBatchNorm", {g.N, g.O, g.P}, &no)) {
      return env.Undefined();
    }
    const size_t O = static_cast<size_t>(g.O);
    if (!CheckLength(env, x, nx, "x") || !CheckLength(env, w, nw, "w") ||
        (!conv_detail::IsAbsent(info, 2) && !CheckLength(env, bias, O, "bias")) ||
        !CheckLength(env, gamma, O, "gamma") || !CheckLength(env, beta, O, "beta") ||
        !CheckLength(env, runMean, O, "runMean") || !CheckLength(env, runVar, O, "runVar") ||
        (!conv_detail::IsAbsent(info, 7) && !CheckLength(env, residual, no, "residual")) ||
        !CheckLength(env, out, no, "out")) {
      return env.Undefined();
    }
    if (Overlap(x.data, nx, out.data, no)) {
      ThrowRange(env, "conv2dBatchNorm: out must not overlap x");
      return env.Undefined();
    }
    if (residual.data != nullptr && residual.data != out.data && Overlap(residual.data, no, out.data, no)) {
      ThrowRange(env, "conv2dBatchNorm: residual must be out itself or not overlap it");
      return env.Undefined();
    }
    // The same per-channel constants as batchNorm at inference (rstd in double).
    std::vector<T> center(O), scale(O), shift(O);
    for (size_t c = 0; c < O; ++c) {
      const double rstd = 1.0 / std::sqrt(static_cast<double>(runVar.data[c]) + eps);
      center[c] = static_cast<T>(static_cast<double>(runMean.data[c]));
      scale[c] = static_cast<T>(static_cast<double>(gamma.data[c]) * rstd);
      shift[c] = beta.data[c];
    }
    Post<T> ep;
    ep.center = center.data();
    ep.scale = scale.data();
    ep.shift = shift.data();
    ep.residual = residual.data;
    ep.relu = relu;
    ConvForwardPost<T>(g, x.data, w.data, bias.data, ep, out.data);
    return env.Undefined();
  });
}

// conv2dBackward(x, w, dy, dx, dw, db, N, C, H, W, O, kh, kw, stride, pad)
Napi::Value JsConv2dBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return DispatchFloat(info, 0, "x", [&](auto tag) -> Napi::Value {
    using T = decltype(tag);
    auto x = GetArray<T>(info, 0, "x");
    CLIPTS_CHECK(env);
    auto w = GetArray<T>(info, 1, "w");
    CLIPTS_CHECK(env);
    auto dy = GetArray<T>(info, 2, "dy");
    CLIPTS_CHECK(env);
    auto dx = GetOptionalArray<T>(info, 3, "dx");
    CLIPTS_CHECK(env);
    auto dw = GetOptionalArray<T>(info, 4, "dw");
    CLIPTS_CHECK(env);
    auto db = GetOptionalArray<T>(info, 5, "db");
    CLIPTS_CHECK(env);
    Geom g;
    if (!ReadGeom(info, 6, &g)) return env.Undefined();
    size_t nx, nw, no;
    if (!conv_detail::Product(env, "conv2dBackward", {g.N, g.C, g.HW}, &nx) ||
        !conv_detail::Product(env, "conv2dBackward", {g.O, g.K}, &nw) ||
        !conv_detail::Product(env, "conv2dBackward", {g.N, g.O, g.P}, &no)) {
      return env.Undefined();
    }
    if (!CheckLength(env, x, nx, "x") || !CheckLength(env, w, nw, "w") || !CheckLength(env, dy, no, "dy") ||
        (!conv_detail::IsAbsent(info, 3) && !CheckLength(env, dx, nx, "dx")) ||
        (!conv_detail::IsAbsent(info, 4) && !CheckLength(env, dw, nw, "dw")) ||
        (!conv_detail::IsAbsent(info, 5) && !CheckLength(env, db, static_cast<size_t>(g.O), "db"))) {
      return env.Undefined();
    }
    ConvBackward<T>(g, x.data, w.data, dy.data, dx.data, dw.data, db.data);
    return env.Undefined();
  });
}

}  // namespace

void RegisterConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, JsConv2d));
  exports.Set("conv2dBatchNorm", Napi::Function::New(env, JsConv2dBatchNorm));
  exports.Set("conv2dBackward", Napi::Function::New(env, JsConv2dBackward));
}

}  // namespace clipts
