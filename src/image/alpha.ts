// Pillow resizes RGBA and LA images premultiplied ("RGBa", "La") and converts back afterwards.
// Both conversions are lossy in 8 bits, so they are reproduced with Pillow's exact integer rounding
// (see shared/fixtures/README.md, "Alpha").

/**
 * Premultiplies the colour samples of `pixels` pixels (alpha is the last of `channels` samples):
 * `c' = (t + (t >> 8)) >> 8` with `t = c * alpha + 128`, a rounded `c * alpha / 255`.
 */
export function premultiplyInPlace(data: Uint8Array, channels: number): void {
  const colours = channels - 1;
  for (let p = 0; p < data.length; p += channels) {
    const a = data[p + colours];
    for (let ch = 0; ch < colours; ch++) {
      const t = data[p + ch] * a + 128;
      data[p + ch] = (t + (t >> 8)) >> 8;
    }
  }
}

/**
 * Undoes the premultiplication: pixels with alpha 0 or 255 keep their values, others get
 * `min(255, floor(255 * c' / alpha))`.
 */
export function unpremultiplyInPlace(data: Uint8Array, channels: number): void {
  const colours = channels - 1;
  for (let p = 0; p < data.length; p += channels) {
    const a = data[p + colours];
    if (a === 0 || a === 255) continue;
    for (let ch = 0; ch < colours; ch++) {
      const v = Math.floor((255 * data[p + ch]) / a);
      data[p + ch] = v > 255 ? 255 : v;
    }
  }
}
