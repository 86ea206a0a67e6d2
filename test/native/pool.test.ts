// avgPool2d / avgPool2dBackward / meanSpatial: forward against the plain-TypeScript reference in
// float64 and float32, backward against central finite differences (float64), argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type FloatArray } from '../../src/tensor/native.js';
import { avgPool2dRef, meanSpatialRef } from './reference-conv.js';

const nb = native();

function rand(n: number, seed: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array): FloatArray {
  let s = seed >>> 0;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(d <= tol * Math.max(1, Math.abs(expected[i])), `${what}: [${i}] got ${actual[i]}, want ${expected[i]}`);
  }
}

// [N, C, H, W, k, stride]
const poolCases: [number, number, number, number, number, number][] = [
  [2, 3, 8, 6, 2, 2], // CLIP's anti-aliasing pool
  [2, 2, 7, 9, 2, 2], // odd sizes: last row/column dropped
  [1, 3, 9, 9, 3, 3], // k = s ≠ 2
  [2, 2, 7, 8, 3, 2], // overlapping windows
  [1, 2, 6, 7, 2, 3], // gaps between windows
  [3, 1, 5, 5, 5, 1], // one window per plane
  [1, 2, 4, 5, 1, 1], // identity
];

test('avgPool2d matches the reference, float64 and float32, 1 and 2 threads', () => {
  for (const threads of [1, 2]) {
    const before = nb.getThreads();
    nb.setThreads(threads);
    try {
      poolCases.forEach(([N, C, H, W, k, s], i) => {
        for (const Ctor of [Float64Array, Float32Array]) {
          const x = rand(N * C * H * W, 10 + i, Ctor);
          const Ho = Math.floor((H - k) / s) + 1;
          const Wo = Math.floor((W - k) / s) + 1;
          const out = new Ctor(N * C * Ho * Wo).fill(Number.NaN);
          nb.avgPool2d(x, out, N, C, H, W, k, s);
          assertClose(out, avgPool2dRef(x, N, C, H, W, k, s), Ctor === Float64Array ? 1e-14 : 1e-6, `pool ${[N, C, H, W, k, s]}`);
        }
      });
    } finally {
      nb.setThreads(before);
    }
  }
});

test('avgPool2d on a large tensor (parallel planes) matches the reference', () => {
  const [N, C, H, W] = [4, 64, 28, 28];
  const x = rand(N * C * H * W, 3, Float32Array);
  const out = new Float32Array(N * C * 14 * 14);
  nb.avgPool2d(x, out, N, C, H, W, 2, 2);
  assertClose(out, avgPool2dRef(x, N, C, H, W, 2, 2), 1e-6, 'large');
});

test('avgPool2dBackward matches finite differences and overwrites dx', () => {
  poolCases.forEach(([N, C, H, W, k, s], i) => {
    const x = rand(N * C * H * W, 20 + i) as Float64Array;
    const Ho = Math.floor((H - k) / s) + 1;
    const Wo = Math.floor((W - k) / s) + 1;
    const r = rand(N * C * Ho * Wo, 30 + i) as Float64Array;
    const dx = new Float64Array(x.length).fill(99);
    nb.avgPool2dBackward(r, dx, N, C, H, W, k, s);
    const out = new Float64Array(r.length);
    const loss = () => {
      nb.avgPool2d(x, out, N, C, H, W, k, s);
      let acc = 0;
      for (let j = 0; j < out.length; j++) acc += out[j] * r[j];
      return acc;
    };
    const h = 1e-5;
    for (let j = 0; j < x.length; j++) {
      const keep = x[j];
      x[j] = keep + h;
      const up = loss();
      x[j] = keep - h;
      const down = loss();
      x[j] = keep;
      assert.ok(Math.abs((up - down) / (2 * h) - dx[j]) < 1e-8, `pool ${[N, C, H, W, k, s]} dx[${j}]`);
    }
  });
});

