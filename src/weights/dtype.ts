// Element types a checkpoint may store, and their conversion to float32.
//
// fp16 → fp32 is exact (every half value is a float), so a 65,536-entry table built once turns
// conversion into one lookup per element. bf16 is the top half of a float32, so it converts by a
// 16-bit shift. fp32 → fp16/bf16 (for writing) rounds to nearest, ties to even, as PyTorch does.
import { endianness } from 'node:os';
import { native } from '../tensor/native.js';

export type StorageDType =
  | 'float16' | 'bfloat16' | 'float32' | 'float64'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** Bytes per element of each storage type. */
export const DTYPE_BYTES: Readonly<Record<StorageDType, number>> = {
  float16: 2, bfloat16: 2, float32: 4, float64: 8,
  int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

// Every reader below views file bytes through typed arrays, which use the host's byte order;
// checkpoints are little-endian. Big-endian hosts are refused once, clearly, rather than misread.
if (endianness() !== 'LE') {
  throw new Error('clip-ts weights: a little-endian host is required (checkpoint files are little-endian)');
}

let halfTable: Float32Array | undefined;

/** float32 value of every fp16 bit pattern. */
function halfToFloatTable(): Float32Array {
  if (halfTable !== undefined) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = halfBitsToNumber(h);
  halfTable = t;
  return t;
}

/** The value of an IEEE-754 binary16 bit pattern. */
export function halfBitsToNumber(h: number): number {
  const sign = (h & 0x8000) !== 0 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** fp16 bits of a number, rounded first to float32 and then to half (nearest, ties to even). */
export function numberToHalfBits(value: number): number {
  f32Scratch[0] = value;
  return float32BitsToHalfBits(u32Scratch[0]);
}

/** fp16 bits for float32 bits `x` (round to nearest, ties to even; NaN stays a quiet NaN). */
function float32BitsToHalfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf, or a quiet NaN
  // Unbiased exponent, rebiased for half (bias 15).
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa with its implicit 1 into place, then round.
    if (e < -10) return sign; // below half of the smallest subnormal → ±0
    mant |= 0x800000;
    const shift = 14 - e; // 24-bit significand down to (10 + e) bits
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let m = mant >>> shift;
    if (rest > half || (rest === half && (m & 1) === 1)) m += 1;
    return sign | m; // a carry into bit 10 correctly yields the smallest normal
  }
  const rest = mant & 0x1fff;
  let bits = (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (bits & 1) === 1)) bits += 1; // carry may bump exponent: still right
  return sign | bits;
}

/** bf16 bits of a number, rounded first to float32 and then to bf16 (nearest, ties to even). */
export function numberToBFloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff; // quiet NaN
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/**
 * Converts `count` elements of `dtype` from little-endian `bytes` into `dst` starting at
 * `dstOffset`. `bytes` must start at an offset aligned to the element size within its buffer
 * (the readers allocate their own scratch buffers, so it always is).
 */
export function decodeToFloat32(dtype: StorageDType, bytes: Uint8Array, dst: Float32Array, dstOffset: number, count: number): void {
  const b = bytes.buffer;
  const o = bytes.byteOffset;
  switch (dtype) {
    case 'float32':
      dst.set(new Float32Array(b, o, count), dstOffset);
      return;
    case 'float16': {
      const src = new Uint16Array(b, o, count);
      // Whole tensors go to the native core (F16C): the table loop ran at ~30 M values/s.
      if (count >= 4096) {
        native().fromFloat16(src, dst.subarray(dstOffset, dstOffset + count));
        return;
      }
      const table = halfToFloatTable();
      for (let i = 0; i < count; i++) dst[dstOffset + i] = table[src[i]];
      return;
    }
    case 'bfloat16': {
      const src = new Uint16Array(b, o, count);
      const out = new Uint32Array(dst.buffer, dst.byteOffset + dstOffset * 4, count);
      for (let i = 0; i < count; i++) out[i] = src[i] << 16;
      return;
    }
    case 'float64': {
      const src = new Float64Array(b, o, count);
      for (let i = 0; i < count; i++) dst[dstOffset + i] = src[i];
      return;
    }
    case 'int64': {
      const src = new BigInt64Array(b, o, count);
      for (let i = 0; i < count; i++) dst[dstOffset + i] = Number(src[i]);
      return;
    }
    case 'int32': {
      const src = new Int32Array(b, o, count);
      for (let i = 0; i < count; i++) dst[dstOffset + i] = src[i];
      return;
    }
    case 'int16': {
      const src = new Int16Array(b, o, count);
      for (let i = 0; i < count; i++) dst[dstOffset + i] = src[i];
      return;
    }
    case 'int8': {
      const src = new Int8Array(b, o, count);
      for (let i = 0; i < count; i++) dst[dstOffset + i] = src[i];
      return;
    }
    case 'uint8':
    case 'bool': {
      for (let i = 0; i < count; i++) dst[dstOffset + i] = bytes[i];
      return;
    }
  }
}

/** Encodes float32 values as fp16 (round to nearest even) into `out` (2 bytes per value). */
export function encodeFloat16(src: Float32Array, out: Uint8Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const dst = new Uint16Array(out.buffer, out.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = float32BitsToHalfBits(bits[i]);
}

/** Encodes float32 values as bf16 (round to nearest even) into `out` (2 bytes per value). */
export function encodeBFloat16(src: Float32Array, out: Uint8Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const dst = new Uint16Array(out.buffer, out.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) dst[i] = ((x >>> 16) | 0x40) & 0xffff;
    else dst[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
  }
}
