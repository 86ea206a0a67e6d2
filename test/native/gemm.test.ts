// gemm / gemmBatched / bf16 conversion / gemmBf16 against the float64 reference, for every
// transpose combination, odd and size-1 shapes, padded leading dimensions, and shapes large
// enough to take the packed AVX-512 path (partial edge tiles, several k blocks); the float32
// results are also compared between the packed kernel and CBLAS. Plus argument checking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';
import * as ref from './reference.js';

const nb = native();

// Shapes: tiny (CBLAS path), odd, and packed-path ones (M ≥ 16, N ≥ 32, M·N·K ≥ 2^18) with edge
// tiles in both directions and K spanning more than one 256-deep block.
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1], [5, 7, 3], [1, 9, 4], [13, 1, 6], [67, 97, 130], [50, 70, 300], [40, 33, 700],
];

function runGemm(Ctor: ref.FloatCtor, ta: boolean, tb: boolean, M: number, N: number, K: number, seed: number,
  pad = 0, alpha = 1.3, beta = 0.7) {
  const rand = ref.rng(seed);
  const lda = (ta ? M : K) + pad;
  const ldb = (tb ? K : N) + pad;
  const ldc = N + pad;
  const A = ref.randArray((ta ? K : M) * lda, rand);
  const B = ref.randArray((tb ? N : K) * ldb, rand);
  const C = ref.randArray(M * ldc, rand);
  const expected = Float64Array.from(C);
  ref.gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, expected, ldc);
  const c = Ctor.from(C);
  nb.gemm(ta, tb, M, N, K, alpha, Ctor.from(A), lda, Ctor.from(B), ldb, beta, c, ldc);
  return { c, expected, K };
}

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  test(`gemm ${name}: all transposes, odd/size-1/packed shapes, padded ld`, () => {
    let seed = 1;
    for (const [M, N, K] of SHAPES) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          for (const pad of [0, 3]) {
            const { c, expected } = runGemm(Ctor, ta, tb, M, N, K, seed++, pad);
            const tol = name === 'float64' ? 1e-12 : 2e-6 * Math.sqrt(K);
            ref.assertClose(c, expected, tol, tol, `gemm ${name} ta=${ta} tb=${tb} ${M}x${N}x${K} pad=${pad}`);
          }
        }
      }
    }
  });
}

test('gemm float32: beta = 0 ignores NaN in C; K = 0 scales C', () => {
  for (const [M, N, K] of [[4, 5, 3], [64, 64, 80]]) {
    const rand = ref.rng(9);
    const A = ref.randArray(M * K, rand);
    const B = ref.randArray(K * N, rand);
    const c = new Float32Array(M * N).fill(NaN);
    nb.gemm(false, false, M, N, K, 1, Float32Array.from(A), K, Float32Array.from(B), N, 0, c, N);
    const e = new Float64Array(M * N);
    ref.gemm(false, false, M, N, K, 1, A, K, B, N, 0, e, N);
    ref.assertClose(c, e, 1e-5, 1e-5, 'beta=0');
  }
  const c = new Float32Array([1, 2, 3, 4]);
  nb.gemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, c, 2);
  assert.deepEqual(Array.from(c), [0.5, 1, 1.5, 2]);
});

test('gemm float32: the packed AVX-512 kernel and CBLAS agree', () => {
  const before = nb.gemmKernel();
  try {
    // 4100 rows: two packed A chunks (4080 rows each at most)
    for (const [M, N, K] of [[67, 97, 130], [200, 96, 513], [4100, 40, 20]]) {
      for (const [ta, tb] of [[false, false], [true, true], [false, true]] as const) {
        const rand = ref.rng(M + N + K);
        const A = Float32Array.from(ref.randArray(M * K, rand));
        const B = Float32Array.from(ref.randArray(K * N, rand));
        const c1 = new Float32Array(M * N);
        const c2 = new Float32Array(M * N);
        nb.gemmKernel('blas');
        nb.gemm(ta, tb, M, N, K, 1, A, ta ? M : K, B, tb ? K : N, 0, c1, N);
        nb.gemmKernel('auto');
        nb.gemm(ta, tb, M, N, K, 1, A, ta ? M : K, B, tb ? K : N, 0, c2, N);
        ref.assertClose(c2, c1, 1e-5, 1e-4, `packed vs blas ${M}x${N}x${K}`);
      }
    }
  } finally {
    nb.gemmKernel(before === 'blas' ? 'blas' : 'auto');
  }
});

