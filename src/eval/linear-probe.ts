// The CLIP paper's linear-probe protocol (Appendix A.3): logistic regression on frozen image
// features, its L2 strength chosen on a validation split by a parametric search over
// C ∈ [1e-6, 1e6] (log-spaced start points 1e-6, 1e-4, …, 1e6, then repeatedly halving the step
// around the best point down to 8 steps per decade), refitted on train + validation with the
// chosen C, and scored on the test set (top-1 and mean per-class accuracy).
import { selectRows, type FeatureMatrix } from './feature-matrix.js';
import {
  argmaxRows, fitLogisticRegression, type FitReport, type LogisticRegressionModel,
} from './logistic-regression.js';
import { meanPerClassAccuracy, top1Accuracy } from './metrics.js';
import { stratifiedSplit } from './sampling.js';

export interface LabelledFeatures {
  features: FeatureMatrix;
  labels: ArrayLike<number>;
}

export interface SweepPoint {
  C: number;
  /** Validation top-1, percent. */
  accuracy: number;
  /** Mean validation log-loss (breaks accuracy ties: the better-calibrated C wins). */
  loss: number;
  iterations: number;
  converged: boolean;
}

export interface SweepOptions {
  /** log10 of the smallest and largest C. Default −6 and 6. */
  minLog10C?: number;
  maxLog10C?: number;
  /** Spacing of the start grid, in decades. Default 2. */
  initialStep?: number;
  /** Resolution at which refinement stops, in steps per decade. Default 8. */
  stepsPerDecade?: number;
  maxIterations?: number;
  tol?: number;
  /** Start each fit from the fitted model of the nearest C already tried (much faster; default true). */
  warmStart?: boolean;
  onPoint?: (p: SweepPoint) => void;
}

export interface SweepResult {
  bestC: number;
  /** Every C tried, in the order tried. */
  points: SweepPoint[];
}

/** Mean −log p(true class) over the rows, with p floored to avoid infinities. */
function meanLogLoss(proba: Float64Array, labels: ArrayLike<number>, numClasses: number): number {
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(Math.max(proba[i * numClasses + labels[i]], 1e-300));
  return s / labels.length;
}

function better(a: SweepPoint, b: SweepPoint): boolean {
  if (a.accuracy !== b.accuracy) return a.accuracy > b.accuracy;
  return a.loss < b.loss;
}

/** Scores one C: validation accuracy and loss of a model fitted with it. */
export type CScorer = (C: number) => SweepPoint;

/**
 * The paper's coarse-to-fine search over log10 C: the start grid lo, lo + step, …, hi, then,
 * repeatedly, halve the step and try the two neighbours of the best point so far, until the
 * step reaches 1/stepsPerDecade. Returns the best C (accuracy, then lower loss) and every point.
 */
export function searchC(score: CScorer, opts: Omit<SweepOptions, 'maxIterations' | 'tol' | 'warmStart'> = {}): SweepResult {
  const lo = opts.minLog10C ?? -6;
  const hi = opts.maxLog10C ?? 6;
  const finest = 1 / (opts.stepsPerDecade ?? 8);
  let step = opts.initialStep ?? 2;
  if (!(hi >= lo) || !(step > 0) || !(finest > 0)) throw new RangeError('C search: bad range or step');
  const tried = new Map<number, SweepPoint>();
  // Exponents are kept as multiples of the finest step, so that the same C is never fitted twice.
  const key = (e: number): number => Math.round(e / finest) * finest;
  const tryExponent = (e: number): void => {
    const k = key(e);
    if (tried.has(k) || k < lo - 1e-9 || k > hi + 1e-9) return;
    const point = score(10 ** k);
    tried.set(k, point);
    opts.onPoint?.(point);
  };
  const bestKey = (): number => {
    let best: number | undefined;
    for (const [k, p] of tried) if (best === undefined || better(p, tried.get(best) as SweepPoint)) best = k;
    return best as number;
  };
  for (let e = lo; e <= hi + 1e-9; e += step) tryExponent(e);
  while (step > finest + 1e-12) {
    step /= 2;
    const b = bestKey();
    tryExponent(b - step);
    tryExponent(b + step);
  }
  return { bestC: (tried.get(bestKey()) as SweepPoint).C, points: [...tried.values()] };
}

/**
 * A scorer that fits on `train` and scores on `val`; with warmStart each fit starts from the
 * model of the nearest C (in log scale) fitted so far by this scorer.
 */
