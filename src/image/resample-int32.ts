// Pillow's resampling of 32-bit integer images (mode I, which is what Pillow 9.4 makes of a 16-bit
// grayscale PNG). Unlike the 8-bit path it keeps the normalised weights in float64 and rounds each
// pass to the nearest integer (halves away from zero), with no clamping: values stay 32-bit ints.
import type { Rect } from './image.js';
import { bicubicAxisWeights, type AxisWeights } from './resample-weights.js';

/** Pillow's ROUND_UP for the 32-bit passes: round half away from zero. */
function roundHalfAway(v: number): number {
  return v >= 0 ? Math.floor(v + 0.5) : -Math.floor(-v + 0.5);
}

/**
 * Bicubic resample of a one-channel region (`region` inside an image of width `srcWidth`) to
 * `outWidth x outHeight`, returning the `window` of the output as 32-bit integers.
 */
export function bicubicResampleInt32(src: Uint16Array | Int32Array, srcWidth: number, region: Rect,
  outWidth: number, outHeight: number, window: Rect): Int32Array {
  const doHorizontal = outWidth !== region.width;
  const doVertical = outHeight !== region.height;
  const vw = doVertical ? bicubicAxisWeights(region.height, outHeight, window.top, window.height) : undefined;
  let rowFirst = window.top;
  let rowEnd = window.top + window.height;
  if (vw !== undefined) {
    rowFirst = region.height;
    rowEnd = 0;
    for (let j = 0; j < vw.count; j++) {
      rowFirst = Math.min(rowFirst, vw.start[j]);
      rowEnd = Math.max(rowEnd, vw.start[j] + vw.taps[j]);
    }
  }
  const rows = rowEnd - rowFirst;
  const cols = window.width;
  const mid = new Int32Array(rows * cols);
  const hw: AxisWeights | undefined = doHorizontal ? bicubicAxisWeights(region.width, outWidth, window.left, window.width) : undefined;
  for (let r = 0; r < rows; r++) {
    const rowBase = (region.top + rowFirst + r) * srcWidth + region.left;
    for (let j = 0; j < cols; j++) {
      if (hw === undefined) {
        mid[r * cols + j] = src[rowBase + window.left + j];
        continue;
      }
      const k0 = j * hw.stride;
      const p0 = rowBase + hw.start[j];
      let s = 0;
      for (let t = 0; t < hw.taps[j]; t++) s += src[p0 + t] * hw.weights[k0 + t];
      mid[r * cols + j] = roundHalfAway(s);
    }
  }
  if (vw === undefined) return mid;
  const out = new Int32Array(window.height * cols);
  for (let j = 0; j < vw.count; j++) {
    const base = (vw.start[j] - rowFirst) * cols;
    const k0 = j * vw.stride;
    for (let i = 0; i < cols; i++) {
      let s = 0;
      for (let t = 0; t < vw.taps[j]; t++) s += mid[base + t * cols + i] * vw.weights[k0 + t];
      out[j * cols + i] = roundHalfAway(s);
    }
  }
  return out;
}
