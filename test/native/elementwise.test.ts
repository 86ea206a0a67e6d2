// Elementwise kernels, reductions and index ops against the plain-TypeScript reference (float64
// and float32; lengths that exercise full vectors, the masked tail and the threaded path), the
// float32 activation approximations over a wide range (error in units of float32 rounding), every
// backward against central finite differences in float64, and argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';
import * as ref from './reference.js';

const nb = native();
const LENGTHS = [1, 7, 16, 33, 100003];  // 100003: several pool chunks and a tail

function tolFor(name: string): number {
  return name === 'float64' ? 1e-13 : 3e-7;
}

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  test(`add/mul/scale/axpby ${name}`, () => {
    for (const n of LENGTHS) {
      const rand = ref.rng(n);
      // References use the values as stored in the typed array, so only the kernel's own rounding
      // (one rounding of each result) is measured.
      const a = Float64Array.from(Ctor.from(ref.randArray(n, rand)));
      const b = Float64Array.from(Ctor.from(ref.randArray(n, rand)));
      const out = new Ctor(n);
      const tol = tolFor(name);
      nb.add(Ctor.from(a), Ctor.from(b), out);
      ref.assertClose(out, a.map((x, i) => x + b[i]), tol, 0, 'add');
      nb.mul(Ctor.from(a), Ctor.from(b), out);
      ref.assertClose(out, a.map((x, i) => x * b[i]), tol, 0, 'mul');
      nb.scale(Ctor.from(a), -2.5, out);
      ref.assertClose(out, a.map((x) => -2.5 * x), tol, 0, 'scale');
      const y = Ctor.from(b);
      nb.axpby(0.5, Ctor.from(a), 3, y);
      ref.assertClose(y, a.map((x, i) => 0.5 * x + 3 * b[i]), tol, 1e-6, 'axpby');
      const ynan = new Ctor(n).fill(NaN);
      nb.axpby(2, Ctor.from(a), 0, ynan);
      ref.assertClose(ynan, a.map((x) => 2 * x), tol, 0, 'axpby beta=0 ignores y');
      // out aliasing an input
      const alias = Ctor.from(a);
      nb.add(alias, Ctor.from(b), alias);
      ref.assertClose(alias, a.map((x, i) => x + b[i]), tol, 0, 'add in place');
    }
  });

  test(`addBias/sumRows/sumCols/sumAll ${name}`, () => {
    for (const [rows, n] of [[1, 1], [3, 17], [5, 300], [700, 129], [2, 5000]]) {
      const rand = ref.rng(rows * n);
      const x = Float64Array.from(Ctor.from(ref.randArray(rows * n, rand)));
      const bias = Float64Array.from(Ctor.from(ref.randArray(n, rand)));
      const xb = Ctor.from(x);
      nb.addBias(xb, Ctor.from(bias), rows, n);
      ref.assertClose(xb, x.map((v, i) => v + bias[i % n]), tolFor(name), 0, 'addBias');
      const colSum = new Float64Array(n);
      const rowSum = new Float64Array(rows);
      for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) { colSum[j] += x[r * n + j]; rowSum[r] += x[r * n + j]; }
      const tol = name === 'float64' ? 1e-12 : 1e-5;
      const o1 = new Ctor(n).fill(NaN);
      nb.sumRows(Ctor.from(x), rows, n, o1, false);
      ref.assertClose(o1, colSum, tol, tol * Math.sqrt(rows), 'sumRows');
      const o2 = new Ctor(n).fill(1);
      nb.sumRows(Ctor.from(x), rows, n, o2, true);
      ref.assertClose(o2, colSum.map((v) => v + 1), tol, tol * Math.sqrt(rows), 'sumRows accumulate');
      const o3 = new Ctor(rows).fill(2);
      nb.sumCols(Ctor.from(x), rows, n, o3, true);
      ref.assertClose(o3, rowSum.map((v) => v + 2), tol, tol * Math.sqrt(n), 'sumCols accumulate');
      nb.sumCols(Ctor.from(x), rows, n, o3, false);
      ref.assertClose(o3, rowSum, tol, tol * Math.sqrt(n), 'sumCols');
      const total = x.reduce((s, v) => s + v, 0);
      const absSum = x.reduce((s, v) => s + Math.abs(v), 0);
      const got = nb.sumAll(Ctor.from(x));
      // float32 lanes are flushed to float64 every 64 terms, so the error is a few 64-term float sums'
      const bound = (name === 'float64' ? 1e-13 : 1e-6) * absSum;
      assert.ok(Math.abs(got - total) <= bound, `sumAll ${got} vs ${total}`);
    }
  });

  test(`activations forward ${name} vs reference`, () => {
    const rand = ref.rng(11);
    const x = ref.randArray(1003, rand, -8, 8);
    const cases: Array<[string, (x: Float64Array | Float32Array, o: Float64Array | Float32Array) => void, (v: number) => number]> = [
      ['quickGelu', (a, o) => nb.quickGelu(a, o), ref.quickGelu],
      ['gelu', (a, o) => nb.gelu(a, o), ref.gelu],
      ['relu', (a, o) => nb.relu(a, o), (v) => Math.max(v, 0)],
    ];
    for (const [fname, f, r] of cases) {
      const xs = Ctor.from(x);
      const out = new Ctor(x.length);
      f(xs, out);
      ref.assertClose(out, Array.from(xs, r), name === 'float64' ? 1e-12 : 1e-6, 1e-30, fname);
    }
  });

  test(`activation backward ${name} vs analytic derivative`, () => {
    const rand = ref.rng(12);
    const x = ref.randArray(517, rand, -6, 6);
    const dy = ref.randArray(517, rand);
    const cases: Array<[string, (x: Float64Array | Float32Array, dy: Float64Array | Float32Array, dx: Float64Array | Float32Array) => void, (v: number) => number]> = [
      ['quickGeluBackward', (a, g, o) => nb.quickGeluBackward(a, g, o), ref.quickGeluGrad],
      ['geluBackward', (a, g, o) => nb.geluBackward(a, g, o), ref.geluGrad],
      ['reluBackward', (a, g, o) => nb.reluBackward(a, g, o), (v) => (v > 0 ? 1 : 0)],
    ];
    for (const [fname, f, d] of cases) {
      const xs = Ctor.from(x);
      const gs = Ctor.from(dy);
      const out = new Ctor(x.length);
      f(xs, gs, out);
      ref.assertClose(out, Array.from(xs, (v, i) => d(v) * gs[i]), name === 'float64' ? 1e-12 : 2e-6, 1e-7, fname);
    }
  });
}