test('gemm float32: the skinny A·Bᵀ path (few rows of A): tails, K blocks, beta, padded ld', () => {
  // M ≤ 96 with op(B) = Bᵀ and K ≥ 64 streams B's rows in place: cover row tails (M mod 4), slice
  // tails (N mod 6), a K tail (K mod 16) and more than one 1024-deep K block.
  let seed = 100;
  for (const [M, N, K] of [[1, 6, 64], [3, 7, 100], [5, 13, 77], [50, 70, 768], [96, 11, 1030], [9, 25, 2100]]) {
    for (const pad of [0, 5]) {
      for (const beta of [0, 0.7]) {
        const { c, expected } = runGemm(Float32Array, false, true, M, N, K, seed++, pad, 1.3, beta);
        const tol = 2e-6 * Math.sqrt(K);
        ref.assertClose(c, expected, tol, tol, `skinny ${M}x${N}x${K} pad=${pad} beta=${beta}`);
      }
    }
  }
  const c = new Float32Array(2 * 6).fill(NaN); // beta = 0 never reads C
  nb.gemm(false, true, 2, 6, 64, 1, new Float32Array(2 * 64).fill(1), 64, new Float32Array(6 * 64).fill(0.5), 64, 0, c, 6);
  assert.deepEqual(Array.from(c), new Array(12).fill(32));
});

for (const [name, Ctor] of ref.FLOAT_TYPES) {
  test(`gemmBatched ${name}: small (per-thread) and large (threaded) products, broadcast stride 0`, () => {
    for (const [M, N, K, batch] of [[3, 4, 5, 7], [2, 1, 1, 3], [70, 64, 100, 3]]) {
      for (const [ta, tb] of [[false, false], [true, false], [false, true]] as const) {
        const rand = ref.rng(M * N * K + batch);
        const sa = M * K;
        const sb = 0;  // B broadcast over the batch (a shared weight)
        const sc = M * N + 2;  // gaps between C matrices stay untouched
        const A = ref.randArray(batch * sa, rand);
        const B = ref.randArray(K * N, rand);
        const C = ref.randArray(batch * sc, rand);
        const e = Float64Array.from(C);
        for (let i = 0; i < batch; i++) {
          const sub = e.subarray(i * sc);
          ref.gemm(ta, tb, M, N, K, 0.5, A.subarray(i * sa), ta ? M : K, B, tb ? K : N, 2, sub, N);
        }
        const c = Ctor.from(C);
        nb.gemmBatched(ta, tb, M, N, K, 0.5, Ctor.from(A), sa, ta ? M : K, Ctor.from(B), sb, tb ? K : N, 2, c, sc, N, batch);
        const tol = name === 'float64' ? 1e-12 : 1e-5;
        ref.assertClose(c, e, tol, tol, `gemmBatched ${M}x${N}x${K}x${batch}`);
      }
    }
  });
}

test('toBf16 / fromBf16: round to nearest even, specials, exact widening', () => {
  const rand = ref.rng(3);
  const vals = [0, -0, 1, -1, Infinity, -Infinity, NaN, 3.4e38, -3.4e38, 1e-40, -1e-40, 1.00390625, 1.01171875,
    1.0078125 + 2 ** -20, 65504, 2 ** -126, 2 ** -149];
  for (let i = 0; i < 1000; i++) vals.push((rand() - 0.5) * 10 ** Math.floor(rand() * 20 - 10));
  const src = Float32Array.from(vals);  // also exercises the 16-wide path and a scalar tail
  const dst = new Uint16Array(src.length);
  nb.toBf16(src, dst);
  for (let i = 0; i < src.length; i++) {
    const e = ref.toBf16(src[i]);
    if (Number.isNaN(src[i])) assert.ok(Number.isNaN(ref.fromBf16(dst[i])), `NaN stays NaN at ${i}`);
    else assert.equal(dst[i], e, `toBf16(${src[i]}) = ${dst[i].toString(16)}, expected ${e.toString(16)}`);
  }
  const back = new Float32Array(dst.length);
  nb.fromBf16(dst, back);
  for (let i = 0; i < dst.length; i++) {
    if (!Number.isNaN(back[i])) assert.equal(back[i], ref.fromBf16(dst[i]));
  }
});