test('meanSpatial matches the reference and its finite differences', () => {
  for (const Ctor of [Float64Array, Float32Array]) {
    for (const [N, C, HW] of [[2, 3, 49], [1, 5, 1], [3, 2, 3136]]) {
      const x = rand(N * C * HW, N + C + HW, Ctor);
      const out = new Ctor(N * C).fill(Number.NaN);
      nb.meanSpatial(x, N, C, HW, out);
      assertClose(out, meanSpatialRef(x, N, C, HW), Ctor === Float64Array ? 1e-14 : 1e-6, `mean ${[N, C, HW]}`);
    }
  }
  // d mean / d x = 1/HW everywhere.
  const x = rand(2 * 3 * 5, 1) as Float64Array;
  const out = new Float64Array(6);
  const h = 1e-6;
  for (let j = 0; j < x.length; j++) {
    const keep = x[j];
    x[j] = keep + h;
    nb.meanSpatial(x, 2, 3, 5, out);
    const up = out[Math.floor(j / 5)];
    x[j] = keep - h;
    nb.meanSpatial(x, 2, 3, 5, out);
    const down = out[Math.floor(j / 5)];
    x[j] = keep;
    assert.ok(Math.abs((up - down) / (2 * h) - 0.2) < 1e-8);
  }
});

test('pooling kernels reject bad arguments without crashing', () => {
  const f = (n = 1000) => new Float32Array(n);
  assert.throws(() => nb.avgPool2d(new Int32Array(10) as unknown as Float32Array, f(), 1, 1, 4, 4, 2, 2),
    (e: Error) => e instanceof TypeError && /\bx\b/.test(e.message));
  assert.throws(() => nb.avgPool2d(f(), new Float64Array(10), 1, 1, 4, 4, 2, 2),
    (e: Error) => e instanceof TypeError && /out/.test(e.message));
  assert.throws(() => nb.avgPool2d(f(15), f(), 1, 1, 4, 4, 2, 2), (e: Error) => e instanceof RangeError && /\bx\b/.test(e.message));
  assert.throws(() => nb.avgPool2d(f(16), f(3), 1, 1, 4, 4, 2, 2), (e: Error) => e instanceof RangeError && /out/.test(e.message));
  assert.throws(() => nb.avgPool2d(f(), f(), 1, 1, 4, 4, 5, 1), (e: Error) => e instanceof RangeError && /window/.test(e.message));
  assert.throws(() => nb.avgPool2d(f(), f(), 1, 1, 4, 4, 2, 0), (e: Error) => e instanceof RangeError && /stride/.test(e.message));
  assert.throws(() => nb.avgPool2d(f(), f(), 1, 1, 4, 4, 0, 1), (e: Error) => e instanceof RangeError && /\bk\b/.test(e.message));
  assert.throws(() => nb.avgPool2d(f(), f(), 1, -1, 4, 4, 2, 2), (e: Error) => e instanceof RangeError && /\bC\b/.test(e.message));
  assert.throws(() => nb.avgPool2dBackward(f(3), f(), 1, 1, 4, 4, 2, 2), (e: Error) => e instanceof RangeError && /dy/.test(e.message));
  assert.throws(() => nb.avgPool2dBackward(f(4), f(15), 1, 1, 4, 4, 2, 2), (e: Error) => e instanceof RangeError && /dx/.test(e.message));
  assert.throws(() => nb.avgPool2dBackward(f(4), new Float64Array(16), 1, 1, 4, 4, 2, 2),
    (e: Error) => e instanceof TypeError && /dx/.test(e.message));
  assert.throws(() => nb.meanSpatial(f(11), 2, 3, 2, f()), (e: Error) => e instanceof RangeError && /\bx\b/.test(e.message));
  assert.throws(() => nb.meanSpatial(f(12), 2, 3, 2, f(5)), (e: Error) => e instanceof RangeError && /out/.test(e.message));
  assert.throws(() => nb.meanSpatial(f(12), 2, 3, 0, f()), (e: Error) => e instanceof RangeError && /HW/.test(e.message));
  assert.throws(() => nb.meanSpatial(f(12), 2, 3, 2, new Float64Array(6)), (e: Error) => e instanceof TypeError && /out/.test(e.message));
  assert.throws(() => nb.meanSpatial(f(12), 'two' as unknown as number, 3, 2, f()), (e: Error) => e instanceof TypeError && /\bN\b/.test(e.message));
});
