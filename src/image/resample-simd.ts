// The bicubic passes of `resample-bicubic.ts` as WebAssembly SIMD kernels: same integer weights,
// same integer sums (i32 lanes; int32 wrap-around cannot occur since every partial sum is below
// 2^31 in magnitude), same rounding, so the output is bit-identical - the tests run both
// implementations against Pillow. Used when the runtime supports WebAssembly SIMD (Node 16.4+).
//
// horizontal(): one output pixel per step, its C <= 4 interleaved channels in the lanes of one
//   i32x4 (a 4-byte load, widened); taps accumulate `weight * pixel`.
// vertical(): 16 output samples per step (one 16-byte load widened into four i32x4), the same
//   weight for all of them since a vertical tap is a whole source row.
// Both finish with `>> 22` and the saturating narrowings i32 -> i16 -> u8, which clamp to 0..255
// exactly like Pillow's clip8. Loads and stores may run up to 15 bytes past a row: the horizontal
// pass writes rows with a stride of at least rowLen + 4 (its 4-byte stores spill into that gap, not
// into the other row of a pair), the vertical pass writes its rows in order (a spill is overwritten
// by the next row), and every buffer has 16 bytes of padding after it.
import { buildModule, FunctionBuilder, I32, V128 } from './wasm-assembler.js';
import { PRECISION_BITS, ROUNDING_BIAS } from './resample-weights.js';

function horizontalKernel(): FunctionBuilder {
  // (src, srcRowStride, rows, starts, taps, weights, weightStrideBytes, count, out, outStride, channels)
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [src, srcRowStride, rows, starts, taps, weights, wStride, count, out, outStride, channels] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const r = f.local(I32), j = f.local(I32), rowIn = f.local(I32), o = f.local(I32), p = f.local(I32);
  const n = f.local(I32), wq = f.local(I32), wp = f.local(I32), sp = f.local(I32), tp = f.local(I32);
  const acc = f.local(V128), bias = f.local(V128), tmp = f.local(V128);
  f.i32(ROUNDING_BIAS).i32x4Splat().set(bias);
  f.i32(0).set(r);
  f.block().loop(); // rows
  f.get(r).get(rows).geS().brIf(1);
  f.get(src).get(r).get(srcRowStride).mul().add().set(rowIn);
  f.get(out).get(r).get(outStride).mul().add().set(o);
  f.i32(0).set(j);
  f.get(weights).set(wp).get(starts).set(sp).get(taps).set(tp);
  f.block().loop(); // output pixels of the row
  f.get(j).get(count).geS().brIf(1);
  f.get(rowIn).get(sp).load().get(channels).mul().add().set(p);
  f.get(tp).load().set(n);
  f.get(wp).set(wq);
  f.get(bias).set(acc);
  f.block().loop(); // taps
  f.get(n).eqz().brIf(1);
  f.get(acc);
  f.get(wq).load().i32x4Splat();
  f.get(p).v128Load32Zero().i16x8ExtendLowI8x16U().i32x4ExtendLowI16x8U();
  f.i32x4Mul().i32x4Add().set(acc);
  f.get(p).get(channels).add().set(p);
  f.get(wq).i32(4).add().set(wq);
  f.get(n).i32(1).sub().set(n);
  f.br(0).end().end();
  f.get(o);
  f.get(acc).i32(PRECISION_BITS).i32x4ShrS().tee(tmp).get(tmp).i16x8NarrowI32x4S().tee(tmp).get(tmp).i8x16NarrowI16x8U();
  f.v128Store32Lane(0);
  f.get(o).get(channels).add().set(o);
  f.get(j).i32(1).add().set(j);
  f.get(sp).i32(4).add().set(sp);
  f.get(tp).i32(4).add().set(tp);
  f.get(wp).get(wStride).add().set(wp);
  f.br(0).end().end();
  f.get(r).i32(1).add().set(r);
  f.br(0).end().end();
  return f;
}

/**
 * The horizontal pass on two rows at once (rows r and r + 1 share every weight load and all the
 * loop bookkeeping): `pairs` pairs of rows, output rows written in order.
 */