test('gemmBf16: matches a float64 product of the bf16-rounded inputs; error vs fp32 inputs is bf16-sized', () => {
  // [67, 97, 131], [40, 64, 600], [3, 13, 2100] and [96, 6, 64] take the skinny path with ta = false, tb = true
  // (row, slice and K tails; more than one 2048-deep K block).
  for (const [M, N, K] of [[5, 7, 3], [1, 1, 1], [67, 97, 131], [40, 64, 600], [3, 13, 2100], [96, 6, 64]]) {
    for (const [ta, tb] of [[false, true], [false, false], [true, true], [true, false]] as const) {
      const rand = ref.rng(M * 31 + N * 7 + K);
      const A = Float32Array.from(ref.randArray(M * K, rand));
      const Bf = Float32Array.from(ref.randArray(K * N, rand));
      const B = new Uint16Array(Bf.length);
      nb.toBf16(Bf, B);
      const lda = ta ? M : K;
      const ldb = tb ? K : N;
      const c = Float32Array.from(ref.randArray(M * N, rand));
      const c0 = Float64Array.from(c);
      nb.gemmBf16(ta, tb, M, N, K, 1.5, A, lda, B, ldb, 0.5, c, N);
      // Exact-input reference: A and B rounded to bf16, product in float64.
      const Ar = Float64Array.from(A, (x) => ref.fromBf16(ref.toBf16(x)));
      const Br = Float64Array.from(B, (h) => ref.fromBf16(h));
      const e = Float64Array.from(c0);
      ref.gemm(ta, tb, M, N, K, 1.5, Ar, lda, Br, ldb, 0.5, e, N);
      ref.assertClose(c, e, 1e-5, 1e-5 * Math.sqrt(K), `gemmBf16 vs rounded-input ref ${M}x${N}x${K} ta=${ta} tb=${tb}`);
      // Against the unrounded fp32 inputs: each product carries ≤ 2·2^-9 relative error.
      const ef = Float64Array.from(c0);
      ref.gemm(ta, tb, M, N, K, 1.5, A, lda, Bf, ldb, 0.5, ef, N);
      const bound = new Float64Array(M * N);
      ref.gemm(ta, tb, M, N, K, 1.5 * 2 * 2 ** -8, Float64Array.from(A, Math.abs), lda, Float64Array.from(Bf, Math.abs),
        ldb, 0, bound, N);
      for (let i = 0; i < M * N; i++) {
        assert.ok(Math.abs(c[i] - ef[i]) <= bound[i] + 1e-6, `bf16 error at ${i}: ${Math.abs(c[i] - ef[i])} > ${bound[i]}`);
      }
    }
  }
});

test('hasBf16 / gemmKernel / fmaPeak report', () => {
  assert.equal(typeof nb.hasBf16(), 'boolean');
  assert.ok(['avx512', 'blas'].includes(nb.gemmKernel()));
  const peak = nb.fmaPeak(0.02);
  assert.ok(peak > 0 && Number.isFinite(peak), `fmaPeak = ${peak}`);
  assert.throws(() => nb.fmaPeak(-1), RangeError);
  assert.throws(() => nb.gemmKernel('fast' as 'auto'), /auto.*blas/);
});

test('gemm family: bad arguments throw, naming the argument', () => {
  const a = new Float32Array(6);
  const b = new Float32Array(6);
  const c = new Float32Array(4);
  assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, new Int32Array(6) as unknown as Float32Array, 3, b, 2, 0, c, 2),
    (e: Error) => e instanceof TypeError && /A/.test(e.message));
  assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, 3, new Float64Array(6), 2, 0, c, 2),
    (e: Error) => e instanceof TypeError && /B must be a Float32Array/.test(e.message));
  assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, 3, b.subarray(1), 2, 0, c, 2),
    (e: Error) => e instanceof RangeError && /B has 5 elements, needs 6/.test(e.message));
  assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c.subarray(1), 2),
    (e: Error) => e instanceof RangeError && /C has 3 elements, needs 4/.test(e.message));
  assert.throws(() => nb.gemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2), /lda/);
  assert.throws(() => nb.gemm(false, false, -2, 2, 3, 1, a, 3, b, 2, 0, c, 2), /M must be a non-negative integer/);
  assert.throws(() => nb.gemmBatched(false, false, 2, 2, 3, 1, a, 6, 3, b, 0, 2, 0, c, 4, 2, 2),
    (e: Error) => e instanceof RangeError && /A has 6 elements, needs 12/.test(e.message));
  assert.throws(() => nb.gemmBatched(false, false, 2, 2, 3, 1, a, 0, 3, b, 0, 2, 0, new Float32Array(8), 0, 2, 2), /strideC/);
  assert.throws(() => nb.toBf16(a, new Uint16Array(5)), (e: Error) => e instanceof RangeError && /dst/.test(e.message));
  assert.throws(() => nb.toBf16(a, new Int16Array(6) as unknown as Uint16Array), (e: Error) => e instanceof TypeError && /dst/.test(e.message));
  assert.throws(() => nb.gemmBf16(false, true, 2, 2, 3, 1, a, 3, new Uint16Array(5), 3, 0, c, 2),
    (e: Error) => e instanceof RangeError && /B has 5 elements, needs 6/.test(e.message));
  assert.throws(() => nb.gemmBf16(false, true, 2, 2, 3, 1, a, 3, new Float32Array(6) as unknown as Uint16Array, 3, 0, c, 2),
    (e: Error) => e instanceof TypeError && /B must be a Uint16Array/.test(e.message));
});
