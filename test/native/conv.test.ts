// conv2d / conv2dBackward: forward against the plain-TypeScript reference (float64 and float32),
// backward against central finite differences of the native forward (float64), every internal
// path (im2col, direct 1×1, patch lowering, grouped images, column tiles, per-thread and
// multithreaded-BLAS scheduling), and argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type FloatArray } from '../../src/tensor/native.js';
import { conv2dRef } from './reference-conv.js';
import { withThreads } from './reference.js';

const nb = native();

/** Deterministic uniform values in [-1, 1). */
function rand(n: number, seed: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array): FloatArray {
  let s = seed >>> 0;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(1, maxAbs(expected));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= rtol * scale, `${what}: max error ${worst} at ${at} (got ${actual[at]}, want ${expected[at]}), allowed ${rtol * scale}`);
}

interface Case {
  name: string;
  N: number; C: number; H: number; W: number; O: number; kh: number; kw: number; stride: number; pad: number;
  bias: boolean;
}

function outSize(c: Case): [number, number] {
  return [Math.floor((c.H + 2 * c.pad - c.kh) / c.stride) + 1, Math.floor((c.W + 2 * c.pad - c.kw) / c.stride) + 1];
}

function runForward(c: Case, Ctor: Float32ArrayConstructor | Float64ArrayConstructor, seed: number) {
  const [Ho, Wo] = outSize(c);
  const x = rand(c.N * c.C * c.H * c.W, seed, Ctor);
  const w = rand(c.O * c.C * c.kh * c.kw, seed + 1, Ctor);
  const b = c.bias ? rand(c.O, seed + 2, Ctor) : null;
  const out = new Ctor(c.N * c.O * Ho * Wo).fill(Number.NaN);
  nb.conv2d(x, w, b, out, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
  const ref = conv2dRef(x, w, b, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
  return { out, ref };
}

// Small shapes covering each lowering; the comments name the path the planner picks.
const cases: Case[] = [
  { name: '3x3 s1 p1 (im2col)', N: 2, C: 3, H: 7, W: 9, O: 4, kh: 3, kw: 3, stride: 1, pad: 1, bias: true },
  { name: '3x3 s2 p1 odd sizes', N: 3, C: 2, H: 9, W: 6, O: 5, kh: 3, kw: 3, stride: 2, pad: 1, bias: true },
  { name: '3x3 s2 p0', N: 2, C: 3, H: 8, W: 11, O: 3, kh: 3, kw: 3, stride: 2, pad: 0, bias: false },
  { name: '1x1 s1 p0 (direct, grouped)', N: 5, C: 6, H: 4, W: 5, O: 7, kh: 1, kw: 1, stride: 1, pad: 0, bias: true },
  { name: '1x1 s1 p0 (direct, large images)', N: 2, C: 5, H: 17, W: 19, O: 4, kh: 1, kw: 1, stride: 1, pad: 0, bias: false },
  { name: '1x1 s2 p0', N: 2, C: 4, H: 7, W: 6, O: 3, kh: 1, kw: 1, stride: 2, pad: 0, bias: true },
  { name: '1x1 s1 p1 (all-padding border)', N: 2, C: 2, H: 3, W: 4, O: 3, kh: 1, kw: 1, stride: 1, pad: 1, bias: true },
  { name: '7x7 s2 p3', N: 2, C: 3, H: 15, W: 12, O: 4, kh: 7, kw: 7, stride: 2, pad: 3, bias: true },
  { name: 'non-square kernel 1x3', N: 2, C: 3, H: 5, W: 7, O: 2, kh: 1, kw: 3, stride: 1, pad: 1, bias: true },
  { name: 'patch 8x8 s8 (PK, no bias)', N: 3, C: 3, H: 16, W: 24, O: 5, kh: 8, kw: 8, stride: 8, pad: 0, bias: false },
  { name: 'patch 16x16 s16, ragged edge', N: 2, C: 3, H: 35, W: 48, O: 4, kh: 16, kw: 16, stride: 16, pad: 0, bias: true },
  { name: 'wide overlapping 9x9 s2 p1 (PK)', N: 2, C: 2, H: 13, W: 11, O: 3, kh: 9, kw: 9, stride: 2, pad: 1, bias: true },
  { name: 'wide 2x10 s3 p4 (PK, padding)', N: 2, C: 2, H: 6, W: 12, O: 3, kh: 2, kw: 10, stride: 3, pad: 4, bias: true },
  { name: 'kernel = padded input', N: 1, C: 2, H: 3, W: 3, O: 2, kh: 5, kw: 5, stride: 1, pad: 1, bias: true },
  { name: 'many small images (grouped 3x3)', N: 9, C: 8, H: 5, W: 5, O: 6, kh: 3, kw: 3, stride: 1, pad: 1, bias: true },
  { name: 'column tiles (P > 512, tile edges mid-row)', N: 3, C: 40, H: 31, W: 26, O: 6, kh: 3, kw: 3, stride: 1, pad: 1, bias: true },
  { name: 'column tiles, stride 2', N: 2, C: 64, H: 62, W: 61, O: 3, kh: 3, kw: 3, stride: 2, pad: 1, bias: false },
  { name: 'batch 1', N: 1, C: 4, H: 10, W: 9, O: 5, kh: 3, kw: 3, stride: 1, pad: 1, bias: true },
];

for (const threads of [1, 2, 3, 4]) {
  test(`conv2d forward matches the reference, float64, ${threads} thread(s)`, () => {
    withThreads(threads, () => {
      cases.forEach((c, i) => {
        const { out, ref } = runForward(c, Float64Array, 100 + i);
        assertClose(out, ref, 1e-12, c.name);
      });
    });
  });
}

test('conv2d forward matches the reference, float32', () => {
  cases.forEach((c, i) => {
    const { out, ref } = runForward(c, Float32Array, 200 + i);
    assertClose(out, ref, 3e-6 * Math.sqrt(c.C * c.kh * c.kw), c.name);
  });
});

test('conv2d forward: RN-style shapes (grouped 7x7 maps, stride-2 stem, ViT patch embedding), float32', () => {
  const shapes: Case[] = [
    { name: 'layer4-like 3x3 at 7x7', N: 12, C: 32, H: 7, W: 7, O: 24, kh: 3, kw: 3, stride: 1, pad: 1, bias: false },
    { name: 'layer4-like 1x1 at 7x7', N: 12, C: 48, H: 7, W: 7, O: 40, kh: 1, kw: 1, stride: 1, pad: 0, bias: false },
    { name: 'stem 3x3 s2', N: 2, C: 3, H: 48, W: 48, O: 8, kh: 3, kw: 3, stride: 2, pad: 1, bias: false },
    { name: 'ViT-B/32-like patches', N: 4, C: 3, H: 64, W: 64, O: 16, kh: 32, kw: 32, stride: 32, pad: 0, bias: false },
  ];
  for (const threads of [1, 2, 5]) {
    withThreads(threads, () => {
      shapes.forEach((c, i) => {
        const { out, ref } = runForward(c, Float32Array, 300 + i);
        assertClose(out, ref, 3e-6 * Math.sqrt(c.C * c.kh * c.kw), `${c.name}, ${threads} threads`);
      });
    });
  }
});

test('conv2d reads subarrays from their byteOffset', () => {
  const c = cases[0];
  const [Ho, Wo] = outSize(c);
  const x = rand(c.N * c.C * c.H * c.W, 7);
  const w = rand(c.O * c.C * 9, 8);
  const b = rand(c.O, 9);
  const pad = (a: FloatArray) => {
    const big = new Float64Array(a.length + 5).fill(1e30);
    big.set(a, 3);
    return big.subarray(3, 3 + a.length);
  };
  const outBig = new Float64Array(c.N * c.O * Ho * Wo + 4).fill(-5);
  const out = outBig.subarray(2, 2 + c.N * c.O * Ho * Wo);
  nb.conv2d(pad(x), pad(w), pad(b), out, c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1);
  assertClose(out, conv2dRef(x, w, b, c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1), 1e-12, 'subarray');
  assert.deepEqual([outBig[0], outBig[1], outBig[outBig.length - 2], outBig[outBig.length - 1]], [-5, -5, -5, -5]);
});

// ---- backward -----------------------------------------------------------------------------------

/** Σ r ⊙ conv2d(x, w, b): its gradients are conv2dBackward with dy = r. */
function loss(c: Case, x: Float64Array, w: Float64Array, b: Float64Array | null, r: Float64Array): number {
  const [Ho, Wo] = outSize(c);
  const out = new Float64Array(c.N * c.O * Ho * Wo);
  nb.conv2d(x, w, b, out, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * r[i];
  return s;
}

function finiteDiff(f: () => number, v: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + h;
    const up = f();
    v[i] = keep - h;
    const down = f();
    v[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

function checkBackward(c: Case, seed: number): void {
  const [Ho, Wo] = outSize(c);
  const x = rand(c.N * c.C * c.H * c.W, seed) as Float64Array;
  const w = rand(c.O * c.C * c.kh * c.kw, seed + 1) as Float64Array;
  const b = rand(c.O, seed + 2) as Float64Array;
  const r = rand(c.N * c.O * Ho * Wo, seed + 3) as Float64Array;
  // dx is overwritten (start from garbage); dw and db accumulate (start from known values).
  const dx = new Float64Array(x.length).fill(123);
  const dw0 = rand(w.length, seed + 4) as Float64Array;
  const db0 = rand(c.O, seed + 5) as Float64Array;
  const dw = Float64Array.from(dw0);
  const db = Float64Array.from(db0);
  nb.conv2dBackward(x, w, r, dx, dw, db, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
  const f = () => loss(c, x, w, b, r);
  assertClose(dx, finiteDiff(f, x), 1e-7, `${c.name}: dx`);
  assertClose(dw.map((v, i) => v - dw0[i]), finiteDiff(f, w), 1e-7, `${c.name}: dw`);
  assertClose(db.map((v, i) => v - db0[i]), finiteDiff(f, b), 1e-7, `${c.name}: db`);

  // Each output may be skipped, and the remaining ones are unchanged by that.
  const dx2 = new Float64Array(x.length);
  nb.conv2dBackward(x, w, r, dx2, null, null, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
  assertClose(dx2, dx, 1e-13, `${c.name}: dx alone`);
  const dw2 = new Float64Array(w.length);
  nb.conv2dBackward(x, w, r, null, dw2, null, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
  assertClose(dw2, dw.map((v, i) => v - dw0[i]), 1e-12, `${c.name}: dw alone`);
}

for (const threads of [1, 2, 4]) {
  test(`conv2dBackward matches finite differences, float64, ${threads} thread(s)`, () => {
    withThreads(threads, () => {
      const small = cases.filter((c) => c.N * c.C * c.H * c.W <= 800 && c.O * c.C * c.kh * c.kw <= 800);
      assert.ok(small.length >= 10);
      small.forEach((c, i) => checkBackward(c, 400 + i));
      // Several images per GEMM (the grouped path) in backward.
      checkBackward({ name: 'grouped 3x3', N: 6, C: 2, H: 4, W: 4, O: 3, kh: 3, kw: 3, stride: 1, pad: 1, bias: true }, 450);
      checkBackward({ name: 'grouped patches', N: 6, C: 2, H: 8, W: 8, O: 3, kh: 8, kw: 8, stride: 8, pad: 0, bias: true }, 460);
    });
  });
}

test('conv2dBackward: tiled and grouped runs agree with per-image runs, float32 and float64', () => {
  const shapes: Case[] = [
    { name: 'tiles', N: 3, C: 40, H: 31, W: 26, O: 6, kh: 3, kw: 3, stride: 1, pad: 1, bias: true },
    { name: 'tiles, stride 2', N: 2, C: 64, H: 62, W: 61, O: 3, kh: 3, kw: 3, stride: 2, pad: 1, bias: true },
    { name: 'groups', N: 10, C: 12, H: 6, W: 5, O: 7, kh: 3, kw: 3, stride: 2, pad: 1, bias: true },
    { name: 'direct groups', N: 10, C: 12, H: 6, W: 5, O: 7, kh: 1, kw: 1, stride: 1, pad: 0, bias: true },
    { name: 'patch tiles', N: 2, C: 3, H: 200, W: 184, O: 5, kh: 8, kw: 8, stride: 8, pad: 0, bias: true },
  ];
  for (const Ctor of [Float64Array, Float32Array]) {
    shapes.forEach((c, si) => {
      const [Ho, Wo] = outSize(c);
      const x = rand(c.N * c.C * c.H * c.W, 500 + si, Ctor);
      const w = rand(c.O * c.C * c.kh * c.kw, 510 + si, Ctor);
      const dy = rand(c.N * c.O * Ho * Wo, 520 + si, Ctor);
      const full = () => {
        const dx = new Ctor(x.length);
        const dw = new Ctor(w.length);
        const db = new Ctor(c.O);
        nb.conv2dBackward(x, w, dy, dx, dw, db, c.N, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
        return { dx, dw, db };
      };
      const per = () => {
        // One image per call: no grouping; dw/db accumulate across the calls.
        const dx = new Ctor(x.length);
        const dw = new Ctor(w.length);
        const db = new Ctor(c.O);
        const xs = c.C * c.H * c.W;
        const ys = c.O * Ho * Wo;
        for (let n = 0; n < c.N; n++) {
          nb.conv2dBackward(x.subarray(n * xs, (n + 1) * xs), w, dy.subarray(n * ys, (n + 1) * ys),
            dx.subarray(n * xs, (n + 1) * xs), dw, db, 1, c.C, c.H, c.W, c.O, c.kh, c.kw, c.stride, c.pad);
        }
        return { dx, dw, db };
      };
      const tol = Ctor === Float32Array ? 1e-5 : 1e-12;
      // Baseline: one image per call on 2 threads runs ungrouped, untiled, with multithreaded BLAS.
      const base = withThreads(2, per);
      for (const threads of [1, 2, 3, 4]) {
        withThreads(threads, () => {
          const a = full();
          assertClose(a.dx, base.dx, tol, `${c.name} dx ${threads}t`);
          assertClose(a.dw, base.dw, tol * 10, `${c.name} dw ${threads}t`);
          assertClose(a.db, base.db, tol * 10, `${c.name} db ${threads}t`);
        });
      }
    });
  }
});

// ---- argument checking --------------------------------------------------------------------------

test('conv2d and conv2dBackward reject bad arguments without crashing', () => {
  const f = () => new Float32Array(1000);
  const d = () => new Float64Array(1000);
  const sizes = [2, 3, 5, 5, 4, 3, 3, 1, 1] as const; // out needs 2·4·5·5 = 200, w 4·3·9 = 108
  // Wrong array types: TypeError naming the argument.
  assert.throws(() => nb.conv2d(new Int32Array(1000) as unknown as Float32Array, f(), null, f(), ...sizes),
    (e: Error) => e instanceof TypeError && /\bx\b/.test(e.message));
  assert.throws(() => nb.conv2d(f(), d(), null, f(), ...sizes), (e: Error) => e instanceof TypeError && /\bw\b/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), d(), f(), ...sizes), (e: Error) => e instanceof TypeError && /bias/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), null, [] as unknown as Float32Array, ...sizes),
    (e: Error) => e instanceof TypeError && /out/.test(e.message));
  assert.throws(() => nb.conv2dBackward(f(), f(), f(), d(), null, null, ...sizes),
    (e: Error) => e instanceof TypeError && /dx/.test(e.message));
  assert.throws(() => nb.conv2dBackward(f(), f(), f(), null, null, d(), ...sizes),
    (e: Error) => e instanceof TypeError && /db/.test(e.message));
  // Short arrays: RangeError naming the argument.
  const x150 = new Float32Array(2 * 3 * 25);
  assert.throws(() => nb.conv2d(new Float32Array(149), f(), null, f(), ...sizes), (e: Error) => e instanceof RangeError && /\bx\b/.test(e.message));
  assert.throws(() => nb.conv2d(x150, new Float32Array(107), null, f(), ...sizes), (e: Error) => e instanceof RangeError && /\bw\b/.test(e.message));
  assert.throws(() => nb.conv2d(x150, f(), new Float32Array(3), f(), ...sizes), (e: Error) => e instanceof RangeError && /bias/.test(e.message));
  assert.throws(() => nb.conv2d(x150, f(), new Float32Array(0), f(), ...sizes), (e: Error) => e instanceof RangeError && /bias/.test(e.message));
  assert.throws(() => nb.conv2d(x150, f(), null, new Float32Array(199), ...sizes), (e: Error) => e instanceof RangeError && /out/.test(e.message));
  assert.throws(() => nb.conv2dBackward(x150, f(), new Float32Array(199), null, f(), null, ...sizes),
    (e: Error) => e instanceof RangeError && /dy/.test(e.message));
  assert.throws(() => nb.conv2dBackward(x150, f(), f(), new Float32Array(149), null, null, ...sizes),
    (e: Error) => e instanceof RangeError && /dx/.test(e.message));
  assert.throws(() => nb.conv2dBackward(x150, f(), f(), null, new Float32Array(100), null, ...sizes),
    (e: Error) => e instanceof RangeError && /dw/.test(e.message));
  assert.throws(() => nb.conv2dBackward(x150, f(), f(), null, null, new Float32Array(2), ...sizes),
    (e: Error) => e instanceof RangeError && /db/.test(e.message));
  // Impossible sizes: RangeError naming them.
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2, 3, 5, 5, 4, 3, 3, 0, 1), (e: Error) => e instanceof RangeError && /stride/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2, 3, 5, 5, 4, 8, 3, 1, 1), (e: Error) => e instanceof RangeError && /kernel/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2, 3, 5, 5, 4, 3, 3, 1, -1), (e: Error) => e instanceof RangeError && /pad/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2, 3.5, 5, 5, 4, 3, 3, 1, 1), (e: Error) => e instanceof RangeError && /\bC\b/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2, 3, 5, 5, 0, 3, 3, 1, 1), (e: Error) => e instanceof RangeError && /\bO\b/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2, 3, Number.NaN, 5, 4, 3, 3, 1, 1), (e: Error) => e instanceof RangeError && /\bH\b/.test(e.message));
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2, 3, 5, 5, 4, 3, 3, 1, '1' as unknown as number),
    (e: Error) => e instanceof TypeError && /pad/.test(e.message));
  const loose = nb.conv2d as unknown as (...args: unknown[]) => void;
  assert.throws(() => loose(f(), f(), null, f(), 2, 3, 5, 5, 4, 3, 3, 1),
    (e: Error) => e instanceof TypeError && /pad/.test(e.message));
  // Sizes whose products overflow are rejected, not wrapped into a small allocation.
  assert.throws(() => nb.conv2d(f(), f(), null, f(), 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 4, 1, 1, 1, 0),
    (e: Error) => e instanceof RangeError);
  // N = 0 is an empty batch: nothing to do.
  nb.conv2d(new Float32Array(0), new Float32Array(108), null, new Float32Array(0), 0, 3, 5, 5, 4, 3, 3, 1, 1);
});
