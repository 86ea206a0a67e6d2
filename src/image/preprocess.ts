// CLIP's `_transform(n)`: Resize(n, bicubic) -> CenterCrop(n) -> convert("RGB") -> ToTensor ->
// Normalize(mean, std), reproduced bit for bit. The resize computes only the pixels inside the
// centre crop (the result is identical, and it saves the columns or rows that would be cut off).
import { resizeCropGeometry } from './center-crop.js';
import { toRgb8 } from './convert-rgb.js';
import { decodeImage, type DecodeOptions } from './decode.js';
import type { DecodedImage } from './image.js';
import { normalizeRgbInto, type Normalization } from './normalize.js';
import type { ResampleEngine } from './resample-bicubic.js';
import { resizeLikePillow } from './resize.js';

export interface PreprocessOptions {
  /** Mean and std of the normalisation; default OpenAI CLIP's. */
  normalization?: Normalization;
  /** Bicubic implementation (default 'auto': WebAssembly SIMD when available). Same results. */
  engine?: ResampleEngine;
}

/** Resize + centre crop + RGB, as uint8 interleaved RGB of `size x size` pixels. */
export function resizeCenterCropRgb(image: DecodedImage, size: number, opts: Pick<PreprocessOptions, 'engine'> = {}): Uint8Array {
  const g = resizeCropGeometry(image.width, image.height, size);
  const cropped = resizeLikePillow(image, g.resizedWidth, g.resizedHeight, { window: g.crop, engine: opts.engine });
  return toRgb8(cropped);
}

/** Writes the float32 [3, size, size] tensor of `image` into `out` at `offset`. */
export function preprocessInto(image: DecodedImage, size: number, out: Float32Array, offset = 0, opts: PreprocessOptions = {}): void {
  normalizeRgbInto(resizeCenterCropRgb(image, size, opts), out, offset, opts.normalization);
}

/** The float32 [3, size, size] tensor (CHW, RGB) OpenAI's `_transform(size)` makes of `image`. */
export function preprocess(image: DecodedImage, size: number, opts: PreprocessOptions = {}): Float32Array {
  const out = new Float32Array(3 * size * size);
  preprocessInto(image, size, out, 0, opts);
  return out;
}

/** Decodes and preprocesses one file (or buffer). */
export async function preprocessFile(input: string | Uint8Array, size: number,
  opts: PreprocessOptions & DecodeOptions = {}): Promise<Float32Array> {
  return preprocess(await decodeImage(input, opts), size, opts);
}
