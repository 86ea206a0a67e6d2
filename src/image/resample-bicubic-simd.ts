// Drives the WebAssembly SIMD kernels for `bicubicResample8`: lays out the weights and the needed
// part of the source in the module's memory, runs the horizontal then the vertical pass, and copies
// the window out. Semantics are exactly those of the TypeScript passes in resample-bicubic.ts.
import type { Rect } from './image.js';
import type { PixelPlane8 } from './resample-bicubic.js';
import { DOT_SPLIT_BITS, simdKernels, type SimdKernels } from './resample-simd.js';
import type { AxisWeights } from './resample-weights.js';

/** Spill room after each buffer: the kernels may read or write up to 15 bytes past a row. */
const PAD = 16;

function align16(n: number): number {
  return (n + 15) & ~15;
}

class Arena {
  private top = 0;
  constructor(private readonly k: SimdKernels) {}
  alloc(bytes: number): number {
    const at = this.top;
    this.top = align16(at + bytes + PAD);
    return at;
  }
  /** Grows the memory to hold everything allocated, then returns a fresh byte view. */
  commit(): Uint8Array {
    const have = this.k.memory.buffer.byteLength;
    if (this.top > have) this.k.memory.grow(Math.ceil((this.top - have) / 65536));
    return new Uint8Array(this.k.memory.buffer);
  }
}

function writeWeights(mem: Uint8Array, w: AxisWeights, at: { starts: number; taps: number; weights: number }, shift: number): void {
  const i32 = new Int32Array(mem.buffer);
  for (let j = 0; j < w.count; j++) {
    i32[(at.starts >> 2) + j] = w.start[j] - shift;
    i32[(at.taps >> 2) + j] = w.taps[j];
  }
  i32.set(w.fixed, at.weights >> 2);
}

/** Bytes of one tap pair in the dot kernels' weights: 8 lanes of hi, 8 of lo, int16. */
const DOT_PAIR_BYTES = 32;

function dotPairsPerPixel(w: AxisWeights): number {
  return Math.ceil(w.stride / 2);
}

/**
 * The horizontal weights for the dot kernels (layout in resample-simd.ts), or false when a weight's
 * high part does not fit in 16 bits, i.e. |w| >= 2^26 (not for bicubic weights, whose normalised
 * values stay below 4, i.e. 2^24 in fixed point; the caller then falls back to TypeScript).
 */
function writeDotWeights(mem: Uint8Array, w: AxisWeights, at: { starts: number; taps: number; weights: number }, shift: number): boolean {
  const i32 = new Int32Array(mem.buffer);
  const pairs = dotPairsPerPixel(w);
  const low = (1 << DOT_SPLIT_BITS) - 1;
  for (let j = 0; j < w.count; j++) {
    i32[(at.starts >> 2) + j] = w.start[j] - shift;
    i32[(at.taps >> 2) + j] = (w.taps[j] + 1) >> 1;
    const k0 = j * w.stride;
    for (let q = 0; q < pairs; q++) {
      const w0 = 2 * q < w.taps[j] ? w.fixed[k0 + 2 * q] : 0;
      const w1 = 2 * q + 1 < w.taps[j] ? w.fixed[k0 + 2 * q + 1] : 0;
      const h0 = w0 >> DOT_SPLIT_BITS;
      const h1 = w1 >> DOT_SPLIT_BITS;
      if (h0 < -32768 || h0 > 32767 || h1 < -32768 || h1 > 32767) return false;
      // int16 lanes 2i, 2i + 1 (little-endian, as WebAssembly memory) of the hi vector, then of lo.
      const at32 = (at.weights + (j * pairs + q) * DOT_PAIR_BYTES) >> 2;
      i32.fill((h0 & 0xffff) | (h1 << 16), at32, at32 + 4);
      i32.fill((w0 & low) | ((w1 & low) << 16), at32 + 4, at32 + 8);
    }
  }
  return true;
}

/** True when the SIMD kernels can do this resample (available and at most 4 channels). */
export function canUseSimd(channels: number): boolean {
  return channels <= 4 && simdKernels() !== null;
}