function horizontalPairKernel(): FunctionBuilder {
  // (src, srcRowStride, pairs, starts, taps, weights, weightStrideBytes, count, out, outStride, channels)
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [src, srcRowStride, pairs, starts, taps, weights, wStride, count, out, outStride, channels] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const r = f.local(I32), j = f.local(I32), rowIn = f.local(I32), o = f.local(I32), p = f.local(I32);
  const n = f.local(I32), wq = f.local(I32), wp = f.local(I32), sp = f.local(I32), tp = f.local(I32);
  const acc = f.local(V128), acc2 = f.local(V128), bias = f.local(V128), tmp = f.local(V128), w = f.local(V128);
  f.i32(ROUNDING_BIAS).i32x4Splat().set(bias);
  f.i32(0).set(r);
  f.block().loop(); // pairs of rows
  f.get(r).get(pairs).geS().brIf(1);
  f.get(src).get(r).get(srcRowStride).mul().i32(1).shl().add().set(rowIn);
  f.get(out).get(r).get(outStride).mul().i32(1).shl().add().set(o);
  f.i32(0).set(j);
  f.get(weights).set(wp).get(starts).set(sp).get(taps).set(tp);
  f.block().loop(); // output pixels
  f.get(j).get(count).geS().brIf(1);
  f.get(rowIn).get(sp).load().get(channels).mul().add().set(p);
  f.get(tp).load().set(n);
  f.get(wp).set(wq);
  f.get(bias).set(acc);
  f.get(bias).set(acc2);
  f.block().loop(); // taps
  f.get(n).eqz().brIf(1);
  f.get(wq).load().i32x4Splat().set(w);
  f.get(acc).get(w).get(p).v128Load32Zero().i16x8ExtendLowI8x16U().i32x4ExtendLowI16x8U().i32x4Mul().i32x4Add().set(acc);
  f.get(acc2).get(w).get(p).get(srcRowStride).add().v128Load32Zero().i16x8ExtendLowI8x16U().i32x4ExtendLowI16x8U().i32x4Mul().i32x4Add().set(acc2);
  f.get(p).get(channels).add().set(p);
  f.get(wq).i32(4).add().set(wq);
  f.get(n).i32(1).sub().set(n);
  f.br(0).end().end();
  f.get(o);
  f.get(acc).i32(PRECISION_BITS).i32x4ShrS().tee(tmp).get(tmp).i16x8NarrowI32x4S().tee(tmp).get(tmp).i8x16NarrowI16x8U();
  f.v128Store32Lane(0);
  f.get(o).get(outStride).add();
  f.get(acc2).i32(PRECISION_BITS).i32x4ShrS().tee(tmp).get(tmp).i16x8NarrowI32x4S().tee(tmp).get(tmp).i8x16NarrowI16x8U();
  f.v128Store32Lane(0);
  f.get(o).get(channels).add().set(o);
  f.get(j).i32(1).add().set(j);
  f.get(sp).i32(4).add().set(sp);
  f.get(tp).i32(4).add().set(tp);
  f.get(wp).get(wStride).add().set(wp);
  f.br(0).end().end();
  f.get(r).i32(1).add().set(r);
  f.br(0).end().end();
  return f;
}

