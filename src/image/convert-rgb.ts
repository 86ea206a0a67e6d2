// `Image.convert("RGB")` for every mode the pipeline handles, applied after the crop as in CLIP's
// `_transform`. There is no compositing: alpha is simply dropped, so transparent areas keep
// whatever colour they hold (black in most files).
import type { DecodedImage } from './image.js';

/** Returns the image's pixels as interleaved 8-bit R, G, B. */
export function toRgb8(img: DecodedImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const src = img.data;
  switch (img.mode) {
    case 'RGB':
    case 'P':
      out.set(src);
      break;
    case 'RGBA':
      for (let p = 0, q = 0; q < out.length; p += 4, q += 3) {
        out[q] = src[p];
        out[q + 1] = src[p + 1];
        out[q + 2] = src[p + 2];
      }
      break;
    case 'L':
    case '1':
    case 'LA': {
      const step = img.channels;
      for (let p = 0, q = 0; q < out.length; p += step, q += 3) {
        const v = src[p];
        out[q] = v;
        out[q + 1] = v;
        out[q + 2] = v;
      }
      break;
    }
    case 'I':
      // Pillow clips 32-bit values to 0..255 (it does not rescale 16-bit data).
      for (let p = 0, q = 0; p < n; p++, q += 3) {
        const raw = src[p];
        const v = raw < 0 ? 0 : raw > 255 ? 255 : raw;
        out[q] = v;
        out[q + 1] = v;
        out[q + 2] = v;
      }
      break;
    case 'CMYK':
      for (let p = 0, q = 0; q < out.length; p += 4, q += 3) {
        const nk = 255 - src[p + 3];
        for (let ch = 0; ch < 3; ch++) {
          // (colour * (255 - k)) / 255, rounded the way Pillow's integer MULDIV255 rounds.
          const t = src[p + ch] * nk + 128;
          const v = nk - (((t >> 8) + t) >> 8);
          out[q + ch] = v < 0 ? 0 : v;
        }
      }
      break;
    default: {
      const never: never = img;
      throw new Error(`unsupported mode ${(never as DecodedImage).mode}`);
    }
  }
  return out;
}
