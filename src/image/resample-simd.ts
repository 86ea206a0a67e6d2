// The bicubic passes of `resample-bicubic.ts` as WebAssembly SIMD kernels: same integer weights,
// same integer sums (i32 lanes; the sums are exact since the true sum is below 2^31 in magnitude
// and i32 arithmetic wraps modulo 2^32), same rounding, so the output is bit-identical - the tests
// run both implementations against Pillow. Used when the runtime supports WebAssembly SIMD (Node 16.4+).
//
// horizontalDot[c - 1](): one output pixel per step, its c <= 4 interleaved channels in the lanes
//   of one i32x4; two taps at a time with 16-bit dot products on split weights (see
//   horizontalDotKernel; the earlier kernel, a widen-multiply-add per tap, was 1.5x slower).
// vertical(): 16 output samples per step (one 16-byte load widened into four i32x4), the same
//   weight for all of them since a vertical tap is a whole source row.
// Both finish with `>> 22` and the saturating narrowings i32 -> i16 -> u8, which clamp to 0..255
// exactly like Pillow's clip8. Loads and stores may run up to 15 bytes past a row: the horizontal
// pass writes rows with a stride of at least rowLen + 4 (its 4-byte stores spill into that gap, not
// into the other row of a pair), the vertical pass writes its rows in order (a spill is overwritten
// by the next row), and every buffer has 16 bytes of padding after it.
import { buildModule, FunctionBuilder, I32, V128 } from './wasm-assembler.js';
import { PRECISION_BITS, ROUNDING_BIAS } from './resample-weights.js';

/** Bits of the low half of a split weight (see horizontalDotKernel). */
export const DOT_SPLIT_BITS = 11;

/**
 * The swizzle of horizontalDotKernel: channel ch of the two pixels of a tap pair (bytes ch and
 * channels + ch of an 8-byte load) into the 16-bit lanes 2ch and 2ch + 1; 0xff gives zero bytes.
 */
function dotSwizzle(channels: number): number[] {
  const mask: number[] = [];
  for (let ch = 0; ch < 4; ch++) {
    const inside = ch < channels;
    mask.push(inside ? ch : 0xff, 0xff, inside ? channels + ch : 0xff, 0xff);
  }
  return mask;
}

/**
 * The horizontal pass with `i32x4.dot_i16x8_s`, two taps per step, for `channels` channels: the 8
 * bytes at the tap pair are swizzled into 16-bit lanes (dotSwizzle), and each 22-bit weight w is
 * split as w = hi·2^11 + lo with 0 <= lo < 2^11, both of which fit in 16 bits. Then
 * Σ w·p = 2^11·Σ hi·p + Σ lo·p: two dot products per tap pair instead of a widen-multiply-add per
 * tap. i32 arithmetic wraps modulo 2^32 and the true sum fits in an i32 (see resample-bicubic.ts),
 * so the result is exactly the sum of the other kernels. Weights come as, per output pixel, per tap
 * pair, the 8 lanes of hi then the 8 lanes of lo (a tap past the last one has weight zero);
 * `tapPairs` counts the pairs of each output pixel. The channel count is built in, which lets the
 * swizzle be a constant (measured 10% faster). `twoRows`: rows r and r + 1 at once, sharing the
 * weight loads and the loop bookkeeping (four rows at once measured slower).
 */
