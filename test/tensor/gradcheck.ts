// Central finite differences in float64 against the autograd gradients of an op.
import assert from 'node:assert/strict';
import { Tensor, backward, fromArray, noGrad } from '../../src/tensor/index.js';

/** A deterministic pseudo-random generator (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A float64 tensor of uniform values in [-scale, scale). */
export function randn(shape: number[], seed: number, scale = 1, requiresGrad = true): Tensor {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = (r() * 2 - 1) * scale;
  return fromArray(v, shape, 'float64', requiresGrad);
}

/**
 * Checks d(Σ w ⊙ f(inputs))/d(input) for every input with requiresGrad against central
 * differences, with fixed random weights w so that every output element matters.
 */
export function gradcheck(name: string, f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: { eps?: number; tol?: number } = {}): void {
  const eps = opts.eps ?? 1e-6;
  const tol = opts.tol ?? 1e-6;
  for (const x of inputs) x.grad = null;
  const out = f(...inputs);
  const w = randn([...out.shape], 12345, 1, false);
  backward(out, w.data as Float64Array);
  const objective = (): number => noGrad(() => {
    const o = f(...inputs);
    let s = 0;
    for (let i = 0; i < o.size; i++) s += o.data[i] * w.data[i];
    return s;
  });
  inputs.forEach((x, xi) => {
    if (!x.requiresGrad) return;
    assert.ok(x.grad !== null, `${name}: input ${xi} got no gradient`);
    const analytic = (x.grad as Tensor).data;
    let maxErr = 0;
    let maxRef = 0;
    for (let i = 0; i < x.size; i++) {
      const orig = x.data[i];
      x.data[i] = orig + eps;
      const fp = objective();
      x.data[i] = orig - eps;
      const fm = objective();
      x.data[i] = orig;
      const numeric = (fp - fm) / (2 * eps);
      maxErr = Math.max(maxErr, Math.abs(numeric - analytic[i]));
      maxRef = Math.max(maxRef, Math.abs(numeric));
    }
    assert.ok(maxErr <= tol * Math.max(1, maxRef), `${name}: input ${xi} gradient max error ${maxErr.toExponential(3)} (scale ${maxRef.toExponential(3)})`);
  });
}
