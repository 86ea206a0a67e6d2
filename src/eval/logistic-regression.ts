// L2-regularised logistic regression on frozen features, the classifier of CLIP's linear probes,
// solved with our L-BFGS so that it lands where scikit-learn 1.2.1's
// `LogisticRegression(C, solver='lbfgs', max_iter)` lands. Its objective (sklearn 1.2.1's
// `LinearModelLoss.loss_gradient` with l2_reg_strength = 1/C) is
//
//     Σᵢ logloss(xᵢ·Wᵀ + b, yᵢ) + ‖W‖² / (2C)        (intercept b not penalised)
//
// which is the documented 0.5‖W‖² + C·Σ logloss divided by C; the scale matters because the
// stopping tolerance gtol = tol applies to this gradient. With two classes scikit-learn's
// multi_class='auto' is the binary model: one coefficient row w for the second class and a
// sigmoid, P(class 1) = σ(x·w + b). With more classes it is the (over-parametrised) softmax over
// one row per class.
//
// The products X·Wᵀ and Gᵀ·X go through the native core's float64 GEMM; everything is float64.
import { native } from '../tensor/index.js';
import { toFloat64, type FeatureMatrix } from './feature-matrix.js';
import { minimizeLbfgs, type LbfgsIteration, type LbfgsStopReason } from './lbfgs.js';
import { argmaxRows } from '../util/argmax.js';

export interface LogisticRegressionOptions {
  /** Inverse regularisation strength (scikit-learn's C), > 0. */
  C: number;
  /** Default 1000 (the CLIP protocol; scikit-learn's own default is 100). */
  maxIterations?: number;
  /** Gradient tolerance (scikit-learn's tol, passed to L-BFGS-B as gtol). Default 1e-4. */
  tol?: number;
  /** Start from this model's parameters (same classes and dimension), e.g. a neighbouring C. */
  warmStart?: LogisticRegressionModel;
  onIteration?: (info: LbfgsIteration) => void;
}

export interface FitReport {
  C: number;
  iterations: number;
  evaluations: number;
  /** The objective above at the solution. */
  objective: number;
  /** max|∂objective/∂θ| at the solution. */
  gradientNorm: number;
  reason: LbfgsStopReason;
  converged: boolean;
}

export interface FitResult {
  model: LogisticRegressionModel;
  report: FitReport;
}

/** A fitted classifier over `numClasses` classes; classes absent from training get probability 0. */
export class LogisticRegressionModel {
  /** Columns of predictProba: classes 0 … numClasses−1. */
  readonly numClasses: number;
  readonly dim: number;
  /** The classes seen in training, ascending: the classes the model can predict. */
  readonly fittedClasses: Int32Array;
  /** One coefficient row (binary model, for fittedClasses[1]) or one per fitted class. */
  readonly coef: Float64Array;
  readonly intercept: Float64Array;

  constructor(numClasses: number, dim: number, fittedClasses: Int32Array, coef: Float64Array, intercept: Float64Array) {
    const rows = fittedClasses.length === 2 ? 1 : fittedClasses.length;
    if (fittedClasses.length < 2) throw new RangeError('a logistic regression model needs at least two fitted classes');
    if (coef.length !== rows * dim || intercept.length !== rows) {
      throw new RangeError(`coefficients [${coef.length}] / intercept [${intercept.length}] do not match ${rows} × ${dim}`);
    }
    for (const c of fittedClasses) if (c < 0 || c >= numClasses) throw new RangeError(`fitted class ${c} outside [0, ${numClasses})`);
    this.numClasses = numClasses;
    this.dim = dim;
    this.fittedClasses = fittedClasses;
    this.coef = coef;
    this.intercept = intercept;
  }

  /** True for the two-class model (one coefficient row, sigmoid). */
  get binary(): boolean {
    return this.fittedClasses.length === 2;
  }

  /** x·Wᵀ + b for each row: [rows, coefficient rows]. */
  decisionFunction(x: FeatureMatrix): Float64Array {
    if (x.dim !== this.dim) throw new RangeError(`features have ${x.dim} dimensions, the model ${this.dim}`);
    const X = toFloat64(x).data;
    const k = this.intercept.length;
    const z = new Float64Array(x.rows * k);
    if (x.rows === 0) return z;
    native().gemm(false, true, x.rows, k, this.dim, 1, X, this.dim, this.coef, this.dim, 0, z, k);
    native().addBias(z, this.intercept, x.rows, k);
    return z;
  }

  /** Class probabilities [rows, numClasses] (predict_proba). */
  predictProba(x: FeatureMatrix): Float64Array {
    const z = this.decisionFunction(x);
    const K = this.numClasses;
    const out = new Float64Array(x.rows * K);
    const cls = this.fittedClasses;
    if (this.binary) {
      for (let i = 0; i < x.rows; i++) {
        const p1 = sigmoid(z[i]);
        out[i * K + cls[0]] = 1 - p1;
        out[i * K + cls[1]] = p1;
      }
      return out;
    }
    const k = cls.length;
    for (let i = 0; i < x.rows; i++) {
      const row = i * k;
      let m = -Infinity;
      for (let j = 0; j < k; j++) if (z[row + j] > m) m = z[row + j];
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(z[row + j] - m);
      for (let j = 0; j < k; j++) out[i * K + cls[j]] = Math.exp(z[row + j] - m) / sum;
    }
    return out;
  }

  /** The most probable class of each row (the first on ties, as numpy's argmax). */
  predict(x: FeatureMatrix): Int32Array {
    return argmaxRows(this.predictProba(x), x.rows, this.numClasses);
  }
}

