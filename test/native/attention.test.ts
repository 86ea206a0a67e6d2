// attention / attentionBackward: forward against the plain-TypeScript reference (float64 and
// float32) on Q/K/V read strided from one packed [B, T, 3W] buffer and from separate padded
// buffers, causal and not, Tq ≠ Tk (attention pooling: one query over many keys), odd head sizes,
// sequences longer than one SIMD vector, probs = null; the backward against central finite
// differences of the native forward in float64; argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native, type FloatArray } from '../../src/tensor/native.js';
import * as ref from './reference.js';

const nb = native();

interface Case { B: number; H: number; Tq: number; Tk: number; D: number; causal: boolean }
const CASES: Case[] = [
  { B: 1, H: 1, Tq: 1, Tk: 1, D: 1, causal: false },
  { B: 2, H: 3, Tq: 5, Tk: 5, D: 4, causal: false },
  { B: 2, H: 3, Tq: 5, Tk: 5, D: 4, causal: true },
  { B: 2, H: 2, Tq: 1, Tk: 7, D: 5, causal: false },   // attention pooling: one query
  { B: 1, H: 2, Tq: 3, Tk: 9, D: 17, causal: false },  // Tq < Tk, odd D
  { B: 1, H: 2, Tq: 6, Tk: 4, D: 3, causal: true },    // Tq > Tk, causal
  { B: 2, H: 2, Tq: 37, Tk: 37, D: 20, causal: true }, // > 2 vectors of keys, row blocks + tail
  { B: 3, H: 4, Tq: 50, Tk: 50, D: 64, causal: false }, // ViT-B head shape, several threads
];

/** Layout 'packed': q, k, v are views of one [B, T, 3W] buffer (needs Tq = Tk); 'separate':
 * three buffers whose row strides leave gap columns that must stay untouched. */
function makeInputs(c: Case, layout: 'packed' | 'separate', seed: number) {
  const rand = ref.rng(seed);
  const W = c.H * c.D;
  if (layout === 'packed') {
    const qkv = ref.randArray(c.B * c.Tq * 3 * W, rand);
    return { qkv, q: qkv, k: qkv.subarray(W), v: qkv.subarray(2 * W), qs: 3 * W, ks: 3 * W, vs: 3 * W, qOff: 0, kOff: W, vOff: 2 * W };
  }
  const qs = W + 2;
  const ks = W + 3;
  const vs = W + 1;
  const q = ref.randArray(c.B * c.Tq * qs, rand);
  const k = ref.randArray(c.B * c.Tk * ks, rand);
  const v = ref.randArray(c.B * c.Tk * vs, rand);
  return { qkv: null, q, k, v, qs, ks, vs, qOff: 0, kOff: 0, vOff: 0 };
}

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  test(`attention forward ${name}: packed and separate strided layouts`, () => {
    let seed = 1;
    for (const c of CASES) {
      for (const layout of ['packed', 'separate'] as const) {
        if (layout === 'packed' && c.Tq !== c.Tk) continue;
        const inp = makeInputs(c, layout, seed++);
        const W = c.H * c.D;
        const os = W + 5;
        const scale = 1 / Math.sqrt(c.D);
        const dims = { ...c, qs: inp.qs, ks: inp.ks, vs: inp.vs, os, scale };
        const outE = new Float64Array(c.B * c.Tq * os).fill(7);
        const probsE = ref.attention(inp.q, inp.k, inp.v, outE, dims);
        // Native, from typed-array views with the same offsets.
        let q: FloatArray;
        let k: FloatArray;
        let v: FloatArray;
        if (inp.qkv !== null) {
          const qkv = Ctor.from(inp.qkv);
          q = qkv; k = qkv.subarray(W); v = qkv.subarray(2 * W);
        } else {
          q = Ctor.from(inp.q); k = Ctor.from(inp.k); v = Ctor.from(inp.v);
        }
        const out = new Ctor(c.B * c.Tq * os).fill(7);
        const probs = new Ctor(c.B * c.H * c.Tq * c.Tk);
        nb.attention(q, k, v, out, probs, c.B, c.H, c.Tq, c.Tk, c.D, inp.qs, inp.ks, inp.vs, os, scale, c.causal);
        const tol = name === 'float64' ? 1e-12 : 2e-6;
        const label = `${name} ${layout} ${JSON.stringify(c)}`;
        ref.assertClose(out, outE, tol, tol, `out ${label}`);  // includes the gap columns (still 7)
        ref.assertClose(probs, probsE, tol, tol, `probs ${label}`);
        const out2 = new Ctor(c.B * c.Tq * os).fill(7);
        nb.attention(q, k, v, out2, null, c.B, c.H, c.Tq, c.Tk, c.D, inp.qs, inp.ks, inp.vs, os, scale, c.causal);
        ref.assertClose(out2, out, 0, 0, `probs = null ${label}`);
      }
    }
  });
}

