// A line search that finds a step satisfying the strong Wolfe conditions, after Moré and Thuente,
// "Line search algorithms with guaranteed sufficient decrease" (ACM TOMS 20, 1994): the search
// keeps an interval of uncertainty [stx, sty] known to contain a suitable step and picks each trial
// step by safeguarded cubic / quadratic interpolation of the function values and derivatives at the
// interval ends and the last trial. L-BFGS-B (and so scikit-learn's lbfgs solver) uses this search
// with ftol = 1e-3, gtol = 0.9, xtol = 0.1, which are our defaults; reproducing it step for step
// is what makes our optimiser stop where scipy's does.
//
// It is written as a small state machine driven by the caller ("reverse communication"): the
// caller evaluates φ(stp) and φ'(stp) wherever `next` asks, so the optimiser decides how to move x.

export interface LineSearchOptions {
  /** Sufficient-decrease constant μ: φ(α) ≤ φ(0) + μ·α·φ'(0). */
  ftol: number;
  /** Curvature constant η: |φ'(α)| ≤ η·|φ'(0)|. */
  gtol: number;
  /** Relative width of the interval of uncertainty below which the search gives up. */
  xtol: number;
  stpmin: number;
  stpmax: number;
}

export const LBFGSB_LINE_SEARCH: Readonly<Omit<LineSearchOptions, 'stpmax'>> = {
  ftol: 1e-3, gtol: 0.9, xtol: 0.1, stpmin: 0,
};

/**
 * `evaluate`: call `next` again with φ and φ' at `step`.
 * `converged`: `step` satisfies both Wolfe conditions.
 * `warning`: no better step can be found (rounding errors, interval below xtol, or a bound
 * reached); `step` satisfies at least the sufficient-decrease condition unless it is the start.
 */
export type LineSearchStatus =
  | { kind: 'evaluate'; step: number }
  | { kind: 'converged'; step: number }
  | { kind: 'warning'; step: number; reason: string };

// Safeguards of the trial-step choice while no minimiser is bracketed: the next step lies in
// [stp + XTRAP_LOWER·(stp − stx), stp + XTRAP_UPPER·(stp − stx)].
const XTRAP_LOWER = 1.1;
const XTRAP_UPPER = 4.0;
// When a bracketing step fails to shrink the interval to 2/3 of its width twice in a row, bisect.
const SHRINK = 0.66;

/** One end of the interval of uncertainty: step, value, derivative. */
interface Point {
  stp: number;
  f: number;
  g: number;
}

/**
 * The Moré–Thuente search for one line. Create it with φ(0), φ'(0) (< 0) and the first trial
 * step, then feed it φ, φ' at each step it asks for.
 */
export class MoreThuenteSearch {
  private readonly opts: LineSearchOptions;
  private readonly finit: number;
  private readonly ginit: number;
  /** μ·φ'(0): the slope of the sufficient-decrease line. */
  private readonly gtest: number;
  private bracketed = false;
  /** Stage 1 uses the auxiliary function ψ(α) = φ(α) − φ(0) − μαφ'(0) until a step has ψ ≤ 0 and φ' ≥ 0. */
  private stage: 1 | 2 = 1;
  private x: Point;
  private y: Point;
  private stmin: number;
  private stmax: number;
  private width: number;
  private width1: number;
  private stp: number;

  constructor(f0: number, g0: number, firstStep: number, opts: LineSearchOptions) {
    if (!(g0 < 0)) throw new RangeError(`line search: the direction is not a descent direction (φ'(0) = ${g0})`);
    if (!(firstStep >= opts.stpmin && firstStep <= opts.stpmax)) {
      throw new RangeError(`line search: first step ${firstStep} outside [${opts.stpmin}, ${opts.stpmax}]`);
    }
    if (!(opts.ftol >= 0 && opts.gtol >= 0 && opts.xtol >= 0 && opts.stpmin >= 0 && opts.stpmax >= opts.stpmin)) {
      throw new RangeError('line search: invalid tolerances');
    }
    this.opts = opts;
    this.finit = f0;
    this.ginit = g0;
    this.gtest = opts.ftol * g0;
    this.width = opts.stpmax - opts.stpmin;
    this.width1 = 2 * this.width;
    this.x = { stp: 0, f: f0, g: g0 };
    this.y = { stp: 0, f: f0, g: g0 };
    this.stmin = 0;
    this.stmax = firstStep + XTRAP_UPPER * firstStep;
    this.stp = firstStep;
  }

