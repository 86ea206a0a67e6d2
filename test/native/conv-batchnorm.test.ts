// conv2dBatchNorm (inference fusion conv → batch norm with running statistics → [+ residual] →
// [ReLU]) against the separate kernels it replaces (conv2d, batchNorm, add, relu), float32 and
// float64, on every lowering the conv kernels have (3×3 stride 1 and 2, 1×1, the C = 3 stem,
// grouped small maps, channel counts that are not multiples of the register tile, more than one
// k-block, batch 1 and more, several thread counts); argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type FloatArray } from '../../src/tensor/native.js';
import { conv2dRef } from './reference-conv.js';
import { withThreads } from './reference.js';

const nb = native();

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function rand(n: number, seed: number, T: Ctor, lo = -1, hi = 1): FloatArray {
  let s = seed >>> 0;
  const out = new T(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 4294967296) * (hi - lo);
  }
  return out;
}

/** Largest |a − b| / max(1, |b|). */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i]));
    if (!(d <= worst)) worst = d; // NaN propagates
  }
  return worst;
}

interface Case {
  name: string;
  N: number; C: number; H: number; W: number; O: number; k: number; stride: number; pad: number;
}

const cases: Case[] = [
  { name: 'stem 3x3 s2 p1, C = 3', N: 2, C: 3, H: 37, W: 41, O: 32, k: 3, stride: 2, pad: 1 },
  { name: 'stem, batch 1', N: 1, C: 3, H: 64, W: 64, O: 8, k: 3, stride: 2, pad: 1 },
  { name: '3x3 s1 p1', N: 3, C: 16, H: 13, W: 11, O: 24, k: 3, stride: 1, pad: 1 },
  { name: '3x3 s1 p1, batch 1, wide rows', N: 1, C: 8, H: 9, W: 70, O: 16, k: 3, stride: 1, pad: 1 },
  { name: '3x3 s2 p1, odd sizes', N: 2, C: 5, H: 9, W: 6, O: 7, k: 3, stride: 2, pad: 1 },
  { name: '3x3 s1 p0', N: 2, C: 4, H: 8, W: 10, O: 9, k: 3, stride: 1, pad: 0 },
  { name: '1x1 (direct), O not a multiple of 8', N: 5, C: 12, H: 6, W: 7, O: 13, k: 1, stride: 1, pad: 0 },
  { name: '1x1, batch 1, large map', N: 1, C: 20, H: 30, W: 31, O: 40, k: 1, stride: 1, pad: 0 },
  { name: '1x1 s2', N: 2, C: 6, H: 9, W: 8, O: 5, k: 1, stride: 2, pad: 0 },
  { name: '7x7 maps, many images in a register tile', N: 11, C: 24, H: 7, W: 7, O: 40, k: 3, stride: 1, pad: 1 },
  { name: '1x1 on 1x1 maps', N: 9, C: 10, H: 1, W: 1, O: 17, k: 1, stride: 1, pad: 0 },
  { name: 'K > 256: several k-blocks, residual in partial sums', N: 2, C: 70, H: 6, W: 9, O: 20, k: 3, stride: 1, pad: 1 },
  { name: '1x1, K = 600', N: 3, C: 600, H: 4, W: 5, O: 12, k: 1, stride: 1, pad: 0 },
  { name: 'kernel 5x5 p2', N: 2, C: 3, H: 12, W: 12, O: 6, k: 5, stride: 1, pad: 2 },
  { name: 'stride 3', N: 2, C: 3, H: 14, W: 17, O: 6, k: 3, stride: 3, pad: 1 },
];

function outShape(c: Case): [number, number] {
  return [Math.floor((c.H + 2 * c.pad - c.k) / c.stride) + 1, Math.floor((c.W + 2 * c.pad - c.k) / c.stride) + 1];
}

function params(c: Case, seed: number, T: Ctor) {
  const [Ho, Wo] = outShape(c);
  return {
    x: rand(c.N * c.C * c.H * c.W, seed, T),
    w: rand(c.O * c.C * c.k * c.k, seed + 1, T, -0.3, 0.3),
    bias: rand(c.O, seed + 2, T),
    gamma: rand(c.O, seed + 3, T, 0.5, 1.5),
    beta: rand(c.O, seed + 4, T),
    mean: rand(c.O, seed + 5, T, -0.5, 0.5),
    variance: rand(c.O, seed + 6, T, 0.2, 2),
    residual: rand(c.N * c.O * Ho * Wo, seed + 7, T, -2, 2),
    size: c.N * c.O * Ho * Wo,
  };
}

