// Plain-TypeScript reference implementations of the native kernels (native/API.md), written for
// clarity, not speed, and computed in float64. The kernel tests compare the addon against these;
// other tests may reuse them. Also: a seeded PRNG, closeness assertions and central finite
// differences for checking backward kernels.
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';

export type Arr = ArrayLike<number>;

// ---- test utilities ------------------------------------------------------------------------

/** Runs fn with the native thread pool at n threads, restoring the previous count after. */
export function withThreads<R>(n: number, fn: () => R): R {
  const nb = native();
  const before = nb.getThreads();
  nb.setThreads(n);
  try {
    return fn();
  } finally {
    nb.setThreads(before);
  }
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [lo, hi) as a Float64Array. */
export function randArray(n: number, rand: () => number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}

export type FloatCtor = Float32ArrayConstructor | Float64ArrayConstructor;
export const FLOAT_TYPES: ReadonlyArray<[string, FloatCtor]> = [['float64', Float64Array], ['float32', Float32Array]];

/** |a − e| ≤ atol + rtol·|e| elementwise, with the first offending index in the message. */
export function assertClose(actual: Arr, expected: Arr, rtol: number, atol: number, what = 'value'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} != ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const tol = atol + rtol * Math.abs(e);
    const err = Math.abs(a - e);
    if (!(err <= tol) && (Number.isNaN(err) || err - tol > worstExcess || worst < 0)) {
      worst = i;
      worstExcess = Number.isNaN(err) ? Infinity : err - tol;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}[${worst}] = ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Central finite differences of the scalar function f at x (x is modified and restored). */
export function finiteDiff(f: () => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + h;
    const fp = f();
    x[i] = old - h;
    const fm = f();
    x[i] = old;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

export function dot(a: Arr, b: Arr): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

// ---- GEMM ----------------------------------------------------------------------------------

export function gemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
  A: Arr, lda: number, B: Arr, ldb: number, beta: number, C: Float64Array | number[], ldc: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * lda + i] : A[i * lda + k];
        const b = transB ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
      }
      C[i * ldc + j] = alpha * s + (beta === 0 ? 0 : beta * C[i * ldc + j]);
    }
  }
}

/** Round-to-nearest-even float32 → bfloat16 bit pattern. */
export function toBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer)[0];
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  const lsb = (u >>> 16) & 1;
  return ((u + 0x7fff + lsb) >>> 16) & 0xffff;
}
export function fromBf16(h: number): number {
  const u = new Uint32Array([h << 16]);
  return new Float32Array(u.buffer)[0];
}

// ---- activations -------------------------------------------------------------------------------

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
export const quickGelu = (x: number): number => x * sigmoid(1.702 * x);
export function quickGeluGrad(x: number): number {
  const s = sigmoid(1.702 * x);
  return s + 1.702 * x * s * (1 - s);
}

/** erf(x) from the everywhere-positive series erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)) (no
 * cancellation), switching to a continued fraction for erfc in the tail. ~1e-15 absolute. */
export function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x > 6) return 1 - erfc(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}
/** erfc(x), relative accuracy in the tail (Lentz continued fraction for x ≥ 2). */
export function erfc(x: number): number {
  if (x < 2) return 1 - erf(x);
  // erfc(x) = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    D = x + an * D;
    D = D === 0 ? 1e-300 : 1 / D;
    C = x + an / C;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}
export const phi = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);
export const gelu = (x: number): number => x * phi(x);
export const geluGrad = (x: number): number => phi(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);

// ---- normalisation -----------------------------------------------------------------------------

export function layerNorm(x: Arr, gamma: Arr, beta: Arr, rows: number, n: number, eps: number) {
  const out = new Float64Array(rows * n);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mu = 0;
    for (let j = 0; j < n; j++) mu += x[r * n + j];
    mu /= n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (x[r * n + j] - mu) ** 2;
    v /= n;
    const rs = 1 / Math.sqrt(v + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < n; j++) out[r * n + j] = (x[r * n + j] - mu) * rs * gamma[j] + beta[j];
  }
  return { out, mean, rstd };
}

export function l2Normalize(x: Arr, rows: number, n: number) {
  const out = new Float64Array(rows * n);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += x[r * n + j] ** 2;
    norms[r] = Math.sqrt(s);
    for (let j = 0; j < n; j++) out[r * n + j] = x[r * n + j] / Math.max(norms[r], 1e-12);
  }
  return { out, norms };
}

export function softmax(x: Arr, rows: number, n: number): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, x[r * n + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[r * n + j] - m);
    for (let j = 0; j < n; j++) out[r * n + j] = Math.exp(x[r * n + j] - m) / s;
  }
  return out;
}

export function logSoftmax(x: Arr, rows: number, n: number): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, x[r * n + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[r * n + j] - m);
    const ls = Math.log(s) + m;
    for (let j = 0; j < n; j++) out[r * n + j] = x[r * n + j] - ls;
  }
  return out;
}

// ---- attention ---------------------------------------------------------------------------------

export interface AttnDims {
  B: number; H: number; Tq: number; Tk: number; D: number;
  qs: number; ks: number; vs: number; os: number; scale: number; causal: boolean;
}

/** Reference attention over strided Q/K/V; writes the head columns of `out` (other columns kept). */
export function attention(q: Arr, k: Arr, v: Arr, out: Float64Array, d: AttnDims): Float64Array {
  const probs = new Float64Array(d.B * d.H * d.Tq * d.Tk);
  for (let b = 0; b < d.B; b++) {
    for (let h = 0; h < d.H; h++) {
      for (let i = 0; i < d.Tq; i++) {
        const s = new Float64Array(d.Tk);
        let m = -Infinity;
        for (let j = 0; j < d.Tk; j++) {
          if (d.causal && j > i) { s[j] = -Infinity; continue; }
          let acc = 0;
          for (let c = 0; c < d.D; c++) {
            acc += q[(b * d.Tq + i) * d.qs + h * d.D + c] * k[(b * d.Tk + j) * d.ks + h * d.D + c];
          }
          s[j] = acc * d.scale;
          m = Math.max(m, s[j]);
        }
        let sum = 0;
        for (let j = 0; j < d.Tk; j++) { s[j] = Math.exp(s[j] - m); sum += s[j]; }
        const base = ((b * d.H + h) * d.Tq + i) * d.Tk;
        for (let j = 0; j < d.Tk; j++) probs[base + j] = s[j] / sum;
        for (let c = 0; c < d.D; c++) {
          let acc = 0;
          for (let j = 0; j < d.Tk; j++) acc += probs[base + j] * v[(b * d.Tk + j) * d.vs + h * d.D + c];
          out[(b * d.Tq + i) * d.os + h * d.D + c] = acc;
        }
      }
    }
  }
  return probs;
}

// ---- losses and optimiser ----------------------------------------------------------------------

export function crossEntropy(logits: Arr, targets: Arr, rows: number, n: number): number {
  const ls = logSoftmax(logits, rows, n);
  let s = 0;
  for (let r = 0; r < rows; r++) s -= ls[r * n + targets[r]];
  return s / rows;
}

/** One AdamW step in PyTorch 1.13's order, in float64. Mutates p, m, v. */
export function adamw(p: Float64Array, g: Arr, m: Float64Array, v: Float64Array, lr: number, beta1: number,
  beta2: number, eps: number, wd: number, step: number): void {
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - lr * wd;
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    const denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + eps;
    p[i] -= (lr / bc1) * (m[i] / denom);
  }
}
