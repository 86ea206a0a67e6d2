// L-BFGS and its Moré–Thuente line search: known minima, strong Wolfe steps, scipy's iteration
// counts on Rosenbrock, and the failure paths.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { minimizeLbfgs, type Objective } from '../../src/eval/lbfgs.js';
import { LBFGSB_LINE_SEARCH, MoreThuenteSearch } from '../../src/eval/line-search.js';
import { packageRoot } from '../../src/paths.js';

interface RosenbrockRun { n: number; x0: number[]; gtol: number; nit: number; nfev: number; x: number[]; f: number }

const reference = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'data', 'probe', 'reference.json'), 'utf8')) as {
  lbfgs_rosenbrock: RosenbrockRun[];
};

const rosenbrock: Objective = (x, g) => {
  let f = 0;
  for (let i = 0; i < x.length; i += 2) {
    const a = x[i];
    const b = x[i + 1];
    f += 100 * (b - a * a) ** 2 + (1 - a) ** 2;
    g[i] = -400 * a * (b - a * a) - 2 * (1 - a);
    g[i + 1] = 200 * (b - a * a);
  }
  return f;
};

test('a strictly convex quadratic reaches A⁻¹b', () => {
  // A = diag(1 … 50) + 0.5·(ones ones)ᵀ-ish coupling, b fixed: solve with L-BFGS, check A·x = b.
  const n = 50;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) A[i * n + j] = (i === j ? i + 1 : 0) + 0.3 / (1 + Math.abs(i - j));
  }
  const b = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const quad: Objective = (x, g) => {
    let f = 0;
    for (let i = 0; i < n; i++) {
      let ax = 0;
      for (let j = 0; j < n; j++) ax += A[i * n + j] * x[j];
      g[i] = ax - b[i];
      f += 0.5 * x[i] * ax - b[i] * x[i];
    }
    return f;
  };
  const r = minimizeLbfgs(quad, new Float64Array(n), { gtol: 1e-7, ftol: 0 });
  assert.equal(r.reason, 'gtol');
  assert.ok(r.gradientNorm <= 1e-7, `max|g| = ${r.gradientNorm}`);
  for (let i = 0; i < n; i++) {
    let ax = 0;
    for (let j = 0; j < n; j++) ax += A[i * n + j] * r.x[j];
    assert.ok(Math.abs(ax - b[i]) <= 1e-7, `row ${i}: residual ${ax - b[i]}`);
  }
});

test('Rosenbrock: same iterations, evaluations and minimum as scipy L-BFGS-B', () => {
  for (const ref of reference.lbfgs_rosenbrock) {
    const r = minimizeLbfgs(rosenbrock, Float64Array.from(ref.x0), { gtol: ref.gtol });
    assert.ok(r.converged, `n=${ref.n} gtol=${ref.gtol}: ${r.reason}`);
    assert.ok(Math.abs(r.iterations - ref.nit) <= 1, `n=${ref.n}: ${r.iterations} iterations, scipy ${ref.nit}`);
    assert.ok(Math.abs(r.evaluations - ref.nfev) <= 2, `n=${ref.n}: ${r.evaluations} evaluations, scipy ${ref.nfev}`);
    for (let i = 0; i < ref.n; i++) assert.ok(Math.abs(r.x[i] - 1) < 1e-4, `x[${i}] = ${r.x[i]}`);
    assert.ok(r.f < 1e-8);
  }
});

test('the iteration limit stops the run and says so', () => {
  const r = minimizeLbfgs(rosenbrock, Float64Array.from([-1.2, 1]), { maxIterations: 5 });
  assert.equal(r.iterations, 5);
  assert.equal(r.reason, 'max-iterations');
  assert.equal(r.converged, false);
  assert.ok(Number.isFinite(r.f));
});

test('a start that already satisfies gtol returns at once', () => {
  const r = minimizeLbfgs(rosenbrock, Float64Array.from([1, 1]));
  assert.equal(r.iterations, 0);
  assert.equal(r.evaluations, 1);
  assert.equal(r.reason, 'gtol');
});

test('a wrong gradient ends in a line-search failure, not a hang', () => {
  // The "gradient" points uphill, so no step along −g ever decreases f.
  const wrong: Objective = (x, g) => {
    g[0] = -2 * x[0];
    return x[0] * x[0];
  };
  const r = minimizeLbfgs(wrong, Float64Array.from([3]));
  assert.equal(r.reason, 'line-search-failed');
  assert.equal(r.converged, false);
  assert.deepEqual(Array.from(r.x), [3]);
});

test('a non-finite objective at the start is an error', () => {
  assert.throws(() => minimizeLbfgs((_x, g) => { g[0] = 0; return NaN; }, new Float64Array(1)), /not finite at the starting point/);
});

test('bad options are refused', () => {
  assert.throws(() => minimizeLbfgs(rosenbrock, new Float64Array(2), { memory: 0 }), /memory/);
  assert.throws(() => minimizeLbfgs(rosenbrock, new Float64Array(2), { gtol: -1 }), /gtol/);
});

/** Runs the search on φ and returns the accepted step. */
function search(phi: (a: number) => [number, number], first: number, stpmax = 1e10): { step: number; kind: string; evals: number } {
  const [f0, g0] = phi(0);
  const s = new MoreThuenteSearch(f0, g0, first, { ...LBFGSB_LINE_SEARCH, stpmax });
  let step = first;
  for (let evals = 1; evals < 50; evals++) {
    const [f, g] = phi(step);
    const st = s.next(f, g);
    if (st.kind !== 'evaluate') return { step: st.step, kind: st.kind, evals };
    step = st.step;
  }
  throw new Error('line search did not finish');
}

function assertStrongWolfe(phi: (a: number) => [number, number], step: number): void {
  const [f0, g0] = phi(0);
  const [f, g] = phi(step);
  assert.ok(f <= f0 + LBFGSB_LINE_SEARCH.ftol * step * g0, `sufficient decrease fails at ${step}`);
  assert.ok(Math.abs(g) <= LBFGSB_LINE_SEARCH.gtol * Math.abs(g0), `curvature fails at ${step}`);
}

test('Moré–Thuente finds strong Wolfe steps from far too small and far too large first steps', () => {
  // The paper's first test function: φ(α) = −α / (α² + β), β = 2 (minimum at √2).
  const phi1 = (a: number): [number, number] => [-a / (a * a + 2), (a * a - 2) / (a * a + 2) ** 2];
  // A quadratic with its minimum at 2.
  const phi2 = (a: number): [number, number] => [(a - 2) ** 2, 2 * (a - 2)];
  for (const phi of [phi1, phi2]) {
    for (const first of [1e-3, 1e-1, 1, 10, 1000]) {
      const r = search(phi, first);
      assert.equal(r.kind, 'converged', `first step ${first}: ${r.kind}`);
      assertStrongWolfe(phi, r.step);
    }
  }
});

test('the line search refuses an ascent direction', () => {
  assert.throws(() => new MoreThuenteSearch(0, 1, 1, { ...LBFGSB_LINE_SEARCH, stpmax: 10 }), /descent/);
});
