// The geometry of torchvision's `Resize(n)` (shorter side to n) followed by `CenterCrop(n)`.

import type { Rect } from './image.js';

/** Python's `round()` for floats: halves go to the even neighbour (74.5 -> 74, 75.5 -> 76). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export interface ResizeCropGeometry {
  /** Size after `Resize(n)`. */
  resizedWidth: number;
  resizedHeight: number;
  /** The `n x n` window `CenterCrop(n)` keeps, in resized coordinates. */
  crop: Rect;
}

/**
 * The shorter side becomes `size`, the longer `trunc(size * long / short)` (torchvision multiplies
 * the integers first, then divides once in floating point, then truncates); the crop offsets are
 * `round((resized - size) / 2)` with Python's rounding.
 */
export function resizeCropGeometry(width: number, height: number, size: number): ResizeCropGeometry {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((size * long) / short);
  const resizedWidth = width <= height ? size : newLong;
  const resizedHeight = width <= height ? newLong : size;
  const crop: Rect = {
    left: roundHalfEven((resizedWidth - size) / 2),
    top: roundHalfEven((resizedHeight - size) / 2),
    width: size,
    height: size,
  };
  return { resizedWidth, resizedHeight, crop };
}
