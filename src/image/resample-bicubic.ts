// Pillow's 8-bit bicubic resampling (horizontal pass, then vertical pass, each rounded to uint8),
// restricted to a window of the output so that a resize followed by a crop only computes the
// pixels that survive the crop. Every output pixel depends only on its own weights, so computing
// fewer of them changes no value.
//
// This is the hot loop of preprocessing. Integer weights are precomputed per output pixel and the
// sums are Int32 arithmetic (`Math.imul`, `| 0`): every partial sum stays below 2^31 in magnitude
// (the positive weights of a pixel add up to less than 1.1, times 255, times 2^22), so nothing
// wraps. Stores go through a Uint8ClampedArray view, which clamps to 0..255 without a branch.
// Where WebAssembly SIMD is available the same passes run as SIMD kernels (resample-simd.ts),
// about 5x faster and bit-identical; these TypeScript passes are the reference and the fallback.
import type { Rect } from './image.js';
import { bicubicResample8Simd, canUseSimd } from './resample-bicubic-simd.js';
import { bicubicAxisWeights, PRECISION_BITS, ROUNDING_BIAS, type AxisWeights } from './resample-weights.js';

/** Which implementation of the passes to use: 'auto' picks SIMD when available. */
export type ResampleEngine = 'auto' | 'simd' | 'typescript';

/** Interleaved 8-bit pixels with `channels` samples each and rows of `rowStride` samples. */
export interface PixelPlane8 {
  data: Uint8Array;
  /** Index of the first sample of the region's top-left pixel. */
  offset: number;
  rowStride: number;
  channels: number;
}

/**
 * Resamples `region` of `src` to `outWidth x outHeight` with Pillow's bicubic filter and returns
 * the pixels of `window` (a rectangle of that output) as `window.width * window.height * channels`
 * samples. An axis whose size does not change is copied, as Pillow skips that pass.
 */
export function bicubicResample8(src: PixelPlane8, regionWidth: number, regionHeight: number,
  outWidth: number, outHeight: number, window: Rect, engine: ResampleEngine = 'auto'): Uint8Array {
  const c = src.channels;
  const doHorizontal = outWidth !== regionWidth;
  const doVertical = outHeight !== regionHeight;
  const vw = doVertical ? bicubicAxisWeights(regionHeight, outHeight, window.top, window.height) : undefined;
  // Source rows the vertical pass reads (or the window's rows when there is no vertical pass).
  let rowFirst = window.top;
  let rowEnd = window.top + window.height;
  if (vw !== undefined) {
    rowFirst = regionHeight;
    rowEnd = 0;
    for (let j = 0; j < vw.count; j++) {
      if (vw.start[j] < rowFirst) rowFirst = vw.start[j];
      if (vw.start[j] + vw.taps[j] > rowEnd) rowEnd = vw.start[j] + vw.taps[j];
    }
  }
  const rows = rowEnd - rowFirst;
  const rowLen = window.width * c;
  if (engine === 'simd' || (engine === 'auto' && canUseSimd(c))) {
    const hw = doHorizontal ? bicubicAxisWeights(regionWidth, outWidth, window.left, window.width) : undefined;
    const out = bicubicResample8Simd(src, window, hw, vw, rowFirst, rowEnd);
    if (out !== undefined) return out;
  }

  // Horizontal pass (or a copy of the needed columns) into a compact buffer of `rows` rows.
  const mid = new Uint8Array(rows * rowLen);
  if (doHorizontal) {
    const hw = bicubicAxisWeights(regionWidth, outWidth, window.left, window.width);
    horizontalPass(src, rowFirst, rows, hw, mid);
  } else {
    for (let r = 0; r < rows; r++) {
      const from = src.offset + (rowFirst + r) * src.rowStride + window.left * c;
      mid.set(src.data.subarray(from, from + rowLen), r * rowLen);
    }
  }
  if (vw === undefined) return mid;
  const out = new Uint8Array(window.height * rowLen);
  verticalPass(mid, rowLen, rowFirst, vw, out);
  return out;
}

function horizontalPass(src: PixelPlane8, rowFirst: number, rows: number, w: AxisWeights, out: Uint8Array): void {
  const c = src.channels;
  const data = src.data;
  const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const { start, taps, fixed, stride, count } = w;
  const outRowLen = count * c;
  for (let r = 0; r < rows; r++) {
    const rowBase = src.offset + (rowFirst + r) * src.rowStride;
    let o = r * outRowLen;
    if (c === 3) {
      for (let j = 0; j < count; j++) {
        let p = rowBase + start[j] * 3;
        const k0 = j * stride;
        const kEnd = k0 + taps[j];
        let s0 = ROUNDING_BIAS;
        let s1 = ROUNDING_BIAS;
        let s2 = ROUNDING_BIAS;
        for (let k = k0; k < kEnd; k++) {
          const wk = fixed[k];
          s0 = (s0 + Math.imul(wk, data[p])) | 0;
          s1 = (s1 + Math.imul(wk, data[p + 1])) | 0;
          s2 = (s2 + Math.imul(wk, data[p + 2])) | 0;
          p += 3;
        }
        clamped[o] = s0 >> PRECISION_BITS;
        clamped[o + 1] = s1 >> PRECISION_BITS;
        clamped[o + 2] = s2 >> PRECISION_BITS;
        o += 3;
      }
    } else if (c === 1) {
      for (let j = 0; j < count; j++) {
        let p = rowBase + start[j];
        const k0 = j * stride;
        const kEnd = k0 + taps[j];
        let s0 = ROUNDING_BIAS;
        for (let k = k0; k < kEnd; k++) s0 = (s0 + Math.imul(fixed[k], data[p++])) | 0;
        clamped[o++] = s0 >> PRECISION_BITS;
      }
    } else {
      for (let j = 0; j < count; j++) {
        const p0 = rowBase + start[j] * c;
        const k0 = j * stride;
        const n = taps[j];
        for (let ch = 0; ch < c; ch++) {
          let s = ROUNDING_BIAS;
          let p = p0 + ch;
          for (let t = 0; t < n; t++) {
            s = (s + Math.imul(fixed[k0 + t], data[p])) | 0;
            p += c;
          }
          clamped[o + ch] = s >> PRECISION_BITS;
        }
        o += c;
      }
    }
  }
}

function verticalPass(mid: Uint8Array, rowLen: number, rowFirst: number, w: AxisWeights, out: Uint8Array): void {
  const clamped = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const { start, taps, fixed, stride, count } = w;
  for (let j = 0; j < count; j++) {
    const base = (start[j] - rowFirst) * rowLen;
    const k0 = j * stride;
    const n = taps[j];
    const o = j * rowLen;
    for (let i = 0; i < rowLen; i++) {
      let s = ROUNDING_BIAS;
      let p = base + i;
      for (let t = 0; t < n; t++) {
        s = (s + Math.imul(fixed[k0 + t], mid[p])) | 0;
        p += rowLen;
      }
      clamped[o + i] = s >> PRECISION_BITS;
    }
  }
}
