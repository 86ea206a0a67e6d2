// Winograd F(2×2, 3×3) (native/winograd.h: float32 3×3 stride-1 pad-1 convs on AVX-512 CPUs)
// against the direct kernel (CLIP_TS_WINOGRAD=0) and a float64 reference, with every epilogue
// (bias, batch norm, residual, residual in place, ReLU), odd map sizes (partial tiles), batch 1 and
// more, channel counts that are not multiples of 16 or of the register tile, several thread counts.
// CLIP_TS_WINOGRAD=1 forces it on every supported shape, so small shapes exercise it too. On CPUs
// without AVX-512 both settings run the same kernel and the tests still hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';
import { conv2dRef } from './reference-conv.js';
import { withThreads } from './reference.js';

const nb = native();

function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s / 4294967296) * (hi - lo);
  }
  return out;
}

function withEnv<R>(value: string, fn: () => R): R {
  const before = process.env.CLIP_TS_WINOGRAD;
  process.env.CLIP_TS_WINOGRAD = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.CLIP_TS_WINOGRAD;
    else process.env.CLIP_TS_WINOGRAD = before;
  }
}

/** max |a − ref| / max |ref|. */
function relErr(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(a.length, ref.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - ref[i]);
    if (!(d <= err)) err = d; // NaN propagates
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  return err / Math.max(scale, 1e-30);
}

interface Case { N: number; C: number; H: number; W: number; O: number }

const cases: Case[] = [
  { N: 1, C: 1, H: 1, W: 1, O: 1 },
  { N: 1, C: 3, H: 2, W: 3, O: 5 },
  { N: 2, C: 17, H: 7, W: 7, O: 9 },
  { N: 1, C: 64, H: 14, W: 14, O: 64 },
  { N: 3, C: 20, H: 13, W: 11, O: 24 },
  { N: 5, C: 33, H: 9, W: 15, O: 40 },
  { N: 2, C: 48, H: 29, W: 30, O: 19 },
  { N: 4, C: 40, H: 17, W: 16, O: 33 },
  { N: 1, C: 8, H: 5, W: 70, O: 16 },
];

function convRef64(c: Case, x: Float32Array, w: Float32Array, bias: Float32Array | null): Float64Array {
  return conv2dRef(x, w, bias, c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1);
}

test('conv2d: Winograd matches the direct kernel and float64 (with and without bias)', () => {
  // Thread counts change in the outer loop only: each setThreads restarts the pool's workers.
  for (const threads of [1, 2, 3]) {
    withThreads(threads, () => {
      let seed = 1;
      for (const c of cases) {
        for (const withBias of [false, true]) {
          const x = rand(c.N * c.C * c.H * c.W, seed++);
          const w = rand(c.O * c.C * 9, seed++, -0.3, 0.3);
          const bias = withBias ? rand(c.O, seed++) : null;
          const ref = convRef64(c, x, w, bias);
          const run = (mode: string) => withEnv(mode, () => {
            const out = new Float32Array(c.N * c.O * c.H * c.W).fill(Number.NaN);
            nb.conv2d(x, w, bias, out, c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1);
            return out;
          });
          const wino = run('1');
          const direct = run('0');
          const what = `${JSON.stringify(c)} bias=${withBias} threads=${threads}`;
          assert.ok(relErr(wino, ref) < 1e-5, `${what}: vs float64 ${relErr(wino, ref)}`);
          assert.ok(relErr(wino, direct) < 1e-5, `${what}: vs direct ${relErr(wino, direct)}`);
          assert.ok(relErr(direct, ref) < 1e-5, `${what}: direct vs float64 ${relErr(direct, ref)}`);
        }
      }
    });
  }
});

function checkBatchNorm(): void {
  let seed = 1000;
  const eps = 1e-5;
  for (const c of cases) {
    const n = c.N * c.O * c.H * c.W;
    const x = rand(c.N * c.C * c.H * c.W, seed++);
    const w = rand(c.O * c.C * 9, seed++, -0.3, 0.3);
    const bias = rand(c.O, seed++);
    const gamma = rand(c.O, seed++, 0.5, 1.5);
    const beta = rand(c.O, seed++);
    const mean = rand(c.O, seed++);
    const variance = rand(c.O, seed++, 0.2, 2);
    const residual = rand(n, seed++, -2, 2);
    for (const withBias of [false, true]) {
      const conv = convRef64(c, x, w, withBias ? bias : null);
      for (const res of ['none', 'separate', 'inplace'] as const) {
        for (const relu of [false, true]) {
          const ref = new Float64Array(n);
          const P = c.H * c.W;
          for (let i = 0; i < n; i++) {
            const o = Math.floor(i / P) % c.O;
            let t = (conv[i] - mean[o]) * (gamma[o] / Math.sqrt(variance[o] + eps)) + beta[o];
            if (res !== 'none') t += residual[i];
            ref[i] = relu ? Math.max(t, 0) : t;
          }
          const run = (mode: string) => withEnv(mode, () => {
            const out = res === 'inplace' ? residual.slice() : new Float32Array(n).fill(Number.NaN);
            const r = res === 'none' ? null : res === 'inplace' ? out : residual;
            nb.conv2dBatchNorm(x, w, withBias ? bias : null, gamma, beta, mean, variance, r, out,
              c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1, eps, relu);
            return out;
          });
          {
            const threads = nb.getThreads();
            const wino = run('1');
            const direct = run('0');
            const what = `${JSON.stringify(c)} bias=${withBias} residual=${res} relu=${relu} threads=${threads}`;
            assert.ok(relErr(wino, ref) < 1e-5, `${what}: vs float64 ${relErr(wino, ref)}`);
            assert.ok(relErr(wino, direct) < 1e-5, `${what}: vs direct ${relErr(wino, direct)}`);
          }
        }
      }
    }
  }
}

test('conv2dBatchNorm: Winograd with every epilogue matches the direct kernel and float64', () => {
  for (const threads of [1, 2]) withThreads(threads, checkBatchNorm);
});

test('Winograd: the default (heuristic) setting agrees with the direct kernel on an RN50-like layer', () => {
  const c: Case = { N: 2, C: 64, H: 28, W: 28, O: 64 };
  const x = rand(c.N * c.C * c.H * c.W, 7);
  const w = rand(c.O * c.C * 9, 8, -0.1, 0.1);
  const run = (mode: string) => withEnv(mode, () => {
    const out = new Float32Array(c.N * c.O * c.H * c.W);
    nb.conv2d(x, w, null, out, c.N, c.C, c.H, c.W, c.O, 3, 3, 1, 1);
    return out;
  });
  const ref = convRef64(c, x, w, null);
  assert.ok(relErr(run(''), ref) < 1e-5);
  assert.ok(relErr(run('0'), ref) < 1e-5);
});