/** The unfused composition with the separate kernels. */
function unfused(c: Case, p: ReturnType<typeof params>, T: Ctor, bias: boolean, residual: boolean, relu: boolean): FloatArray {
  const [Ho, Wo] = outShape(c);
  const y = new T(p.size);
  nb.conv2d(p.x, p.w, bias ? p.bias : null, y, c.N, c.C, c.H, c.W, c.O, c.k, c.k, c.stride, c.pad);
  const z = new T(p.size);
  nb.batchNorm(y, p.gamma, p.beta, p.mean, p.variance, z, null, null, c.N, c.O, Ho * Wo, false, 0.1, 1e-5);
  if (residual) nb.add(z, p.residual, z);
  if (relu) nb.relu(z, z);
  return z;
}

function fused(c: Case, p: ReturnType<typeof params>, T: Ctor, bias: boolean, residual: boolean, relu: boolean): FloatArray {
  const out = new T(p.size).fill(Number.NaN);
  nb.conv2dBatchNorm(p.x, p.w, bias ? p.bias : null, p.gamma, p.beta, p.mean, p.variance, residual ? p.residual : null,
    out, c.N, c.C, c.H, c.W, c.O, c.k, c.k, c.stride, c.pad, 1e-5, relu);
  return out;
}

for (const T of [Float32Array, Float64Array] as Ctor[]) {
  test(`conv2dBatchNorm equals conv2d → batchNorm → add → relu, ${T.name}`, () => {
    const tol = T === Float32Array ? 1e-5 : 1e-12;
    for (const threads of [1, 2, 3]) {
      withThreads(threads, () => {
        cases.forEach((c, i) => {
          const p = params(c, 1000 + 10 * i, T);
          for (const [bias, residual, relu] of [[false, false, false], [false, false, true], [false, true, true], [true, true, false]]) {
            const what = `${c.name} (bias ${bias}, residual ${residual}, relu ${relu}, ${threads} threads)`;
            const got = fused(c, p, T, bias, residual, relu);
            const want = unfused(c, p, T, bias, residual, relu);
            const err = maxRel(got, want);
            assert.ok(err <= tol, `${what}: max relative difference ${err}`);
          }
        });
      });
    }
  });
}

test('conv2dBatchNorm matches the float64 reference definition', () => {
  // Guards against the fused and unfused paths sharing a bug: the float32 result against a direct
  // evaluation of the formula.
  for (const c of [cases[0], cases[2], cases[6], cases[9], cases[11]]) {
    const p = params(c, 77, Float32Array);
    const [Ho, Wo] = outShape(c);
    const conv = conv2dRef(p.x, p.w, null, c.N, c.C, c.H, c.W, c.O, c.k, c.k, c.stride, c.pad);
    const want = new Float64Array(p.size);
    const P = Ho * Wo;
    for (let i = 0; i < p.size; i++) {
      const o = Math.floor(i / P) % c.O;
      const v = (conv[i] - p.mean[o]) * p.gamma[o] / Math.sqrt(p.variance[o] + 1e-5) + p.beta[o] + p.residual[i];
      want[i] = Math.max(v, 0);
    }
    const got = fused(c, p, Float32Array, false, true, true);
    const err = maxRel(got, want);
    assert.ok(err <= 2e-5 * Math.sqrt(c.C * c.k * c.k), `${c.name}: ${err}`);
  }
});

test('conv2dBatchNorm may write over its residual, and conv2d reads subarrays', () => {
  const c = cases[2];
  const p = params(c, 5, Float32Array);
  const want = fused(c, p, Float32Array, false, true, true);
  const res = Float32Array.from(p.residual);
  nb.conv2dBatchNorm(p.x, p.w, null, p.gamma, p.beta, p.mean, p.variance, res, res, c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1, 1e-5, true);
  assert.deepEqual(res, want);
  // Inputs at an offset inside larger buffers.
  const shift = (a: FloatArray) => {
    const big = new Float32Array(a.length + 7).fill(1e30);
    big.set(a, 5);
    return big.subarray(5, 5 + a.length);
  };
  const outBig = new Float32Array(p.size + 6).fill(-3);
  const out = outBig.subarray(3, 3 + p.size);
  nb.conv2dBatchNorm(shift(p.x), shift(p.w), null, shift(p.gamma), shift(p.beta), shift(p.mean), shift(p.variance),
    shift(p.residual), out, c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1, 1e-5, true);
  assert.deepEqual(out, want);
  assert.deepEqual([outBig[0], outBig[2], outBig[outBig.length - 3], outBig[outBig.length - 1]], [-3, -3, -3, -3]);
});

