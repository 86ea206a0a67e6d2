// layerNorm / l2Normalize / softmax / logSoftmax forwards against the plain-TypeScript reference
// (float64 and float32, row lengths 1, odd, under and over one SIMD vector, multithreaded row
// counts), backwards against central finite differences of the native forward in float64, and
// argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';
import * as ref from './reference.js';

const nb = native();
const SHAPES: Array<[number, number]> = [[1, 1], [3, 1], [2, 7], [4, 16], [3, 33], [5, 100], [600, 129]];

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  const tol = name === 'float64' ? 1e-12 : 2e-6;

  test(`layerNorm ${name}`, () => {
    for (const [rows, n] of SHAPES) {
      const rand = ref.rng(rows * 100 + n);
      // A large common offset checks the two-pass variance (no cancellation).
      const x = Float64Array.from(Ctor.from(ref.randArray(rows * n, rand).map((v) => v + 3)));
      const gamma = Float64Array.from(Ctor.from(ref.randArray(n, rand)));
      const beta = Float64Array.from(Ctor.from(ref.randArray(n, rand)));
      const e = ref.layerNorm(x, gamma, beta, rows, n, 1e-5);
      const out = new Ctor(rows * n);
      const mean = new Ctor(rows);
      const rstd = new Ctor(rows);
      nb.layerNorm(Ctor.from(x), Ctor.from(gamma), Ctor.from(beta), rows, n, 1e-5, out, mean, rstd);
      ref.assertClose(out, e.out, tol, tol * 10, `layerNorm out ${rows}x${n}`);
      ref.assertClose(mean, e.mean, tol, tol, 'mean');
      ref.assertClose(rstd, e.rstd, tol * 10, tol, 'rstd');
    }
  });

  test(`l2Normalize / softmax / logSoftmax ${name}`, () => {
    for (const [rows, n] of SHAPES) {
      const rand = ref.rng(rows * 7 + n);
      const x = Float64Array.from(Ctor.from(ref.randArray(rows * n, rand, -5, 5)));
      const out = new Ctor(rows * n);
      const norms = new Ctor(rows);
      nb.l2Normalize(Ctor.from(x), rows, n, out, norms);
      const e = ref.l2Normalize(x, rows, n);
      ref.assertClose(out, e.out, tol, tol, `l2Normalize ${rows}x${n}`);
      ref.assertClose(norms, e.norms, tol, tol, 'norms');
      nb.softmax(Ctor.from(x), rows, n, out);
      ref.assertClose(out, ref.softmax(x, rows, n), tol, 1e-30, `softmax ${rows}x${n}`);
      nb.logSoftmax(Ctor.from(x), rows, n, out);
      ref.assertClose(out, ref.logSoftmax(x, rows, n), tol, tol, `logSoftmax ${rows}x${n}`);
    }
  });
}

test('softmax: extreme rows (huge logits, −inf entries, a zero row for l2Normalize)', () => {
  const x = Float32Array.from([1000, 999, -Infinity, 0, -Infinity, -Infinity, -Infinity, 5]);
  const out = new Float32Array(8);
  nb.softmax(x, 2, 4, out);
  ref.assertClose(out.subarray(0, 4), ref.softmax([1000, 999, -Infinity, 0], 1, 4), 1e-6, 1e-30, 'huge');
  ref.assertClose(out.subarray(4), [0, 0, 0, 1], 0, 0, 'with -inf');
  const z = new Float32Array(6);
  const norms = new Float32Array(2);
  nb.l2Normalize(Float32Array.from([0, 0, 0, 3, 4, 0]), 2, 3, z, norms);
  ref.assertClose(z, [0, 0, 0, 0.6, 0.8, 0], 1e-7, 0, 'zero row stays zero');
  assert.deepEqual(Array.from(norms), [0, 5]);
});