test('attentionBackward float64: central finite differences of the forward', () => {
  let seed = 100;
  for (const c of CASES.slice(0, 7)) {
    for (const layout of ['separate', 'packed'] as const) {
      if (layout === 'packed' && c.Tq !== c.Tk) continue;
      const inp = makeInputs(c, layout, seed++);
      const W = c.H * c.D;
      const os = W + 1;
      const scale = 0.7;
      const rand = ref.rng(seed++);
      const w = ref.randArray(c.B * c.Tq * os, rand);
      for (let i = 0; i < w.length; i++) if (i % os >= W) w[i] = 0;  // gap columns are not outputs
      const q = inp.q;
      const k = inp.qkv !== null ? inp.qkv.subarray(W) : inp.k;
      const v = inp.qkv !== null ? inp.qkv.subarray(2 * W) : inp.v;
      const out = new Float64Array(c.B * c.Tq * os);
      const probs = new Float64Array(c.B * c.H * c.Tq * c.Tk);
      const fwd = () => {
        nb.attention(q, k, v, out, probs, c.B, c.H, c.Tq, c.Tk, c.D, inp.qs, inp.ks, inp.vs, os, scale, c.causal);
        return ref.dot(out, w);
      };
      const label = `${layout} ${JSON.stringify(c)}`;
      if (inp.qkv !== null) {
        // One buffer: FD over all of it gives dq | dk | dv interleaved per row, as the kernel writes them.
        const num = ref.finiteDiff(fwd, inp.qkv, 1e-5);
        fwd();
        const dqkv = new Float64Array(inp.qkv.length).fill(NaN);
        nb.attentionBackward(q, k, v, probs, w, dqkv, dqkv.subarray(W), dqkv.subarray(2 * W),
          c.B, c.H, c.Tq, c.Tk, c.D, inp.qs, inp.ks, inp.vs, os, scale);
        ref.assertClose(dqkv, num, 1e-6, 1e-7, `dqkv ${label}`);
      } else {
        const nq = ref.finiteDiff(fwd, inp.q, 1e-5);
        const nk = ref.finiteDiff(fwd, inp.k, 1e-5);
        const nv = ref.finiteDiff(fwd, inp.v, 1e-5);
        fwd();
        // Gap columns (outside the heads) must be left as they were: fill with a sentinel.
        const dq = new Float64Array(inp.q.length).fill(9);
        const dk = new Float64Array(inp.k.length).fill(9);
        const dv = new Float64Array(inp.v.length).fill(9);
        nb.attentionBackward(q, k, v, probs, w, dq, dk, dv, c.B, c.H, c.Tq, c.Tk, c.D, inp.qs, inp.ks, inp.vs, os, scale);
        const gapped = (num: Float64Array, stride: number) => num.map((x, i) => (i % stride >= W ? 9 : x));
        ref.assertClose(dq, gapped(nq, inp.qs), 1e-6, 1e-7, `dq ${label}`);
        ref.assertClose(dk, gapped(nk, inp.ks), 1e-6, 1e-7, `dk ${label}`);
        ref.assertClose(dv, gapped(nv, inp.vs), 1e-6, 1e-7, `dv ${label}`);
      }
    }
  }
});