test('conv2dBatchNorm on RN50-sized layers equals the separate kernels, float32, 2 threads', () => {
  const big: Case[] = [
    { name: 'layer1 3x3 64→64 at 56x56', N: 2, C: 64, H: 56, W: 56, O: 64, k: 3, stride: 1, pad: 1 },
    { name: 'layer4 1x1 512→2048 at 7x7', N: 3, C: 512, H: 7, W: 7, O: 2048, k: 1, stride: 1, pad: 0 },
    { name: 'stem 3→32 s2 at 224x224', N: 1, C: 3, H: 224, W: 224, O: 32, k: 3, stride: 2, pad: 1 },
  ];
  withThreads(2, () => {
    big.forEach((c, i) => {
      const p = params(c, 300 + i, Float32Array);
      const err = maxRel(fused(c, p, Float32Array, false, true, true), unfused(c, p, Float32Array, false, true, true));
      assert.ok(err <= 1e-5, `${c.name}: ${err}`);
    });
  });
});

test('conv2dBatchNorm rejects bad arguments without crashing', () => {
  const f = (n = 1000) => new Float32Array(n);
  // x 2·3·5·5 = 150, w 4·3·9 = 108, per-channel 4, out 2·4·5·5 = 200.
  const sizes = [2, 3, 5, 5, 4, 3, 3, 1, 1] as const;
  type Args = Parameters<typeof nb.conv2dBatchNorm>;
  const good = (): Args => [f(150), f(108), null, f(4), f(4), f(4), f(4), null, f(200), ...sizes, 1e-5, true];
  const call = (patch: (a: Args) => void) => {
    const a = good();
    patch(a);
    return () => (nb.conv2dBatchNorm as unknown as (...args: unknown[]) => void)(...a);
  };
  call(() => {})();
  const names = ['x', 'w', 'bias', 'gamma', 'beta', 'runMean', 'runVar', 'residual', 'out'];
  names.forEach((name, i) => {
    // Wrong type: TypeError naming the argument (x decides the element type of the others).
    assert.throws(call((a) => { (a as unknown[])[i] = i === 0 ? new Int32Array(1000) : new Float64Array(1000); }),
      (e: Error) => e instanceof TypeError && new RegExp(`\\b${name}\\b`).test(e.message), `${name} type`);
    // Too short: RangeError naming it.
    assert.throws(call((a) => { (a as unknown[])[i] = f(3); }),
      (e: Error) => e instanceof RangeError && new RegExp(`\\b${name}\\b`).test(e.message), `${name} length`);
  });
  assert.throws(call((a) => { a[16] = 0; }), (e: Error) => e instanceof RangeError && /stride/.test(e.message));
  assert.throws(call((a) => { a[14] = 9; }), (e: Error) => e instanceof RangeError && /kernel/.test(e.message));
  assert.throws(call((a) => { a[18] = -1; }), (e: Error) => e instanceof RangeError && /eps/.test(e.message));
  assert.throws(call((a) => { a[18] = Number.NaN; }), (e: Error) => e instanceof RangeError && /eps/.test(e.message));
  assert.throws(call((a) => { (a as unknown[])[19] = 1; }), (e: Error) => e instanceof TypeError && /relu/.test(e.message));
  assert.throws(call((a) => { (a as unknown[]).length = 19; }), (e: Error) => e instanceof TypeError && /relu/.test(e.message));
  // out must not share memory with x; residual is either out itself or separate.
  const buf = f(400);
  assert.throws(call((a) => { a[0] = buf.subarray(0, 150); a[8] = buf.subarray(100, 300); }),
    (e: Error) => e instanceof RangeError && /overlap/.test(e.message));
  assert.throws(call((a) => { a[7] = buf.subarray(0, 200); a[8] = buf.subarray(1, 201); }),
    (e: Error) => e instanceof RangeError && /residual/.test(e.message));
  // N = 0: nothing to do.
  call((a) => { a[0] = f(0); a[8] = f(0); a[9] = 0; })();
});