export { argmaxRows };

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + eᶻ) without overflow or loss of precision. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/**
 * The objective and its gradient over θ = [W (rows × D, row-major), b (rows)], with buffers
 * allocated once for the whole solve.
 */
class LogisticObjective {
  private readonly z: Float64Array;
  /** Softmax probabilities (multinomial model only). */
  private readonly probs: Float64Array;
  readonly size: number;

  constructor(
    private readonly X: Float64Array,
    private readonly n: number,
    private readonly d: number,
    /** Index of each row's class among the fitted classes. */
    private readonly target: Int32Array,
    /** Coefficient rows: 1 (binary) or the number of fitted classes. */
    private readonly k: number,
    private readonly C: number,
  ) {
    this.z = new Float64Array(n * k);
    this.probs = new Float64Array(k > 1 ? n * k : 0);
    this.size = k * d + k;
  }

  evaluate = (theta: Float64Array, grad: Float64Array): number => {
    const { X, n, d, k, z, target } = this;
    const core = native();
    const W = theta.subarray(0, k * d);
    const b = theta.subarray(k * d);
    const gW = grad.subarray(0, k * d);
    const gb = grad.subarray(k * d);
    core.gemm(false, true, n, k, d, 1, X, d, W, d, 0, z, k);
    core.addBias(z, b, n, k);
    let loss = 0;
    // z becomes the pointwise gradient ∂loss/∂z in place.
    if (k === 1) {
      for (let i = 0; i < n; i++) {
        const zi = z[i];
        const yi = target[i];
        loss += softplus(zi) - yi * zi;
        z[i] = sigmoid(zi) - yi;
      }
    } else {
      // Softmax cross-entropy on the native core (threaded, std::exp in float64): the loss from
      // max + log Σ e^{z−max} − z_y (finite however small p_y), then ∂loss/∂z = P − onehot into z.
      loss = core.crossEntropy(z, target, n, k, this.probs) * n;
      core.crossEntropyBackward(this.probs, target, n, k, 1, z);
    }
    core.gemm(true, false, k, d, n, 1, z, k, X, d, 0, gW, d);
    core.axpby(1 / this.C, W, 1, gW);
    core.sumRows(z, n, k, gb, false);
    return loss + (0.5 / this.C) * core.sumSquares(W);
  };
}

/**
 * Fits the classifier to rows of `x` with labels in [0, numClasses). Classes with no training
 * row are left out of the model (as scikit-learn, which only knows the classes in y); at least
 * two classes must be present.
 */
export function fitLogisticRegression(x: FeatureMatrix, labels: ArrayLike<number>, numClasses: number,
  opts: LogisticRegressionOptions): FitResult {
  const { C } = opts;
  if (!(C > 0) || !Number.isFinite(C)) throw new RangeError(`C must be a positive finite number, got ${C}`);
  if (x.rows === 0) throw new Error('logistic regression: the training set is empty');
  if (labels.length !== x.rows) throw new RangeError(`logistic regression: ${labels.length} labels for ${x.rows} feature rows`);
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new RangeError(`logistic regression: numClasses must be ≥ 2, got ${numClasses}`);
  const present = new Uint8Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new RangeError(`logistic regression: label ${c} of row ${i} outside [0, ${numClasses})`);
    present[c] = 1;
  }
  const fitted: number[] = [];
  for (let c = 0; c < numClasses; c++) if (present[c] === 1) fitted.push(c);
  if (fitted.length < 2) {
    throw new Error(`logistic regression needs examples of at least two classes; the training set holds only class ${fitted[0]}`);
  }
  const fittedClasses = Int32Array.from(fitted);
  const position = new Int32Array(numClasses).fill(-1);
  fitted.forEach((c, j) => { position[c] = j; });
  const binary = fitted.length === 2;
  const k = binary ? 1 : fitted.length;
  const target = new Int32Array(x.rows);
  for (let i = 0; i < x.rows; i++) target[i] = position[labels[i]];

  const X = toFloat64(x).data;
  for (let i = 0; i < X.length; i++) {
    if (!Number.isFinite(X[i])) throw new Error(`logistic regression: feature row ${Math.floor(i / x.dim)} holds a non-finite value`);
  }
  const objective = new LogisticObjective(X, x.rows, x.dim, target, k, C);
  const theta0 = new Float64Array(objective.size);
  const warm = opts.warmStart;
  if (warm !== undefined) {
    if (warm.dim !== x.dim || warm.fittedClasses.length !== fitted.length || !warm.fittedClasses.every((c, j) => c === fitted[j])) {
      throw new RangeError('logistic regression: the warm-start model has other classes or dimensions');
    }
    theta0.set(warm.coef, 0);
    theta0.set(warm.intercept, k * x.dim);
  }
  const r = minimizeLbfgs(objective.evaluate, theta0, {
    maxIterations: opts.maxIterations ?? 1000,
    gtol: opts.tol ?? 1e-4,
    ...(opts.onIteration !== undefined ? { onIteration: opts.onIteration } : {}),
  });
  const coef = r.x.slice(0, k * x.dim);
  const intercept = r.x.slice(k * x.dim);
  const model = new LogisticRegressionModel(numClasses, x.dim, fittedClasses, coef, intercept);
  return {
    model,
    report: {
      C, iterations: r.iterations, evaluations: r.evaluations, objective: r.f, gradientNorm: r.gradientNorm,
      reason: r.reason, converged: r.converged,
    },
  };
}
