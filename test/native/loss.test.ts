// crossEntropy / crossEntropyBackward against the plain-TypeScript reference (float64 and
// float32), the backward against central finite differences in float64, and argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';
import * as ref from './reference.js';

const nb = native();

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  test(`crossEntropy ${name}`, () => {
    for (const [rows, n] of [[1, 1], [1, 5], [4, 4], [7, 33], [300, 300]]) {
      const rand = ref.rng(rows + n);
      const logits = Float64Array.from(Ctor.from(ref.randArray(rows * n, rand, -10, 10)));
      const targets = Int32Array.from({ length: rows }, (_, i) => (i * 7) % n);
      const probs = new Ctor(rows * n);
      const loss = nb.crossEntropy(Ctor.from(logits), targets, rows, n, probs);
      const tol = name === 'float64' ? 1e-12 : 2e-6;
      assert.ok(Math.abs(loss - ref.crossEntropy(logits, targets, rows, n)) <= tol * Math.max(1, loss), `loss ${rows}x${n}`);
      ref.assertClose(probs, ref.softmax(logits, rows, n), tol, 1e-30, 'probs');
      const d = new Ctor(rows * n);
      nb.crossEntropyBackward(probs, targets, rows, n, 0.5 / rows, d);
      const e = ref.softmax(logits, rows, n).map((p, i) => (0.5 / rows) * (p - (targets[Math.floor(i / n)] === i % n ? 1 : 0)));
      ref.assertClose(d, e, tol, 1e-9, 'dlogits');
    }
  });
}

test('crossEntropy: very confident wrong logits give a large finite loss (computed from logits, not log p)', () => {
  const probs = new Float32Array(2);
  const loss = nb.crossEntropy(Float32Array.from([0, 200]), Int32Array.from([0]), 1, 2, probs);
  assert.ok(Math.abs(loss - 200) < 1e-4, `loss ${loss}`);
});

test('crossEntropyBackward float64: central finite differences', () => {
  const rows = 3;
  const n = 6;
  const rand = ref.rng(4);
  const x = ref.randArray(rows * n, rand, -3, 3);
  const targets = Int32Array.from([2, 0, 5]);
  const probs = new Float64Array(rows * n);
  const num = ref.finiteDiff(() => nb.crossEntropy(x, targets, rows, n, probs), x);
  nb.crossEntropy(x, targets, rows, n, probs);
  const d = new Float64Array(rows * n);
  nb.crossEntropyBackward(probs, targets, rows, n, 1 / rows, d);
  ref.assertClose(d, num, 1e-6, 1e-8, 'dlogits');
});

test('crossEntropy: bad arguments throw, naming the argument', () => {
  const x = new Float32Array(6);
  const p = new Float32Array(6);
  assert.throws(() => nb.crossEntropy(x, Int32Array.from([0, 3]), 2, 3, p), (e: Error) => e instanceof RangeError && /targets\[1\] = 3/.test(e.message));
  assert.throws(() => nb.crossEntropy(x, Int32Array.from([0]), 2, 3, p), (e: Error) => e instanceof RangeError && /targets has 1 elements, needs 2/.test(e.message));
  assert.throws(() => nb.crossEntropy(x, new Float32Array(2) as unknown as Int32Array, 2, 3, p), (e: Error) => e instanceof TypeError && /targets/.test(e.message));
  assert.throws(() => nb.crossEntropy(x, Int32Array.from([0, 1]), 2, 3, new Float32Array(5)), (e: Error) => e instanceof RangeError && /probs/.test(e.message));
  assert.throws(() => nb.crossEntropyBackward(p, Int32Array.from([0, -1]), 2, 3, 1, x), /targets\[1\] = -1/);
  assert.throws(() => nb.crossEntropyBackward(p, Int32Array.from([0, 1]), 2, 3, 1, new Float64Array(6) as unknown as Float32Array),
    (e: Error) => e instanceof TypeError && /dlogits/.test(e.message));
});