function horizontalDotKernel(channels: number, twoRows: boolean): FunctionBuilder {
  // (src, srcRowStride, steps, starts, tapPairs, weights, weightStrideBytes, count, out, outStride)
  const f = new FunctionBuilder([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [src, srcRowStride, steps, starts, tapPairs, weights, wStride, count, out, outStride] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const r = f.local(I32), j = f.local(I32), rowIn = f.local(I32), o = f.local(I32), p = f.local(I32);
  const n = f.local(I32), wq = f.local(I32), wp = f.local(I32), sp = f.local(I32), tp = f.local(I32);
  const rows = twoRows ? 2 : 1;
  const hi: number[] = [];
  const lo: number[] = [];
  for (let i = 0; i < rows; i++) {
    hi.push(f.local(V128));
    lo.push(f.local(V128));
  }
  const bias = f.local(V128), zero = f.local(V128), wh = f.local(V128), wl = f.local(V128), v = f.local(V128), tmp = f.local(V128);
  const swizzle = dotSwizzle(channels);
  f.i32(ROUNDING_BIAS).i32x4Splat().set(bias);
  f.i32(0).i32x4Splat().set(zero);
  f.i32(0).set(r);
  f.block().loop(); // rows (or pairs of rows)
  f.get(r).get(steps).geS().brIf(1);
  f.get(src).get(r).get(srcRowStride).mul().i32(rows - 1).shl().add().set(rowIn);
  f.get(out).get(r).get(outStride).mul().i32(rows - 1).shl().add().set(o);
  f.i32(0).set(j);
  f.get(weights).set(wp).get(starts).set(sp).get(tapPairs).set(tp);
  f.block().loop(); // output pixels
  f.get(j).get(count).geS().brIf(1);
  f.get(rowIn).get(sp).load().i32(channels).mul().add().set(p);
  f.get(tp).load().set(n);
  f.get(wp).set(wq);
  for (let i = 0; i < rows; i++) f.get(zero).set(hi[i]).get(bias).set(lo[i]);
  f.block().loop(); // tap pairs
  f.get(n).eqz().brIf(1);
  f.get(wq).v128Load().set(wh);
  f.get(wq).v128Load(16).set(wl);
  for (let i = 0; i < rows; i++) {
    f.get(p);
    if (i > 0) f.get(srcRowStride).add();
    f.v128Load64Zero().v128Const(swizzle).i8x16Swizzle().set(v);
    f.get(hi[i]).get(v).get(wh).i32x4DotI16x8S().i32x4Add().set(hi[i]);
    f.get(lo[i]).get(v).get(wl).i32x4DotI16x8S().i32x4Add().set(lo[i]);
  }
  f.get(p).i32(2 * channels).add().set(p);
  f.get(wq).i32(32).add().set(wq);
  f.get(n).i32(1).sub().set(n);
  f.br(0).end().end();
  for (let i = 0; i < rows; i++) {
    f.get(o);
    if (i > 0) f.get(outStride).add();
    f.get(hi[i]).i32(DOT_SPLIT_BITS).i32x4Shl().get(lo[i]).i32x4Add();
    f.i32(PRECISION_BITS).i32x4ShrS().tee(tmp).get(tmp).i16x8NarrowI32x4S().tee(tmp).get(tmp).i8x16NarrowI16x8U();
    f.v128Store32Lane(0);
  }
  f.get(o).i32(channels).add().set(o);
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

/** (src, srcRowStride, steps, starts, tapPairs, weights, weightStrideBytes, count, out, outStride) */
export type HorizontalDotKernel = (src: number, srcRowStride: number, steps: number, starts: number, tapPairs: number,
  weights: number, weightStrideBytes: number, count: number, out: number, outStride: number) => void;

export interface SimdKernels {
  memory: WasmMemory;
  vertical(src: number, srcStride: number, rowLen: number, starts: number, taps: number, weights: number,
    weightStrideBytes: number, count: number, out: number): void;
  /** horizontalDotKernel for 1-4 channels (index channels - 1), one row per step and two. */
  horizontalDot: readonly HorizontalDotKernel[];
  horizontalDotPairs: readonly HorizontalDotKernel[];
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
      { name: 'vertical', fn: verticalKernel() },
      ...[1, 2, 3, 4].flatMap((c) => [
        { name: `horizontalDot${c}`, fn: horizontalDotKernel(c, false) },
        { name: `horizontalDotPairs${c}`, fn: horizontalDotKernel(c, true) },
      ]),
    ]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const ex = instance.exports as Record<string, unknown>;
    const fn = <T>(name: string): T => {
      if (typeof ex[name] !== 'function') throw new Error(`missing export ${name}`);
      return ex[name] as T;
    };
    kernels = {
      memory: ex.memory as WasmMemory,
      vertical: fn('vertical'),
      horizontalDot: [1, 2, 3, 4].map((c) => fn<HorizontalDotKernel>(`horizontalDot${c}`)),
      horizontalDotPairs: [1, 2, 3, 4].map((c) => fn<HorizontalDotKernel>(`horizontalDotPairs${c}`)),
    };
  } catch {
    kernels = null;
  }
  return kernels;
}