test('float32 activations: ~1 ulp over a wide range (the vectorised exp/erf approximations)', () => {
  // Dense grid over [-30, 30] plus the deep tails; relative error in units of 2^-24.
  const xs: number[] = [];
  for (let v = -30; v <= 30; v += 0.00731) xs.push(v);
  for (const v of [-87, -80, -60, -50, -40, -12, -9.5, 1e-30, -1e-30, 0, 1e-6, 40, 80, 100]) xs.push(v);
  const x = Float32Array.from(xs);
  const out = new Float32Array(x.length);
  const ulp = 2 ** -24;
  // Error in units of float32 rounding, allowing for the function's conditioning: an evaluation
  // that is exact for an input within 1 ulp of x may differ from f(x) by ulp·|x·f'(x)|, which
  // dominates where f changes fast (quickGelu(−29) ~ e^−49: its float argument 1.702·x alone
  // carries 2e-6 relative error). So: |out − f(x)| ≤ k·ulp·(|f(x)| + |x·f'(x)|).
  const deriv = (f: (v: number) => number, v: number) => {
    const h = 1e-5 * Math.max(1, Math.abs(v));
    return (f(v + h) - f(v - h)) / (2 * h);
  };
  const check = (fname: string, f: (v: number) => number, maxUlp: number) => {
    let worst = 0;
    let at = 0;
    for (let i = 0; i < x.length; i++) {
      const e = f(x[i]);
      if (Math.abs(e) < 1e-37) continue;  // float32 subnormal territory
      const scale = Math.abs(e) + Math.abs(x[i] * deriv(f, x[i]));
      const err = Math.abs(out[i] - e) / scale / ulp;
      if (err > worst) { worst = err; at = x[i]; }
    }
    assert.ok(worst <= maxUlp, `${fname}: worst error ${worst.toFixed(2)} ulp at x = ${at}`);
  };
  nb.quickGelu(x, out);
  check('quickGelu', ref.quickGelu, 4);
  nb.gelu(x, out);
  // Φ's fit is good to 1.2e-7 relative (~2 ulp); the tail also carries exp's argument rounding.
  check('gelu', ref.gelu, 8);
  const ones = new Float32Array(x.length).fill(1);
  nb.quickGeluBackward(x, ones, out);
  check('quickGeluBackward', ref.quickGeluGrad, 8);
  nb.geluBackward(x, ones, out);
  check('geluBackward', ref.geluGrad, 8);
  // exp saturation: no NaN, correct limits
  const big = Float32Array.from([-Infinity, Infinity, -1e4, 1e4]);
  const o = new Float32Array(4);
  nb.quickGelu(big, o);
  assert.deepEqual(Array.from(o.slice(2)), [-0, 1e4]);
  nb.gelu(big, o);
  assert.deepEqual(Array.from(o.slice(2)), [-0, 1e4]);
  const nan = Float32Array.from([NaN]);
  nb.quickGelu(nan, o.subarray(0, 1));
  assert.ok(Number.isNaN(o[0]), 'NaN propagates');
});

