// The decoded-image type shared by the whole preprocessing pipeline.
//
// `mode` is the mode Pillow gives the same file, because it decides how OpenAI's pipeline resizes
// and converts the pixels: P and 1 are resized with nearest-neighbour, RGBA and LA premultiplied,
// I (16-bit grayscale PNG) in 32-bit integer arithmetic, everything else with fixed-point bicubic.
// The pixel layout, however, is what sharp delivers, so palette images arrive already expanded.

/** Pillow's name for the image's mode. */
export type PillowMode = '1' | 'L' | 'LA' | 'P' | 'RGB' | 'RGBA' | 'CMYK' | 'I';

/** Interleaved samples per pixel for each mode, as stored in `DecodedImage.data`. */
export const MODE_CHANNELS: Readonly<Record<PillowMode, number>> = {
  '1': 1, // 0 or 255
  L: 1,
  LA: 2, // gray, alpha (straight, not premultiplied)
  P: 3, // the palette colours, already looked up: R, G, B
  RGB: 3,
  RGBA: 4, // straight alpha
  CMYK: 4, // as Pillow holds it: Adobe-inverted JPEGs are already un-inverted
  I: 1, // 16-bit grayscale values (Pillow widens them to 32-bit integers)
};

interface ImageBase {
  width: number;
  height: number;
  /** Samples per pixel (`MODE_CHANNELS[mode]`). */
  channels: number;
}

/** An 8-bit image: every mode except I. Rows top to bottom, pixels interleaved. */
export interface Image8 extends ImageBase {
  mode: Exclude<PillowMode, 'I'>;
  data: Uint8Array;
}

/**
 * Mode I: 32-bit integer gray. Decoding gives 16-bit values (a 16-bit grayscale PNG, which Pillow
 * 9.4 opens as mode I); resizing can overshoot 0..65535, so resized images hold Int32 values.
 */
export interface ImageI extends ImageBase {
  mode: 'I';
  data: Uint16Array | Int32Array;
}

export type DecodedImage = Image8 | ImageI;

/** An integer rectangle inside an image. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Checks that `data` matches the declared size and mode, so later loops can trust the indices. */
export function assertImageShape(img: DecodedImage): void {
  const expected = MODE_CHANNELS[img.mode];
  if (img.channels !== expected) {
    throw new Error(`image of mode ${img.mode} must have ${expected} channels, got ${img.channels}`);
  }
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1) {
    throw new Error(`image size must be positive integers, got ${img.width}x${img.height}`);
  }
  if (img.data.length !== img.width * img.height * img.channels) {
    throw new Error(`image data has ${img.data.length} samples, expected ${img.width}x${img.height}x${img.channels}`);
  }
}
