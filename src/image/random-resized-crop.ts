// Training augmentation: torchvision's RandomResizedCrop with open_clip's default scale (0.9, 1.0)
// and ratio (3/4, 4/3), then Pillow's bicubic resize of the crop (modes handled as in `resize.ts`),
// convert("RGB") and the CLIP normalisation - open_clip's training transform.
import { roundHalfEven } from './center-crop.js';
import { toRgb8 } from './convert-rgb.js';
import type { DecodedImage, Rect } from './image.js';
import { normalizeRgbInto, type Normalization } from './normalize.js';
import { resizeLikePillow } from './resize.js';
import type { SeededRandom } from './seeded-random.js';

export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's. Default [0.9, 1] (open_clip). */
  scale?: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height). Default [3/4, 4/3]. */
  ratio?: readonly [number, number];
  normalization?: Normalization;
}

/**
 * The crop box, following torchvision's `RandomResizedCrop.get_params`: up to 10 tries of a random
 * area and log-uniform aspect ratio that fit inside the image, else a centre crop clamped to the
 * ratio range. Sizes use Python's `round` (halves to even).
 */
export function randomResizedCropBox(width: number, height: number, rng: SeededRandom,
  opts: Pick<RandomResizedCropOptions, 'scale' | 'ratio'> = {}): Rect {
  const [smin, smax] = opts.scale ?? [0.9, 1];
  const [rmin, rmax] = opts.ratio ?? [3 / 4, 4 / 3];
  if (!(smin > 0 && smin <= smax && smax <= 1) || !(rmin > 0 && rmin <= rmax)) {
    throw new RangeError(`bad scale [${smin}, ${smax}] or ratio [${rmin}, ${rmax}]`);
  }
  const area = width * height;
  const logRatio = [Math.log(rmin), Math.log(rmax)] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(smin, smax);
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(0, height - h + 1);
      const left = rng.int(0, width - w + 1);
      return { left, top, width: w, height: h };
    }
  }
  // Fallback: the largest centred crop whose ratio is within range.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < rmin) h = roundHalfEven(w / rmin);
  else if (inRatio > rmax) w = roundHalfEven(h * rmax);
  return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
}

/** A random resized crop as uint8 interleaved RGB of `size x size` pixels. */
export function randomResizedCropRgb(image: DecodedImage, size: number, rng: SeededRandom,
  opts: RandomResizedCropOptions = {}): Uint8Array {
  const box = randomResizedCropBox(image.width, image.height, rng, opts);
  return toRgb8(resizeLikePillow(image, size, size, { region: box }));
}

/** Writes the float32 [3, size, size] tensor of a random resized crop into `out` at `offset`. */
export function randomResizedCropInto(image: DecodedImage, size: number, rng: SeededRandom, out: Float32Array,
  offset = 0, opts: RandomResizedCropOptions = {}): void {
  normalizeRgbInto(randomResizedCropRgb(image, size, rng, opts), out, offset, opts.normalization);
}

/** The float32 [3, size, size] tensor of a random resized crop (open_clip's training transform). */
export function randomResizedCrop(image: DecodedImage, size: number, rng: SeededRandom,
  opts: RandomResizedCropOptions = {}): Float32Array {
  const out = new Float32Array(3 * size * size);
  randomResizedCropInto(image, size, rng, out, 0, opts);
  return out;
}