/**
 * Both passes with the SIMD kernels. `hw` is undefined when the width does not change (the window's
 * columns are copied), `vw` when the height does not change; `rowFirst..rowEnd` are the source rows
 * the vertical pass reads (region-relative). Undefined when a horizontal weight cannot be split for
 * the dot kernels (not for bicubic weights; the caller then uses the TypeScript passes).
 */
export function bicubicResample8Simd(src: PixelPlane8, window: Rect, hw: AxisWeights | undefined,
  vw: AxisWeights | undefined, rowFirst: number, rowEnd: number): Uint8Array | undefined {
  const k = simdKernels();
  if (k === null) throw new Error('WebAssembly SIMD kernels are unavailable');
  const c = src.channels;
  const rows = rowEnd - rowFirst;
  const rowLen = window.width * c;
  // Source columns the horizontal pass reads (or the window's columns when there is none).
  let colFirst = window.left;
  let colEnd = window.left + window.width;
  if (hw !== undefined) {
    colFirst = Infinity;
    colEnd = 0;
    for (let j = 0; j < hw.count; j++) {
      colFirst = Math.min(colFirst, hw.start[j]);
      colEnd = Math.max(colEnd, hw.start[j] + hw.taps[j]);
    }
  }
  const span = (colEnd - colFirst) * c;

  const arena = new Arena(k);
  const dotAt = hw !== undefined ? {
    starts: arena.alloc(4 * hw.count), taps: arena.alloc(4 * hw.count), weights: arena.alloc(hw.count * dotPairsPerPixel(hw) * DOT_PAIR_BYTES),
  } : undefined;
  const vAt = vw !== undefined ? { starts: arena.alloc(4 * vw.count), taps: arena.alloc(4 * vw.count), weights: arena.alloc(4 * vw.fixed.length) } : undefined;
  const srcAt = hw !== undefined ? arena.alloc(rows * span) : -1;
  // Gap after each intermediate row for the horizontal kernels' 4-byte stores (see resample-simd.ts).
  const midStride = rowLen + 4;
  const midAt = arena.alloc(rows * midStride);
  const outAt = vw !== undefined ? arena.alloc(window.height * rowLen) : -1;
  const mem = arena.commit();

  // The needed rows and columns of the source, compact (row stride = span).
  const target = hw !== undefined ? srcAt : midAt;
  const copyLen = hw !== undefined ? span : rowLen;
  const copyStride = hw !== undefined ? span : midStride;
  const fromCol = hw !== undefined ? colFirst : window.left;
  for (let r = 0; r < rows; r++) {
    const from = src.offset + (rowFirst + r) * src.rowStride + fromCol * c;
    mem.set(src.data.subarray(from, from + copyLen), target + r * copyStride);
  }
  if (hw !== undefined && dotAt !== undefined) {
    if (!writeDotWeights(mem, hw, dotAt, colFirst)) return undefined;
    const pairs = rows >> 1;
    const wStride = dotPairsPerPixel(hw) * DOT_PAIR_BYTES;
    k.horizontalDotPairs[c - 1](srcAt, span, pairs, dotAt.starts, dotAt.taps, dotAt.weights, wStride, hw.count, midAt, midStride);
    if ((rows & 1) === 1) {
      k.horizontalDot[c - 1](srcAt + 2 * pairs * span, span, 1, dotAt.starts, dotAt.taps, dotAt.weights, wStride, hw.count,
        midAt + 2 * pairs * midStride, midStride);
    }
  }
  if (vw === undefined || vAt === undefined) {
    const out = new Uint8Array(rows * rowLen);
    for (let r = 0; r < rows; r++) out.set(mem.subarray(midAt + r * midStride, midAt + r * midStride + rowLen), r * rowLen);
    return out;
  }
  writeWeights(mem, vw, vAt, rowFirst);
  k.vertical(midAt, midStride, rowLen, vAt.starts, vAt.taps, vAt.weights, 4 * vw.stride, vw.count, outAt);
  return mem.slice(outAt, outAt + window.height * rowLen);
}
