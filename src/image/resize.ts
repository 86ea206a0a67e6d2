// `Image.resize(size, BICUBIC)` as Pillow 9.4 does it for each mode, optionally after a crop and
// returning only a window of the result (so that resize-then-crop computes only what is kept).
//
// Per mode: P and 1 use nearest-neighbour (Pillow ignores the bicubic request for them); RGBA and LA
// are premultiplied before and un-premultiplied after; I is resampled in 32-bit integers with
// float64 weights; the others use the 8-bit fixed-point bicubic. An unchanged size is a plain copy
// (Pillow returns `self.copy()` before any of this, so not even the premultiply round trip happens).
import { premultiplyInPlace, unpremultiplyInPlace } from './alpha.js';
import { assertImageShape, type DecodedImage, type Image8, type ImageI, type Rect } from './image.js';
import { bicubicResample8, type PixelPlane8, type ResampleEngine } from './resample-bicubic.js';
import { bicubicResampleInt32 } from './resample-int32.js';
import { nearestResample8 } from './resample-nearest.js';

export interface ResizeOptions {
  /** The part of the source to resize (a Pillow `crop` before the resize); default: all of it. */
  region?: Rect;
  /** The part of the resized image to return (a crop after the resize); default: all of it. */
  window?: Rect;
  /** Bicubic implementation: WebAssembly SIMD when available ('auto', default) or TypeScript. Same results. */
  engine?: ResampleEngine;
}

function checkRect(r: Rect, width: number, height: number, what: string): void {
  const ok = [r.left, r.top, r.width, r.height].every(Number.isInteger) &&
    r.left >= 0 && r.top >= 0 && r.width >= 1 && r.height >= 1 &&
    r.left + r.width <= width && r.top + r.height <= height;
  if (!ok) {
    throw new RangeError(`${what} ${r.width}x${r.height}+${r.left}+${r.top} is not inside ${width}x${height}`);
  }
}

/** Resizes (the `region` of) `img` to `outWidth x outHeight` the way Pillow does for its mode. */
export function resizeLikePillow(img: DecodedImage, outWidth: number, outHeight: number, opts: ResizeOptions = {}): DecodedImage {
  assertImageShape(img);
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth < 1 || outHeight < 1) {
    throw new RangeError(`resize target must be positive integers, got ${outWidth}x${outHeight}`);
  }
  const region = opts.region ?? { left: 0, top: 0, width: img.width, height: img.height };
  const window = opts.window ?? { left: 0, top: 0, width: outWidth, height: outHeight };
  checkRect(region, img.width, img.height, 'crop region');
  checkRect(window, outWidth, outHeight, 'output window');
  const c = img.channels;
  const unchanged = outWidth === region.width && outHeight === region.height;

  if (img.mode === 'I') {
    const src: ImageI = img;
    const data = unchanged
      ? copyWindowI(src, region.left + window.left, region.top + window.top, window.width, window.height)
      : bicubicResampleInt32(src.data, src.width, region, outWidth, outHeight, window);
    return { mode: 'I', width: window.width, height: window.height, channels: 1, data };
  }

  const src8: Image8 = img;
  let plane: PixelPlane8 = {
    data: src8.data,
    offset: (region.top * img.width + region.left) * c,
    rowStride: img.width * c,
    channels: c,
  };
  let data: Uint8Array;
  if (unchanged) {
    data = copyWindow8(plane, window);
  } else if (src8.mode === 'P' || src8.mode === '1') {
    data = nearestResample8(plane, region.width, region.height, outWidth, outHeight, window);
  } else if (src8.mode === 'RGBA' || src8.mode === 'LA') {
    // Premultiply a compact copy of the region only: the source stays untouched.
    const copy = copyWindow8(plane, { left: 0, top: 0, width: region.width, height: region.height });
    premultiplyInPlace(copy, c);
    plane = { data: copy, offset: 0, rowStride: region.width * c, channels: c };
    data = bicubicResample8(plane, region.width, region.height, outWidth, outHeight, window, opts.engine);
    unpremultiplyInPlace(data, c);
  } else {
    data = bicubicResample8(plane, region.width, region.height, outWidth, outHeight, window, opts.engine);
  }
  return { mode: src8.mode, width: window.width, height: window.height, channels: c, data };
}

function copyWindow8(plane: PixelPlane8, window: Rect): Uint8Array {
  const c = plane.channels;
  const rowLen = window.width * c;
  const out = new Uint8Array(window.height * rowLen);
  for (let r = 0; r < window.height; r++) {
    const from = plane.offset + (window.top + r) * plane.rowStride + window.left * c;
    out.set(plane.data.subarray(from, from + rowLen), r * rowLen);
  }
  return out;
}

function copyWindowI(img: ImageI, left: number, top: number, width: number, height: number): Int32Array {
  const out = new Int32Array(width * height);
  for (let r = 0; r < height; r++) {
    const from = (top + r) * img.width + left;
    for (let i = 0; i < width; i++) out[r * width + i] = img.data[from + i];
  }
  return out;
}
