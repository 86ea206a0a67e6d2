// batchNorm / batchNormBackward in training and inference mode: forward (with the running-stat
// update and the saved statistics) against the plain-TypeScript reference in float64 and float32,
// backward against central finite differences of the native forward (float64), argument checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type FloatArray } from '../../src/tensor/native.js';
import { batchNormRef } from './reference-conv.js';

const nb = native();

function rand(n: number, seed: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array,
  lo = -1, hi = 1): FloatArray {
  let s = seed >>> 0;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 4294967296) * (hi - lo);
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

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

function setup(N: number, C: number, HW: number, seed: number, T: Ctor, offset = 0) {
  const x = rand(N * C * HW, seed, T, offset - 2, offset + 3);
  return {
    x,
    gamma: rand(C, seed + 1, T, 0.5, 1.5),
    beta: rand(C, seed + 2, T),
    runMean: rand(C, seed + 3, T),
    runVar: rand(C, seed + 4, T, 0.5, 2),
  };
}

const shapes: [number, number, number][] = [[2, 3, 5], [4, 2, 1], [1, 4, 9], [3, 16, 49], [8, 64, 196]];

for (const training of [true, false]) {
  test(`batchNorm ${training ? 'training' : 'inference'} forward matches the reference, float64 and float32`, () => {
    for (const T of [Float64Array, Float32Array] as Ctor[]) {
      shapes.forEach(([N, C, HW], i) => {
        const p = setup(N, C, HW, 10 * i, T);
        const ref = batchNormRef(p.x, p.gamma, p.beta, p.runMean, p.runVar, N, C, HW, training, 0.1, 1e-5);
        const out = new T(N * C * HW).fill(Number.NaN);
        const saveMean = new T(C).fill(Number.NaN);
        const saveRstd = new T(C).fill(Number.NaN);
        nb.batchNorm(p.x, p.gamma, p.beta, p.runMean, p.runVar, out, saveMean, saveRstd, N, C, HW, training, 0.1, 1e-5);
        const tol = T === Float64Array ? 1e-12 : 2e-6;
        const what = `${training ? 'train' : 'eval'} ${[N, C, HW]} ${T.name}`;
        assertClose(out, ref.out, tol, `${what} out`);
        assertClose(saveMean, ref.mean, tol, `${what} saveMean`);
        assertClose(saveRstd, ref.rstd, tol, `${what} saveRstd`);
        // Training updates the running statistics in place (unbiased variance); inference does not.
        assertClose(p.runMean, ref.runMean, tol, `${what} runMean`);
        assertClose(p.runVar, ref.runVar, tol, `${what} runVar`);
      });
    }
  });
}

test('batchNorm running-stat update follows PyTorch (momentum, unbiased variance)', () => {
  // One channel, values 1..4: mean 2.5, biased var 1.25, unbiased var 5/3.
  const x = new Float64Array([1, 2, 3, 4]);
  const runMean = new Float64Array([1]);
  const runVar = new Float64Array([2]);
  const out = new Float64Array(4);
  const mean = new Float64Array(1);
  const rstd = new Float64Array(1);
  nb.batchNorm(x, new Float64Array([1]), new Float64Array([0]), runMean, runVar, out, mean, rstd, 2, 1, 2, true, 0.1, 0);
  assert.ok(Math.abs(runMean[0] - (0.9 * 1 + 0.1 * 2.5)) < 1e-15);
  assert.ok(Math.abs(runVar[0] - (0.9 * 2 + 0.1 * (5 / 3))) < 1e-15);
  assert.ok(Math.abs(mean[0] - 2.5) < 1e-15);
  assert.ok(Math.abs(rstd[0] - 1 / Math.sqrt(1.25)) < 1e-15);
  assertClose(out, [-1.5, -0.5, 0.5, 1.5].map((v) => v / Math.sqrt(1.25)), 1e-15, 'normalised');
});

test('batchNorm float32 stays accurate when |mean| >> std', () => {
  const [N, C, HW] = [4, 3, 100];
  const p = setup(N, C, HW, 5, Float32Array, 1000);
  const ref = batchNormRef(p.x, p.gamma, p.beta, p.runMean, p.runVar, N, C, HW, true, 0.1, 1e-5);
  const out = new Float32Array(N * C * HW);
  nb.batchNorm(p.x, p.gamma, p.beta, p.runMean, p.runVar, out, null, null, N, C, HW, true, 0.1, 1e-5);
  assertClose(out, ref.out, 1e-4, 'offset');
});