function verticalKernel(): FunctionBuilder {
  // (src, srcStride, rowLen, starts, taps, weights, weightStrideBytes, count, out); output rows are contiguous
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [src, srcStride, rowLen, starts, taps, weights, wStride, count, out] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const j = f.local(I32), base = f.local(I32), n0 = f.local(I32), c = f.local(I32), p = f.local(I32);
  const n = f.local(I32), wq = f.local(I32), wp = f.local(I32), sp = f.local(I32), tp = f.local(I32), orow = f.local(I32);
  const a0 = f.local(V128), a1 = f.local(V128), a2 = f.local(V128), a3 = f.local(V128);
  const w = f.local(V128), lo = f.local(V128), hi = f.local(V128), bias = f.local(V128), t0 = f.local(V128), t1 = f.local(V128);
  f.i32(ROUNDING_BIAS).i32x4Splat().set(bias);
  f.i32(0).set(j);
  f.get(weights).set(wp).get(starts).set(sp).get(taps).set(tp).get(out).set(orow);
  f.block().loop(); // output rows
  f.get(j).get(count).geS().brIf(1);
  f.get(src).get(sp).load().get(srcStride).mul().add().set(base);
  f.get(tp).load().set(n0);
  f.i32(0).set(c);
  f.block().loop(); // 16-sample chunks of the row
  f.get(c).get(rowLen).geS().brIf(1);
  for (const a of [a0, a1, a2, a3]) f.get(bias).set(a);
  f.get(base).get(c).add().set(p);
  f.get(n0).set(n);
  f.get(wp).set(wq);
  f.block().loop(); // taps (source rows)
  f.get(n).eqz().brIf(1);
  f.get(wq).load().i32x4Splat().set(w);
  f.get(p).v128Load().tee(t0).i16x8ExtendLowI8x16U().set(lo);
  f.get(t0).i16x8ExtendHighI8x16U().set(hi);
  f.get(a0).get(w).get(lo).i32x4ExtendLowI16x8U().i32x4Mul().i32x4Add().set(a0);
  f.get(a1).get(w).get(lo).i32x4ExtendHighI16x8U().i32x4Mul().i32x4Add().set(a1);
  f.get(a2).get(w).get(hi).i32x4ExtendLowI16x8U().i32x4Mul().i32x4Add().set(a2);
  f.get(a3).get(w).get(hi).i32x4ExtendHighI16x8U().i32x4Mul().i32x4Add().set(a3);
  f.get(p).get(srcStride).add().set(p);
  f.get(wq).i32(4).add().set(wq);
  f.get(n).i32(1).sub().set(n);
  f.br(0).end().end();
  f.get(orow).get(c).add();
  f.get(a0).i32(PRECISION_BITS).i32x4ShrS().get(a1).i32(PRECISION_BITS).i32x4ShrS().i16x8NarrowI32x4S().set(t0);
  f.get(a2).i32(PRECISION_BITS).i32x4ShrS().get(a3).i32(PRECISION_BITS).i32x4ShrS().i16x8NarrowI32x4S().set(t1);
  f.get(t0).get(t1).i8x16NarrowI16x8U();
  f.v128Store();
  f.get(c).i32(16).add().set(c);
  f.br(0).end().end();
  f.get(orow).get(rowLen).add().set(orow);
  f.get(j).i32(1).add().set(j);
  f.get(sp).i32(4).add().set(sp);
  f.get(tp).i32(4).add().set(tp);
  f.get(wp).get(wStride).add().set(wp);
  f.br(0).end().end();
  return f;
}

// The project's lib setting (ES2023, no DOM) has no WebAssembly types; this is the part used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, never>) => { exports: Record<string, unknown> };
};

export interface SimdKernels {
  memory: WasmMemory;
  horizontal(src: number, srcRowStride: number, rows: number, starts: number, taps: number, weights: number,
    weightStrideBytes: number, count: number, out: number, outStride: number, channels: number): void;
  horizontalPairs(src: number, srcRowStride: number, pairs: number, starts: number, taps: number, weights: number,
    weightStrideBytes: number, count: number, out: number, outStride: number, channels: number): void;
  vertical(src: number, srcStride: number, rowLen: number, starts: number, taps: number, weights: number,
    weightStrideBytes: number, count: number, out: number): void;
}

let kernels: SimdKernels | null | undefined;

/** The kernels (one instance per thread), or null where WebAssembly SIMD is unavailable or disabled. */
export function simdKernels(): SimdKernels | null {
  if (kernels !== undefined) return kernels;
  kernels = null;
  if (process.env.CLIP_TS_NO_SIMD === '1' || typeof WebAssembly !== 'object') return kernels;
  // Any failure (no SIMD in this runtime) leaves the TypeScript passes in charge.
  try {
    const bytes = buildModule(1, [
      { name: 'horizontal', fn: horizontalKernel() },
      { name: 'horizontalPairs', fn: horizontalPairKernel() },
      { name: 'vertical', fn: verticalKernel() },
    ]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const ex = instance.exports as unknown as SimdKernels;
    kernels = { memory: ex.memory, horizontal: ex.horizontal, horizontalPairs: ex.horizontalPairs, vertical: ex.vertical };
  } catch {
    kernels = null;
  }
  return kernels;
}