test('activation backward float64: central finite differences of the forward', () => {
  const rand = ref.rng(13);
  const x = ref.randArray(40, rand, -4, 4).map((v) => (Math.abs(v) < 1e-3 ? 0.5 : v));
  const w = ref.randArray(40, rand);
  const pairs: Array<[string, (a: Float64Array, o: Float64Array) => void, (a: Float64Array, g: Float64Array, o: Float64Array) => void]> = [
    ['quickGelu', (a, o) => nb.quickGelu(a, o), (a, g, o) => nb.quickGeluBackward(a, g, o)],
    ['gelu', (a, o) => nb.gelu(a, o), (a, g, o) => nb.geluBackward(a, g, o)],
    ['relu', (a, o) => nb.relu(a, o), (a, g, o) => nb.reluBackward(a, g, o)],
  ];
  for (const [fname, fwd, bwd] of pairs) {
    const out = new Float64Array(x.length);
    const loss = () => { fwd(x, out); return ref.dot(out, w); };
    const numeric = ref.finiteDiff(loss, x);
    const dx = new Float64Array(x.length);
    bwd(x, w, dx);
    ref.assertClose(dx, numeric, 1e-6, 1e-7, `${fname} backward`);
  }
});

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  test(`embedding/transpose ${name}`, () => {
    const rand = ref.rng(21);
    const V = 11;
    const D = 37;
    const weight = Float64Array.from(Ctor.from(ref.randArray(V * D, rand)));
    const ids = Int32Array.from([3, 0, 10, 3, 3, 7]);  // repeats: the backward must add them all
    const out = new Ctor(ids.length * D);
    nb.embedding(Ctor.from(weight), ids, V, D, out);
    const e = new Float64Array(ids.length * D);
    ids.forEach((id, i) => e.set(weight.subarray(id * D, id * D + D), i * D));
    ref.assertClose(out, e, 0, 0, 'embedding');
    const dy = Float64Array.from(Ctor.from(ref.randArray(ids.length * D, rand)));
    const dw = Ctor.from(ref.randArray(V * D, rand));
    const dwe = Float64Array.from(dw);
    ids.forEach((id, i) => { for (let j = 0; j < D; j++) dwe[id * D + j] += dy[i * D + j]; });
    nb.embeddingBackward(Ctor.from(dy), ids, V, D, dw);
    ref.assertClose(dw, dwe, tolFor(name), 1e-7, 'embeddingBackward');
    for (const [batch, rows, cols] of [[1, 1, 1], [2, 3, 5], [3, 33, 17], [1, 200, 300]]) {
      const x = Float64Array.from(Ctor.from(ref.randArray(batch * rows * cols, rand)));
      const t = new Ctor(x.length);
      nb.transpose(Ctor.from(x), batch, rows, cols, t);
      const te = new Float64Array(x.length);
      for (let b = 0; b < batch; b++) for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
        te[b * rows * cols + c * rows + r] = x[b * rows * cols + r * cols + c];
      }
      ref.assertClose(t, Ctor.from(te), 0, 0, `transpose ${batch}x${rows}x${cols}`);
    }
  });
}

test('elementwise: bad arguments throw, naming the argument, and touch nothing', () => {
  const a = new Float32Array(4);
  assert.throws(() => nb.add(a, new Float64Array(4) as unknown as Float32Array, a), (e: Error) => e instanceof TypeError && /\bb\b/.test(e.message));
  assert.throws(() => nb.add(a, new Float32Array(3), a), (e: Error) => e instanceof RangeError && /b has 3 elements, needs 4/.test(e.message));
  assert.throws(() => nb.quickGelu(a, new Float32Array(2)), (e: Error) => e instanceof RangeError && /out/.test(e.message));
  assert.throws(() => nb.quickGelu([1, 2] as unknown as Float32Array, a), (e: Error) => e instanceof TypeError && /\bx\b/.test(e.message));
  assert.throws(() => nb.geluBackward(a, a, new Float32Array(1)), (e: Error) => e instanceof RangeError && /dx/.test(e.message));
  assert.throws(() => nb.addBias(a, new Float32Array(1), 2, 2), (e: Error) => e instanceof RangeError && /bias/.test(e.message));
  assert.throws(() => nb.sumRows(a, 3, 2, new Float32Array(2), false), (e: Error) => e instanceof RangeError && /\bx\b/.test(e.message));
  const w = new Float32Array(6).fill(1);
  const out = new Float32Array(6).fill(7);
  assert.throws(() => nb.embedding(w, Int32Array.from([0, 3]), 3, 2, out), (e: Error) => e instanceof RangeError && /ids\[1\] = 3/.test(e.message));
  assert.throws(() => nb.embedding(w, Int32Array.from([-1]), 3, 2, out), /ids\[0\] = -1/);
  assert.ok(out.every((v) => v === 7), 'no row copied before the bad id was found');
  assert.throws(() => nb.embedding(w, new Float32Array(1) as unknown as Int32Array, 3, 2, out), (e: Error) => e instanceof TypeError && /ids/.test(e.message));
  assert.throws(() => nb.embeddingBackward(new Float32Array(2), Int32Array.from([5]), 3, 2, w), /ids\[0\] = 5/);
  assert.throws(() => nb.embedding(w, Int32Array.from([1]), 3, 2, new Float32Array(1)), (e: Error) => e instanceof RangeError && /out/.test(e.message));
  assert.throws(() => nb.transpose(a, 1, 2, 3, a), (e: Error) => e instanceof RangeError && /\bx\b/.test(e.message));
  assert.throws(() => nb.addBias(a, a, -1, 2), /rows must be a non-negative integer/);
});
