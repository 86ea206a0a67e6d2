// Pillow's nearest-neighbour resampling, which it uses for modes P and 1 whatever filter is asked
// for. Nearest on palette indices followed by the palette lookup equals nearest on the looked-up
// colours, so the expanded pixels from the decoder can be resampled directly.
import type { Rect } from './image.js';
import type { PixelPlane8 } from './resample-bicubic.js';
import { nearestAxisIndices } from './resample-weights.js';

/** Nearest-neighbour resample of a region to `outWidth x outHeight`, returning only `window`. */
export function nearestResample8(src: PixelPlane8, regionWidth: number, regionHeight: number,
  outWidth: number, outHeight: number, window: Rect): Uint8Array {
  const c = src.channels;
  const xs = nearestAxisIndices(regionWidth, outWidth, window.left, window.width);
  const ys = nearestAxisIndices(regionHeight, outHeight, window.top, window.height);
  const out = new Uint8Array(window.width * window.height * c);
  let o = 0;
  for (let j = 0; j < window.height; j++) {
    const rowBase = src.offset + ys[j] * src.rowStride;
    for (let i = 0; i < window.width; i++) {
      const p = rowBase + xs[i] * c;
      for (let ch = 0; ch < c; ch++) out[o++] = src.data[p + ch];
    }
  }
  return out;
}
