// Drives the WebAssembly SIMD kernels for `bicubicResample8`: lays out the weights and the needed
// part of the source in the module's memory, runs the horizontal then the vertical pass, and copies
// the window out. Semantics are exactly those of the TypeScript passes in resample-bicubic.ts.
import type { Rect } from './image.js';
import type { PixelPlane8 } from './resample-bicubic.js';
import { simdKernels, type SimdKernels } from './resample-simd.js';
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

/** True when the SIMD kernels can do this resample (available and at most 4 channels). */
export function canUseSimd(channels: number): boolean {
  return channels <= 4 && simdKernels() !== null;
}

/**
 * Both passes with the SIMD kernels. `hw` is undefined when the width does not change (the window's
 * columns are copied), `vw` when the height does not change; `rowFirst..rowEnd` are the source rows
 * the vertical pass reads (region-relative).
 */
export function bicubicResample8Simd(src: PixelPlane8, window: Rect, hw: AxisWeights | undefined,
  vw: AxisWeights | undefined, rowFirst: number, rowEnd: number): Uint8Array {
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
  const hAt = hw !== undefined ? { starts: arena.alloc(4 * hw.count), taps: arena.alloc(4 * hw.count), weights: arena.alloc(4 * hw.fixed.length) } : undefined;
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
  if (hw !== undefined && hAt !== undefined) {
    writeWeights(mem, hw, hAt, colFirst);
    const pairs = rows >> 1;
    k.horizontalPairs(srcAt, span, pairs, hAt.starts, hAt.taps, hAt.weights, 4 * hw.stride, hw.count, midAt, midStride, c);
    if ((rows & 1) === 1) {
      k.horizontal(srcAt + 2 * pairs * span, span, 1, hAt.starts, hAt.taps, hAt.weights, 4 * hw.stride, hw.count,
        midAt + 2 * pairs * midStride, midStride, c);
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