  /** The first step to evaluate. */
  get firstStep(): number {
    return this.stp;
  }

  /** Given φ(step) and φ'(step) at the step last asked for, says what to do next. */
  next(f: number, g: number): LineSearchStatus {
    const { gtol, xtol, stpmin, stpmax } = this.opts;
    const stp = this.stp;
    const ftest = this.finit + stp * this.gtest;
    if (this.stage === 1 && f <= ftest && g >= 0) this.stage = 2;

    // Convergence wins over every warning; among the warnings a bound reached wins over a
    // stalled interval.
    if (f <= ftest && Math.abs(g) <= gtol * -this.ginit) return { kind: 'converged', step: stp };
    if (stp === stpmin && (f > ftest || g >= this.gtest)) return { kind: 'warning', step: stp, reason: 'step is at the lower bound' };
    if (stp === stpmax && f <= ftest && g <= this.gtest) return { kind: 'warning', step: stp, reason: 'step is at the upper bound' };
    if (this.bracketed && this.stmax - this.stmin <= xtol * this.stmax) {
      return { kind: 'warning', step: stp, reason: 'interval of uncertainty below xtol' };
    }
    if (this.bracketed && (stp <= this.stmin || stp >= this.stmax)) {
      return { kind: 'warning', step: stp, reason: 'rounding errors prevent progress' };
    }

    const trial: Point = { stp, f, g };
    if (this.stage === 1 && f <= this.x.f && f > ftest) {
      // While ψ is the function of interest, interpolate ψ rather than φ (the paper's modified
      // updating algorithm): shift values and slopes by the sufficient-decrease line.
      const shift = (p: Point): Point => ({ stp: p.stp, f: p.f - p.stp * this.gtest, g: p.g - this.gtest });
      const unshift = (p: Point): Point => ({ stp: p.stp, f: p.f + p.stp * this.gtest, g: p.g + this.gtest });
      const r = safeguardedStep(shift(this.x), shift(this.y), shift(trial), this.bracketed, this.stmin, this.stmax);
      this.x = unshift(r.x);
      this.y = unshift(r.y);
      this.bracketed = r.bracketed;
      this.stp = r.stp;
    } else {
      const r = safeguardedStep(this.x, this.y, trial, this.bracketed, this.stmin, this.stmax);
      this.x = r.x;
      this.y = r.y;
      this.bracketed = r.bracketed;
      this.stp = r.stp;
    }

    if (this.bracketed) {
      // Force a sufficient shrink of the interval: bisect when the last two steps did not.
      const w = Math.abs(this.y.stp - this.x.stp);
      if (w >= SHRINK * this.width1) this.stp = this.x.stp + 0.5 * (this.y.stp - this.x.stp);
      this.width1 = this.width;
      this.width = w;
      this.stmin = Math.min(this.x.stp, this.y.stp);
      this.stmax = Math.max(this.x.stp, this.y.stp);
    } else {
      this.stmin = this.stp + XTRAP_LOWER * (this.stp - this.x.stp);
      this.stmax = this.stp + XTRAP_UPPER * (this.stp - this.x.stp);
    }
    this.stp = Math.min(Math.max(this.stp, stpmin), stpmax);
    // If no progress is possible, fall back to the best step so far (the caller then gets a
    // warning at that step on the next call).
    if ((this.bracketed && (this.stp <= this.stmin || this.stp >= this.stmax)) ||
        (this.bracketed && this.stmax - this.stmin <= xtol * this.stmax)) {
      this.stp = this.x.stp;
    }
    return { kind: 'evaluate', step: this.stp };
  }
}

interface StepResult {
  x: Point;
  y: Point;
  stp: number;
  bracketed: boolean;
}

/**
 * One safeguarded trial-step choice (the paper's Section 4): `x` is the end with the lowest value
 * so far, `y` the other end, `t` the latest trial. Returns the updated interval and the next step.
 */