test('batchNorm accepts null saveMean/saveRstd and may write out over x', () => {
  const [N, C, HW] = [2, 3, 4];
  const p = setup(N, C, HW, 1, Float64Array);
  const ref = batchNormRef(p.x, p.gamma, p.beta, p.runMean, p.runVar, N, C, HW, true, 0.1, 1e-5);
  nb.batchNorm(p.x, p.gamma, p.beta, p.runMean, p.runVar, p.x, null, null, N, C, HW, true, 0.1, 1e-5);
  assertClose(p.x, ref.out, 1e-12, 'in place');
});

function fdCheck(training: boolean, N: number, C: number, HW: number, seed: number): void {
  const p = setup(N, C, HW, seed, Float64Array);
  const x = p.x as Float64Array;
  const gamma = p.gamma as Float64Array;
  const beta = p.beta as Float64Array;
  const r = rand(N * C * HW, seed + 7) as Float64Array;
  const out = new Float64Array(N * C * HW);
  const saveMean = new Float64Array(C);
  const saveRstd = new Float64Array(C);
  // The running statistics change on every training call; copies keep inference fixed.
  const forward = () => {
    nb.batchNorm(x, gamma, beta, Float64Array.from(p.runMean), Float64Array.from(p.runVar), out, saveMean, saveRstd,
      N, C, HW, training, 0.1, 1e-5);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i] * r[i];
    return s;
  };
  forward();
  const dx = new Float64Array(x.length).fill(42);
  const dgamma0 = rand(C, seed + 8) as Float64Array;
  const dbeta0 = rand(C, seed + 9) as Float64Array;
  const dgamma = Float64Array.from(dgamma0);
  const dbeta = Float64Array.from(dbeta0);
  nb.batchNormBackward(x, gamma, saveMean, saveRstd, r, dx, dgamma, dbeta, N, C, HW, training);
  const fd = (v: Float64Array) => {
    const g = new Float64Array(v.length);
    const h = 1e-5;
    for (let i = 0; i < v.length; i++) {
      const keep = v[i];
      v[i] = keep + h;
      const up = forward();
      v[i] = keep - h;
      const down = forward();
      v[i] = keep;
      g[i] = (up - down) / (2 * h);
    }
    return g;
  };
  const what = `${training ? 'train' : 'eval'} ${[N, C, HW]}`;
  assertClose(dx, fd(x), 1e-7, `${what} dx`);
  assertClose(dgamma.map((v, i) => v - dgamma0[i]), fd(gamma), 1e-7, `${what} dgamma`);
  assertClose(dbeta.map((v, i) => v - dbeta0[i]), fd(beta), 1e-7, `${what} dbeta`);
}

for (const training of [true, false]) {
  test(`batchNormBackward (${training ? 'training' : 'inference'}) matches finite differences`, () => {
    fdCheck(training, 2, 3, 5, 100);
    fdCheck(training, 4, 2, 1, 200);
    fdCheck(training, 1, 3, 8, 300);
    fdCheck(training, 3, 5, 16, 400);
  });
}

test('batchNormBackward float32 agrees with float64', () => {
  const [N, C, HW] = [8, 32, 49];
  for (const training of [true, false]) {
    const res = ([Float64Array, Float32Array] as Ctor[]).map((T) => {
      const p = setup(N, C, HW, 9, T);
      const out = new T(N * C * HW);
      const m = new T(C);
      const rs = new T(C);
      nb.batchNorm(p.x, p.gamma, p.beta, p.runMean, p.runVar, out, m, rs, N, C, HW, training, 0.1, 1e-5);
      const dy = rand(N * C * HW, 77, T);
      const dx = new T(N * C * HW);
      const dg = new T(C);
      const db = new T(C);
      nb.batchNormBackward(p.x, p.gamma, m, rs, dy, dx, dg, db, N, C, HW, training);
      return { dx, dg, db };
    });
    assertClose(res[1].dx, res[0].dx, 1e-4, 'dx');
    assertClose(res[1].dg, res[0].dg, 1e-4, 'dgamma');
    assertClose(res[1].db, res[0].db, 1e-4, 'dbeta');
  }
});

