// Limited-memory BFGS for smooth unconstrained minimisation, following what scipy's L-BFGS-B
// (Byrd, Lu, Nocedal & Zhu 1995, v3.0) does when no variable has a bound, because scikit-learn's
// `LogisticRegression(solver='lbfgs')` runs exactly that and we want to stop where it stops:
//
// * direction −H·g from the last `memory` (s, y) pairs, H₀ = (sᵀy / yᵀy)·I (the newest pair);
//   the first direction (and the one after a restart) is −g;
// * first trial step 1/‖d‖ on the very first iteration, 1 afterwards; the Moré–Thuente search
//   with ftol 1e-3, gtol 0.9, xtol 0.1, at most `maxLineSearch` evaluations per line;
// * a pair is skipped when sᵀy ≤ ε·(−sᵀg_old) (not enough curvature for a positive update);
// * a failed line search restarts from the previous point with an empty memory, or ends the run
//   when the memory was already empty;
// * stop when max|gᵢ| ≤ gtol (tested at x₀ and after each iteration), or when the relative
//   decrease (f_old − f) / max(|f_old|, |f|, 1) ≤ ftol, or after maxIterations iterations (the
//   iteration limit is tested first, as scipy's driver does), or after maxEvaluations evaluations.
import { LBFGSB_LINE_SEARCH, MoreThuenteSearch } from './line-search.js';

/** Writes ∇f(x) into `grad` and returns f(x). */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Correction pairs kept (scipy's maxcor / m). Default 10. */
  memory?: number;
  /** Default 15000 (scipy); scikit-learn passes max_iter (default 100, 1000 in the CLIP protocol). */
  maxIterations?: number;
  /** Default 15000 (scipy's maxfun). */
  maxEvaluations?: number;
  /** Projected-gradient tolerance on max|gᵢ|. Default 1e-5 (scipy); scikit-learn passes tol = 1e-4. */
  gtol?: number;
  /** Relative-reduction tolerance (scipy's ftol = factr·ε). Default 1e7·ε ≈ 2.2e-9. */
  ftol?: number;
  /** Evaluations allowed per line search (scipy's maxls). Default 20. */
  maxLineSearch?: number;
  /** Called after every iteration (progress output, early abort by throwing). */
  onIteration?: (info: LbfgsIteration) => void;
}

export interface LbfgsIteration {
  iteration: number;
  f: number;
  /** max|gᵢ| at the new point. */
  gradientNorm: number;
  evaluations: number;
}

export type LbfgsStopReason = 'gtol' | 'ftol' | 'max-iterations' | 'max-evaluations' | 'line-search-failed';

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradient: Float64Array;
  /** max|gᵢ| at x. */
  gradientNorm: number;
  iterations: number;
  evaluations: number;
  reason: LbfgsStopReason;
  /** True when a tolerance (gtol or ftol) was met, as scipy's `success`. */
  converged: boolean;
}

const EPS = 2 ** -52;
export const DEFAULT_FTOL = 1e7 * EPS;
/** L-BFGS-B's step bound when no variable is constrained. */
const STEP_MAX = 1e10;

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