function safeguardedStep(x: Point, y: Point, t: Point, bracketed: boolean, stpmin: number, stpmax: number): StepResult {
  // Do the slopes at x and at the trial point have opposite signs?
  const opposite = t.g * Math.sign(x.g) < 0;
  let stpf: number;
  let nowBracketed = bracketed;

  if (t.f > x.f) {
    // Case 1: a higher value: the minimiser is bracketed. Take the cubic step if it is closer to
    // x than the quadratic one (which uses f and the slope at x only), else their mean.
    const cubic = cubicMinimizer(x, t);
    const quad = x.stp + ((x.g / ((x.f - t.f) / (t.stp - x.stp) + x.g)) / 2) * (t.stp - x.stp);
    stpf = Math.abs(cubic - x.stp) < Math.abs(quad - x.stp) ? cubic : cubic + (quad - cubic) / 2;
    nowBracketed = true;
  } else if (opposite) {
    // Case 2: lower value, slopes of opposite signs: bracketed. The step farther from the trial of
    // the cubic and the secant step.
    const cubic = cubicMinimizer(t, x);
    const secant = t.stp + (t.g / (t.g - x.g)) * (x.stp - t.stp);
    stpf = Math.abs(cubic - t.stp) > Math.abs(secant - t.stp) ? cubic : secant;
    nowBracketed = true;
  } else if (Math.abs(t.g) < Math.abs(x.g)) {
    // Case 3: lower value, same slope sign, the slope decreases in magnitude. The cubic may have
    // no minimiser in the direction of the step; then extrapolate to the bound.
    const theta = (3 * (x.f - t.f)) / (t.stp - x.stp) + x.g + t.g;
    const s = Math.max(Math.abs(theta), Math.abs(x.g), Math.abs(t.g));
    let gamma = s * Math.sqrt(Math.max(0, (theta / s) * (theta / s) - (x.g / s) * (t.g / s)));
    if (t.stp > x.stp) gamma = -gamma;
    const p = gamma - t.g + theta;
    const q = gamma + (x.g - t.g) + gamma;
    const r = p / q;
    let cubic: number;
    if (r < 0 && gamma !== 0) cubic = t.stp + r * (x.stp - t.stp);
    else cubic = t.stp > x.stp ? stpmax : stpmin;
    const secant = t.stp + (t.g / (t.g - x.g)) * (x.stp - t.stp);
    if (bracketed) {
      // Closer of the two to the trial, but not beyond 2/3 of the way to y.
      stpf = Math.abs(cubic - t.stp) < Math.abs(secant - t.stp) ? cubic : secant;
      const limit = t.stp + SHRINK * (y.stp - t.stp);
      stpf = t.stp > x.stp ? Math.min(limit, stpf) : Math.max(limit, stpf);
    } else {
      stpf = Math.abs(cubic - t.stp) > Math.abs(secant - t.stp) ? cubic : secant;
      stpf = Math.max(stpmin, Math.min(stpmax, stpf));
    }
  } else if (bracketed) {
    // Case 4: lower value, same slope sign, the slope does not decrease: the cubic through the
    // trial and y, when bracketed; else go to the bound.
    stpf = cubicMinimizer(t, y);
  } else {
    stpf = t.stp > x.stp ? stpmax : stpmin;
  }

  let nx = x;
  let ny = y;
  if (t.f > x.f) {
    ny = t;
  } else {
    if (opposite) ny = x;
    nx = t;
  }
  return { x: nx, y: ny, stp: stpf, bracketed: nowBracketed };
}

/**
 * The minimiser of the cubic interpolating values and slopes at `a` and `b`, written relative to
 * `a` (so that the formula stays accurate when b is far from a), scaled by s to avoid overflow.
 */
function cubicMinimizer(a: Point, b: Point): number {
  const theta = (3 * (a.f - b.f)) / (b.stp - a.stp) + a.g + b.g;
  const s = Math.max(Math.abs(theta), Math.abs(a.g), Math.abs(b.g));
  let gamma = s * Math.sqrt(Math.max(0, (theta / s) * (theta / s) - (a.g / s) * (b.g / s)));
  if (b.stp < a.stp) gamma = -gamma;
  const p = gamma - a.g + theta;
  const q = gamma - a.g + gamma + b.g;
  return a.stp + (p / q) * (b.stp - a.stp);
}