test('attentionBackward float32 agrees with float64 on the ViT-B head shape', () => {
  const c = CASES[CASES.length - 1];
  const inp = makeInputs(c, 'packed', 7);
  const W = c.H * c.D;
  const rand = ref.rng(8);
  const dout = ref.randArray(c.B * c.Tq * W, rand);
  const run = <C extends ref.FloatCtor>(Ctor: C) => {
    const qkv = Ctor.from(inp.qkv!);
    const out = new Ctor(c.B * c.Tq * W);
    const probs = new Ctor(c.B * c.H * c.Tq * c.Tk);
    nb.attention(qkv, qkv.subarray(W), qkv.subarray(2 * W), out, probs, c.B, c.H, c.Tq, c.Tk, c.D, 3 * W, 3 * W, 3 * W, W, 0.125, false);
    const d = new Ctor(qkv.length);
    nb.attentionBackward(qkv, qkv.subarray(W), qkv.subarray(2 * W), probs, Ctor.from(dout), d, d.subarray(W), d.subarray(2 * W),
      c.B, c.H, c.Tq, c.Tk, c.D, 3 * W, 3 * W, 3 * W, W, 0.125);
    return d;
  };
  ref.assertClose(run(Float32Array), run(Float64Array), 1e-4, 1e-5, 'dqkv float32 vs float64');
});

test('attention: bad arguments throw, naming the argument', () => {
  const B = 1; const H = 2; const T = 3; const D = 4; const W = H * D;
  const qkv = new Float32Array(B * T * 3 * W);
  const out = new Float32Array(B * T * W);
  const probs = new Float32Array(B * H * T * T);
  const q = qkv; const k = qkv.subarray(W); const v = qkv.subarray(2 * W);
  assert.doesNotThrow(() => nb.attention(q, k, v, out, probs, B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5, false));
  assert.throws(() => nb.attention(q, k, qkv.subarray(2 * W + 1), out, probs, B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5, false),
    (e: Error) => e instanceof RangeError && /\bv has \d+ elements, needs \d+/.test(e.message));
  assert.throws(() => nb.attention(q, k, v, out, new Float32Array(5), B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5, false),
    (e: Error) => e instanceof RangeError && /probs has 5 elements, needs 18/.test(e.message));
  assert.throws(() => nb.attention(q, k, v, new Float64Array(out.length) as unknown as Float32Array, probs, B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5, false),
    (e: Error) => e instanceof TypeError && /out/.test(e.message));
  assert.throws(() => nb.attention(q, k, v, out, probs, B, H, T, T, D, W - 1, 3 * W, 3 * W, W, 0.5, false),
    (e: Error) => e instanceof RangeError && /qs = 7 is smaller than H·D = 8/.test(e.message));
  assert.throws(() => nb.attention(q, k, v, out.subarray(1), probs, B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5, false),
    (e: Error) => e instanceof RangeError && /out has/.test(e.message));
  const d = new Float32Array(qkv.length);
  assert.throws(() => nb.attentionBackward(q, k, v, probs, out, d, d.subarray(W), d.subarray(2 * W + 1), B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5),
    (e: Error) => e instanceof RangeError && /\bdv has/.test(e.message));
  assert.throws(() => nb.attentionBackward(q, k, v, null as unknown as Float32Array, out, d, d.subarray(W), d.subarray(2 * W), B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5),
    (e: Error) => e instanceof TypeError && /probs/.test(e.message));
  assert.throws(() => nb.attentionBackward(q, k, v, probs, out.subarray(2), d, d.subarray(W), d.subarray(2 * W), B, H, T, T, D, 3 * W, 3 * W, 3 * W, W, 0.5),
    (e: Error) => e instanceof RangeError && /dout has/.test(e.message));
});
