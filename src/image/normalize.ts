// ToTensor + Normalize: uint8 RGB (HWC) to float32 CHW, `(u8 / 255 - mean) / std` per channel,
// rounded to float32 after every operation exactly like PyTorch's float32 arithmetic. Because the
// input is one of 256 values per channel, the result is a table lookup.

/** OpenAI CLIP's normalisation constants (also open_clip's `OPENAI_DATASET_MEAN/STD`). */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export interface Normalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

const tables = new Map<string, Float32Array[]>();

/** The 3 x 256 lookup tables of a normalisation (cached). */
export function normalizationTables(norm: Normalization = { mean: CLIP_MEAN, std: CLIP_STD }): Float32Array[] {
  const key = `${norm.mean.join(',')}/${norm.std.join(',')}`;
  let t = tables.get(key);
  if (t === undefined) {
    t = [0, 1, 2].map((ch) => {
      const m = Math.fround(norm.mean[ch]);
      const s = Math.fround(norm.std[ch]);
      if (!(s > 0)) throw new RangeError(`std must be positive, got ${norm.std[ch]}`);
      const table = new Float32Array(256);
      // One float64 operation rounded to float32 equals the float32 operation, so this gives
      // PyTorch's bits (ToTensor divides by 255, Normalize subtracts then divides).
      for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
      return table;
    });
    tables.set(key, t);
  }
  return t;
}

/**
 * Writes the normalised CHW tensor of `pixels` RGB pixels (interleaved uint8) into `out` starting
 * at `offset` (so batches can be filled in place).
 */
export function normalizeRgbInto(rgb: Uint8Array, out: Float32Array, offset = 0, norm?: Normalization): void {
  const n = rgb.length / 3;
  if (!Number.isInteger(n) || offset + 3 * n > out.length) {
    throw new RangeError(`normalize: ${rgb.length} samples do not fit at ${offset} in ${out.length}`);
  }
  const [tr, tg, tb] = normalizationTables(norm);
  const g0 = offset + n;
  const b0 = offset + 2 * n;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    out[offset + i] = tr[rgb[p]];
    out[g0 + i] = tg[rgb[p + 1]];
    out[b0 + i] = tb[rgb[p + 2]];
  }
}