function isFiniteArray(a: Float64Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** The last `memory` correction pairs, oldest first, in a ring buffer. */
class CorrectionPairs {
  private readonly s: Float64Array[] = [];
  private readonly y: Float64Array[] = [];
  private readonly rho: number[] = [];
  private head = 0;
  private size = 0;
  private alpha: Float64Array;

  constructor(private readonly memory: number, private readonly n: number) {
    this.alpha = new Float64Array(memory);
  }

  get count(): number {
    return this.size;
  }

  clear(): void {
    this.size = 0;
    this.head = 0;
  }

  /** Adds s = x_new − x_old, y = g_new − g_old with sᵀy > 0 (copied). */
  push(s: Float64Array, y: Float64Array, sy: number): void {
    const slot = (this.head + this.size) % this.memory;
    if (this.s[slot] === undefined) {
      this.s[slot] = new Float64Array(this.n);
      this.y[slot] = new Float64Array(this.n);
    }
    this.s[slot].set(s);
    this.y[slot].set(y);
    this.rho[slot] = 1 / sy;
    if (this.size < this.memory) this.size++;
    else this.head = (this.head + 1) % this.memory;
  }

  /** d = −H·g by the two-loop recursion, H₀ = (sᵀy / yᵀy) of the newest pair. */
  direction(g: Float64Array, d: Float64Array): void {
    for (let i = 0; i < d.length; i++) d[i] = -g[i];
    if (this.size === 0) return;
    const slotOf = (k: number): number => (this.head + k) % this.memory;
    for (let k = this.size - 1; k >= 0; k--) {
      const j = slotOf(k);
      const a = this.rho[j] * dot(this.s[j], d);
      this.alpha[k] = a;
      const yj = this.y[j];
      for (let i = 0; i < d.length; i++) d[i] -= a * yj[i];
    }
    const newest = slotOf(this.size - 1);
    const yy = dot(this.y[newest], this.y[newest]);
    const gamma = 1 / (this.rho[newest] * yy);
    for (let i = 0; i < d.length; i++) d[i] *= gamma;
    for (let k = 0; k < this.size; k++) {
      const j = slotOf(k);
      const b = this.rho[j] * dot(this.y[j], d);
      const coef = this.alpha[k] - b;
      const sj = this.s[j];
      for (let i = 0; i < d.length; i++) d[i] += coef * sj[i];
    }
  }
}

/** Minimises `fn` from `x0` (not modified). */
export function minimizeLbfgs(fn: Objective, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const memory = opts.memory ?? 10;
  const maxIterations = opts.maxIterations ?? 15000;
  const maxEvaluations = opts.maxEvaluations ?? 15000;
  const gtol = opts.gtol ?? 1e-5;
  const ftol = opts.ftol ?? DEFAULT_FTOL;
  const maxLineSearch = opts.maxLineSearch ?? 20;
  if (!Number.isInteger(memory) || memory < 1) throw new RangeError(`lbfgs: memory must be a positive integer, got ${memory}`);
  if (!Number.isInteger(maxLineSearch) || maxLineSearch < 1) throw new RangeError(`lbfgs: maxLineSearch must be a positive integer`);
  if (!(gtol >= 0) || !(ftol >= 0)) throw new RangeError('lbfgs: gtol and ftol must be non-negative');

  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fn(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f) || !isFiniteArray(g)) throw new Error(`lbfgs: the objective is not finite at the starting point (f = ${f})`);

  const result = (reason: LbfgsStopReason, iterations: number): LbfgsResult => ({
    x, f, gradient: g, gradientNorm: maxAbs(g), iterations, evaluations, reason,
    converged: reason === 'gtol' || reason === 'ftol',
  });
  if (maxAbs(g) <= gtol) return result('gtol', 0);

  const pairs = new CorrectionPairs(memory, n);
  const d = new Float64Array(n);
  const xOld = new Float64Array(n);
  const gOld = new Float64Array(n);
  const s = new Float64Array(n);
  const y = new Float64Array(n);
  let iterations = 0;

  for (;;) {
    pairs.direction(g, d);
    let gd = dot(g, d);
    if (!(gd < 0)) {
      // Not a descent direction (rounding in H): start again from steepest descent.
      if (pairs.count === 0) return result('line-search-failed', iterations);
      pairs.clear();
      continue;
    }
    const dnorm = Math.sqrt(dot(d, d));
    const firstStep = iterations === 0 ? Math.min(1 / dnorm, STEP_MAX) : 1;
    xOld.set(x);
    gOld.set(g);
    const fOld = f;
    const gdOld = gd;

    const search = new MoreThuenteSearch(f, gd, firstStep, { ...LBFGSB_LINE_SEARCH, stpmax: STEP_MAX });
    let step = firstStep;
    let tried = 0;
    let failed = false;
    for (;;) {
      for (let i = 0; i < n; i++) x[i] = xOld[i] + step * d[i];
      f = fn(x, g);
      evaluations++;
      tried++;
      gd = dot(g, d);
      if (!Number.isFinite(f) || !Number.isFinite(gd)) {
        failed = true;
        break;
      }
      const status = search.next(f, gd);
      if (status.kind !== 'evaluate') break;
      if (tried >= maxLineSearch) {
        failed = true;
        break;
      }
      step = status.step;
    }
    if (failed) {
      x.set(xOld);
      g.set(gOld);
      f = fOld;
      if (pairs.count === 0) return result('line-search-failed', iterations);
      pairs.clear();
      continue;
    }

    iterations++;
    const gradientNorm = maxAbs(g);
    opts.onIteration?.({ iteration: iterations, f, gradientNorm, evaluations });
    if (iterations >= maxIterations) return result('max-iterations', iterations);
    if (evaluations > maxEvaluations) return result('max-evaluations', iterations);
    if (gradientNorm <= gtol) return result('gtol', iterations);
    if (fOld - f <= ftol * Math.max(Math.abs(fOld), Math.abs(f), 1)) return result('ftol', iterations);

    for (let i = 0; i < n; i++) {
      s[i] = step * d[i];
      y[i] = g[i] - gOld[i];
    }
    const sy = (gd - gdOld) * step;
    if (sy > EPS * (-gdOld * step)) pairs.push(s, y, sy);
  }
}