test('norm backwards float64: central finite differences', () => {
  for (const [rows, n] of [[1, 1], [2, 7], [3, 18], [2, 33]]) {
    const rand = ref.rng(rows * 13 + n);
    const x = ref.randArray(rows * n, rand, -2, 2);
    const gamma = ref.randArray(n, rand);
    const beta = ref.randArray(n, rand);
    const w = ref.randArray(rows * n, rand);
    const out = new Float64Array(rows * n);
    const mean = new Float64Array(rows);
    const rstd = new Float64Array(rows);
    const lnLoss = () => { nb.layerNorm(x, gamma, beta, rows, n, 1e-5, out, mean, rstd); return ref.dot(out, w); };
    const ndx = ref.finiteDiff(lnLoss, x);
    const ndg = ref.finiteDiff(lnLoss, gamma);
    const ndb = ref.finiteDiff(lnLoss, beta);
    lnLoss();
    const dx = new Float64Array(rows * n).fill(NaN);  // overwritten
    const dgamma = new Float64Array(n).fill(0.5);  // accumulated
    const dbeta = new Float64Array(n).fill(-1);
    nb.layerNormBackward(x, gamma, mean, rstd, w, rows, n, dx, dgamma, dbeta);
    // n = 1: the output is beta whatever x is, so dx is 0 (and FD says so too)
    ref.assertClose(dx, ndx, 1e-6, 1e-6, `layerNormBackward dx ${rows}x${n}`);
    ref.assertClose(dgamma, ndg.map((v) => v + 0.5), 1e-6, 1e-7, 'dgamma');
    ref.assertClose(dbeta, ndb.map((v) => v - 1), 1e-6, 1e-7, 'dbeta');

    const norms = new Float64Array(rows);
    const l2Loss = () => { nb.l2Normalize(x, rows, n, out, norms); return ref.dot(out, w); };
    const nl2 = ref.finiteDiff(l2Loss, x);
    l2Loss();
    const dl2 = new Float64Array(rows * n);
    nb.l2NormalizeBackward(out, norms, w, rows, n, dl2);
    ref.assertClose(dl2, nl2, 1e-6, 1e-7, 'l2NormalizeBackward');

    const smLoss = () => { nb.softmax(x, rows, n, out); return ref.dot(out, w); };
    const nsm = ref.finiteDiff(smLoss, x);
    smLoss();
    const dsm = new Float64Array(rows * n);
    nb.softmaxBackward(out, w, rows, n, dsm);
    ref.assertClose(dsm, nsm, 1e-6, 1e-8, 'softmaxBackward');
  }
});

test('layerNormBackward: many rows (several blocks and threads) float32 vs float64', () => {
  const rows = 1000;
  const n = 77;
  const rand = ref.rng(5);
  const x = Float64Array.from(Float32Array.from(ref.randArray(rows * n, rand)));
  const gamma = Float64Array.from(Float32Array.from(ref.randArray(n, rand)));
  const dy = Float64Array.from(Float32Array.from(ref.randArray(rows * n, rand)));
  const run = <C extends ref.FloatCtor>(Ctor: C) => {
    const out = new Ctor(rows * n);
    const mean = new Ctor(rows);
    const rstd = new Ctor(rows);
    nb.layerNorm(Ctor.from(x), Ctor.from(gamma), new Ctor(n), rows, n, 1e-5, out, mean, rstd);
    const dx = new Ctor(rows * n);
    const dg = new Ctor(n);
    const db = new Ctor(n);
    nb.layerNormBackward(Ctor.from(x), Ctor.from(gamma), mean, rstd, Ctor.from(dy), rows, n, dx, dg, db);
    return { dx, dg, db };
  };
  const a = run(Float32Array);
  const b = run(Float64Array);
  ref.assertClose(a.dx, b.dx, 1e-4, 1e-5, 'dx');
  ref.assertClose(a.dg, b.dg, 1e-4, 1e-4, 'dgamma');
  ref.assertClose(a.db, b.db, 1e-4, 1e-4, 'dbeta');
});

test('norm kernels: bad arguments throw, naming the argument', () => {
  const x = new Float32Array(6);
  const o = new Float32Array(6);
  const r = new Float32Array(2);
  assert.throws(() => nb.layerNorm(x, new Float32Array(2), new Float32Array(3), 2, 3, 1e-5, o, r, r),
    (e: Error) => e instanceof RangeError && /gamma has 2 elements, needs 3/.test(e.message));
  assert.throws(() => nb.layerNorm(x, new Float64Array(3) as unknown as Float32Array, new Float32Array(3), 2, 3, 1e-5, o, r, r),
    (e: Error) => e instanceof TypeError && /gamma/.test(e.message));
  assert.throws(() => nb.layerNorm(x, new Float32Array(3), new Float32Array(3), 2, 3, 1e-5, o, r, new Float32Array(1)),
    (e: Error) => e instanceof RangeError && /rstd/.test(e.message));
  assert.throws(() => nb.layerNormBackward(x, new Float32Array(3), r, r, new Float32Array(5), 2, 3, o, new Float32Array(3), new Float32Array(3)),
    (e: Error) => e instanceof RangeError && /dy/.test(e.message));
  assert.throws(() => nb.softmax(x, 3, 3, o), (e: Error) => e instanceof RangeError && /\bx has 6 elements, needs 9/.test(e.message));
  assert.throws(() => nb.softmaxBackward(x, x, 2, 3, new Int32Array(6) as unknown as Float32Array),
    (e: Error) => e instanceof TypeError && /dx/.test(e.message));
  assert.throws(() => nb.l2Normalize(x, 2, 3, o, new Float32Array(1)), (e: Error) => e instanceof RangeError && /norms/.test(e.message));
  assert.throws(() => nb.l2NormalizeBackward(x, r, x, 2, 3, new Float32Array(2)), (e: Error) => e instanceof RangeError && /dx/.test(e.message));
  assert.throws(() => nb.logSoftmax(x, 2, 3, new Float32Array(1)), (e: Error) => e instanceof RangeError && /out/.test(e.message));
});
