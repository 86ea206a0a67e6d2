// adamw against PyTorch 1.13's update order (plain-TypeScript reference, float64 and float32, several
// steps, with and without weight decay), sumSquares, and argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';
import * as ref from './reference.js';

const nb = native();

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  test(`adamw ${name}: 5 steps match the reference`, () => {
    for (const [n, wd] of [[1, 0], [17, 0.1], [70001, 0.2]] as const) {
      const rand = ref.rng(n);
      const p0 = Float64Array.from(Ctor.from(ref.randArray(n, rand)));
      const pe = Float64Array.from(p0);
      const me = new Float64Array(n);
      const ve = new Float64Array(n);
      const p = Ctor.from(p0);
      const m = new Ctor(n);
      const v = new Ctor(n);
      for (let step = 1; step <= 5; step++) {
        const g = Float64Array.from(Ctor.from(ref.randArray(n, rand)));
        ref.adamw(pe, g, me, ve, 1e-3, 0.9, 0.98, 1e-6, wd, step);
        nb.adamw(p, Ctor.from(g), m, v, 1e-3, 0.9, 0.98, 1e-6, wd, step);
      }
      const tol = name === 'float64' ? 1e-12 : 1e-6;
      ref.assertClose(p, pe, tol, tol, `param n=${n}`);
      ref.assertClose(m, me, tol, tol, 'm');
      ref.assertClose(v, ve, tol, 1e-9, 'v');
    }
  });

  test(`sumSquares ${name}`, () => {
    for (const n of [0, 1, 15, 100003]) {
      const x = Float64Array.from(Ctor.from(ref.randArray(n, ref.rng(n + 1))));
      const e = x.reduce((s, a) => s + a * a, 0);
      assert.ok(Math.abs(nb.sumSquares(Ctor.from(x)) - e) <= (name === 'float64' ? 1e-12 : 1e-6) * Math.max(e, 1), `n=${n}`);
    }
  });
}

test('adamw: bad arguments throw, naming the argument', () => {
  const p = new Float32Array(4);
  assert.throws(() => nb.adamw(p, new Float32Array(3), p, p, 1e-3, 0.9, 0.999, 1e-8, 0, 1), (e: Error) => e instanceof RangeError && /grad has 3 elements, needs 4/.test(e.message));
  assert.throws(() => nb.adamw(p, p, new Float64Array(4) as unknown as Float32Array, p, 1e-3, 0.9, 0.999, 1e-8, 0, 1), (e: Error) => e instanceof TypeError && /\bm\b/.test(e.message));
  assert.throws(() => nb.adamw(p, p, p, new Float32Array(1), 1e-3, 0.9, 0.999, 1e-8, 0, 1), (e: Error) => e instanceof RangeError && /\bv has/.test(e.message));
  assert.throws(() => nb.adamw(p, p, p, p, 1e-3, 0.9, 0.999, 1e-8, 0, 0), /step/);
  assert.throws(() => nb.adamw(p, p, p, p, 'x' as unknown as number, 0.9, 0.999, 1e-8, 0, 1), (e: Error) => e instanceof TypeError && /lr/.test(e.message));
  assert.throws(() => nb.sumSquares(new Int32Array(2) as unknown as Float32Array), TypeError);
});