export function validationScorer(train: LabelledFeatures, val: LabelledFeatures, numClasses: number,
  opts: Pick<SweepOptions, 'maxIterations' | 'tol' | 'warmStart'> = {}): CScorer {
  if (val.labels.length === 0) throw new Error('the validation split is empty: give C explicitly or more images per class');
  const models = new Map<number, LogisticRegressionModel>();
  return (C: number): SweepPoint => {
    let init: LogisticRegressionModel | undefined;
    if (opts.warmStart ?? true) {
      let bestDist = Infinity;
      for (const [c, m] of models) {
        const dist = Math.abs(Math.log10(c) - Math.log10(C));
        if (dist < bestDist) { bestDist = dist; init = m; }
      }
    }
    const { model, report } = fitLogisticRegression(train.features, train.labels, numClasses, {
      C, ...(opts.maxIterations !== undefined ? { maxIterations: opts.maxIterations } : {}),
      ...(opts.tol !== undefined ? { tol: opts.tol } : {}),
      ...(init !== undefined ? { warmStart: init } : {}),
    });
    models.set(C, model);
    const proba = model.predictProba(val.features);
    const pred = argmaxRows(proba, val.features.rows, numClasses);
    return {
      C, accuracy: top1Accuracy(pred, val.labels), loss: meanLogLoss(proba, val.labels, numClasses),
      iterations: report.iterations, converged: report.converged,
    };
  };
}

/** Chooses C by validation accuracy with the paper's coarse-to-fine search. */
export function sweepC(train: LabelledFeatures, val: LabelledFeatures, numClasses: number, opts: SweepOptions = {}): SweepResult {
  return searchC(validationScorer(train, val, numClasses, opts), opts);
}

export interface LinearProbeOptions extends Omit<SweepOptions, 'onPoint'> {
  /** A fixed C: no validation sweep. */
  C?: number;
  /** Fraction of each class held out for the sweep when no `val` set is given. Default 0.2. */
  valSplit?: number;
  /** An explicit validation set instead of a split of `train`. */
  val?: LabelledFeatures;
  /** Seed of the validation split. Default 0. */
  seed?: number;
  onSweepPoint?: (p: SweepPoint) => void;
}

export interface LinearProbeResult {
  C: number;
  /** Present when C was chosen by the sweep. */
  sweep?: SweepPoint[];
  /** The final fit (on train + validation). */
  fit: FitReport;
  model: LogisticRegressionModel;
  /** Test-set top-1 and mean per-class accuracy, percent. */
  accuracy: number;
  meanPerClass: number;
  /** [test rows, numClasses]. */
  probabilities: Float64Array;
  predictions: Int32Array;
}

/** Runs the protocol: sweep (unless C is given), refit on all training data, score the test set. */
export function linearProbe(train: LabelledFeatures, test: LabelledFeatures, numClasses: number,
  opts: LinearProbeOptions = {}): LinearProbeResult {
  if (train.features.rows === 0) throw new Error('linear probe: the training set is empty');
  if (test.features.rows === 0) throw new Error('linear probe: the test set is empty');
  if (train.features.dim !== test.features.dim) {
    throw new Error(`linear probe: training features have ${train.features.dim} dimensions, test features ${test.features.dim} (different models?)`);
  }
  const fitOpts = {
    ...(opts.maxIterations !== undefined ? { maxIterations: opts.maxIterations } : {}),
    ...(opts.tol !== undefined ? { tol: opts.tol } : {}),
  };
  let C = opts.C;
  let sweep: SweepPoint[] | undefined;
  let final: LabelledFeatures = train;
  if (C === undefined) {
    let sweepTrain: LabelledFeatures;
    let sweepVal: LabelledFeatures;
    if (opts.val !== undefined) {
      sweepTrain = train;
      sweepVal = opts.val;
      final = concat(train, opts.val);
    } else {
      const split = stratifiedSplit(train.labels, numClasses, opts.valSplit ?? 0.2, opts.seed ?? 0);
      if (split.val.length === 0) throw new Error('linear probe: the validation split is empty (each class needs at least 2 images); give C explicitly');
      sweepTrain = { features: selectRows(train.features, split.train), labels: split.train.map((i) => train.labels[i]) };
      sweepVal = { features: selectRows(train.features, split.val), labels: split.val.map((i) => train.labels[i]) };
    }
    const r = sweepC(sweepTrain, sweepVal, numClasses, { ...opts, ...(opts.onSweepPoint !== undefined ? { onPoint: opts.onSweepPoint } : {}) });
    C = r.bestC;
    sweep = r.points;
  }
  const { model, report } = fitLogisticRegression(final.features, final.labels, numClasses, { C, ...fitOpts });
  const probabilities = model.predictProba(test.features);
  const predictions = argmaxRows(probabilities, test.features.rows, numClasses);
  return {
    C, ...(sweep !== undefined ? { sweep } : {}), fit: report, model,
    accuracy: top1Accuracy(predictions, test.labels),
    meanPerClass: meanPerClassAccuracy(predictions, test.labels, numClasses),
    probabilities, predictions,
  };
}

function concat(a: LabelledFeatures, b: LabelledFeatures): LabelledFeatures {
  if (a.features.dim !== b.features.dim) throw new Error('linear probe: training and validation features differ in dimension');
  const data = new Float64Array((a.features.rows + b.features.rows) * a.features.dim);
  data.set(a.features.data, 0);
  data.set(b.features.data, a.features.rows * a.features.dim);
  return {
    features: { data, rows: a.features.rows + b.features.rows, dim: a.features.dim },
    labels: [...Array.from(a.labels), ...Array.from(b.labels)],
  };
}
