// Filter weights of Pillow's separable resampling, for one axis.
//
// Written from the specification in shared/fixtures/README.md ("Pillow's bicubic resize"): the
// kernel is stretched by the downscale factor (antialiasing), each output pixel's weights are
// normalised to sum to 1, then (for 8-bit images) turned into 22-bit fixed point. Every step is
// float64 in the same order as Pillow, so the integer weights are the same bits.

/** Fractional bits of the fixed-point weights. */
export const PRECISION_BITS = 22;
/** Added before the final shift so that it rounds to nearest. */
export const ROUNDING_BIAS = 1 << (PRECISION_BITS - 1);

const BICUBIC_A = -0.5;
const BICUBIC_SUPPORT = 2;

/** Pillow's cubic convolution kernel (a = -0.5), with its own operation order. */
export function bicubicKernel(x: number): number {
  const t = x < 0 ? -x : x;
  if (t < 1) return ((BICUBIC_A + 2) * t - (BICUBIC_A + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * BICUBIC_A;
  return 0;
}

/**
 * Weights for output pixels `first … first+count-1` of a pass from `inSize` to `outSize` pixels.
 * Output pixel `i` (relative to `first`) reads source pixels `start[i] … start[i]+taps[i]-1`
 * with weights `weights[i*stride … i*stride+taps[i]-1]`.
 */
export interface AxisWeights {
  count: number;
  stride: number;
  start: Int32Array;
  taps: Int32Array;
  /** Normalised float64 weights (used by 32-bit mode I). */
  weights: Float64Array;
  /** The same weights in 22-bit fixed point (used by 8-bit modes). */
  fixed: Int32Array;
}

/** Computes the bicubic weights of output pixels [first, first + count) of an axis. */
export function bicubicAxisWeights(inSize: number, outSize: number, first = 0, count = outSize - first): AxisWeights {
  if (!(inSize >= 1 && outSize >= 1 && first >= 0 && count >= 0 && first + count <= outSize)) {
    throw new RangeError(`bad resample axis: ${inSize} -> ${outSize}, outputs [${first}, ${first + count})`);
  }
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ss = 1 / filterscale;
  // Pillow's upper bound on the taps per output pixel; the real count is never larger.
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(count);
  const taps = new Int32Array(count);
  const weights = new Float64Array(count * stride);
  const fixed = new Int32Array(count * stride);
  const one = 2 ** PRECISION_BITS;
  for (let j = 0; j < count; j++) {
    const i = first + j;
    const center = (i + 0.5) * scale;
    // Math.trunc matches C's (int) cast; a negative start is then clamped to 0 anyway.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    const n = xmax - xmin;
    const base = j * stride;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      const w = bicubicKernel((x + xmin - center + 0.5) * ss);
      weights[base + x] = w;
      sum += w;
    }
    for (let x = 0; x < n; x++) {
      const w = sum !== 0 ? weights[base + x] / sum : weights[base + x];
      weights[base + x] = w;
      // Round half away from zero, as Pillow's normalize_coeffs_8bpc does.
      fixed[base + x] = w < 0 ? Math.trunc(w * one - 0.5) : Math.trunc(w * one + 0.5);
    }
    start[j] = xmin;
    taps[j] = n;
  }
  return { count, stride, start, taps, weights, fixed };
}

/**
 * Source indices of nearest-neighbour resampling for outputs [first, first + count).
 * Pillow accumulates the position in float64 (`pos = scale/2`, then `pos += scale`), which can
 * differ by one from `floor((i + 0.5) * scale)` when the exact position is an integer, so the
 * accumulation is replayed from output 0 rather than computed directly.
 */
export function nearestAxisIndices(inSize: number, outSize: number, first = 0, count = outSize - first): Int32Array {
  const scale = inSize / outSize;
  const out = new Int32Array(count);
  let pos = 0.5 * scale;
  for (let i = 0; i < first + count; i++) {
    if (i >= first) {
      let idx = Math.trunc(pos);
      if (idx >= inSize) idx = inSize - 1; // never reached for a plain resize; a guard for safety
      out[i - first] = idx;
    }
    pos += scale;
  }
  return out;
}