test('batch norm kernels reject bad arguments without crashing', () => {
  const f = (n = 100) => new Float32Array(n);
  const bn = (over: Record<number, unknown>) => {
    const args: unknown[] = [f(24), f(3), f(3), f(3), f(3), f(24), f(3), f(3), 2, 3, 4, true, 0.1, 1e-5];
    for (const [k, v] of Object.entries(over)) args[Number(k)] = v;
    (nb.batchNorm as unknown as (...a: unknown[]) => void)(...args);
  };
  bn({}); // the baseline call is valid
  assert.throws(() => bn({ 0: new Int32Array(24) }), (e: Error) => e instanceof TypeError && /\bx\b/.test(e.message));
  assert.throws(() => bn({ 1: new Float64Array(3) }), (e: Error) => e instanceof TypeError && /gamma/.test(e.message));
  assert.throws(() => bn({ 4: [1, 2, 3] }), (e: Error) => e instanceof TypeError && /runVar/.test(e.message));
  assert.throws(() => bn({ 6: new Float64Array(3) }), (e: Error) => e instanceof TypeError && /saveMean/.test(e.message));
  assert.throws(() => bn({ 0: f(23) }), (e: Error) => e instanceof RangeError && /\bx\b/.test(e.message));
  assert.throws(() => bn({ 2: f(2) }), (e: Error) => e instanceof RangeError && /beta/.test(e.message));
  assert.throws(() => bn({ 3: f(2) }), (e: Error) => e instanceof RangeError && /runMean/.test(e.message));
  assert.throws(() => bn({ 5: f(23) }), (e: Error) => e instanceof RangeError && /out/.test(e.message));
  assert.throws(() => bn({ 7: f(2) }), (e: Error) => e instanceof RangeError && /saveRstd/.test(e.message));
  assert.throws(() => bn({ 9: 0 }), (e: Error) => e instanceof RangeError && /\bC\b/.test(e.message));
  assert.throws(() => bn({ 10: 2.5 }), (e: Error) => e instanceof RangeError && /HW/.test(e.message));
  assert.throws(() => bn({ 13: -1 }), (e: Error) => e instanceof RangeError && /eps/.test(e.message));
  assert.throws(() => bn({ 12: Number.NaN }), (e: Error) => e instanceof RangeError && /momentum/.test(e.message));
  assert.throws(() => bn({ 13: 'x' }), (e: Error) => e instanceof TypeError && /eps/.test(e.message));
  // One value per channel cannot give an unbiased variance in training mode.
  assert.throws(() => bn({ 8: 1, 10: 1 }), (e: Error) => e instanceof RangeError && /more than one value/.test(e.message));
  bn({ 8: 1, 10: 1, 11: false }); // but inference is fine

  const bwd = (over: Record<number, unknown>) => {
    const args: unknown[] = [f(24), f(3), f(3), f(3), f(24), f(24), f(3), f(3), 2, 3, 4, true];
    for (const [k, v] of Object.entries(over)) args[Number(k)] = v;
    (nb.batchNormBackward as unknown as (...a: unknown[]) => void)(...args);
  };
  bwd({});
  assert.throws(() => bwd({ 2: null }), (e: Error) => e instanceof TypeError && /saveMean/.test(e.message));
  assert.throws(() => bwd({ 4: new Float64Array(24) }), (e: Error) => e instanceof TypeError && /dy/.test(e.message));
  assert.throws(() => bwd({ 3: f(2) }), (e: Error) => e instanceof RangeError && /saveRstd/.test(e.message));
  assert.throws(() => bwd({ 5: f(20) }), (e: Error) => e instanceof RangeError && /dx/.test(e.message));
  assert.throws(() => bwd({ 6: f(2) }), (e: Error) => e instanceof RangeError && /dgamma/.test(e.message));
  assert.throws(() => bwd({ 7: f(1) }), (e: Error) => e instanceof RangeError && /dbeta/.test(e.message));
  assert.throws(() => bwd({ 8: -2 }), (e: Error) => e instanceof RangeError && /\bN\b/.test(e.message));
});
