// Few-shot linear probes (the CLIP paper's Figure 6): for k = 1, 2, 4, 8, 16 examples per class
// and several random draws (seeds), fit logistic regression on the k·classes training features and
// score the whole test set; report mean ± standard deviation over the seeds. Draws are nested
// (the k = 2 sample of a seed contains its k = 1 sample, and so on), so the curve of one seed
// shows the effect of more data rather than of a different draw.
//
// Choosing C: a fixed C when given; otherwise, for k ≥ 2, the paper's coarse-to-fine search scored
// by 2-fold cross-validation over the shots (each fold holds half of every class's k examples);
// with k = 1 no example can be held out, so `oneShotC` is used.
import { selectRows } from './feature-matrix.js';
import { searchC, validationScorer, type LabelledFeatures, type SweepPoint } from './linear-probe.js';
import { argmaxRows, fitLogisticRegression } from './logistic-regression.js';
import { meanPerClassAccuracy, meanStd, top1Accuracy } from './metrics.js';
import { indicesByClass, sampleShots } from './sampling.js';

export interface FewShotOptions {
  /** Examples per class. Default [1, 2, 4, 8, 16]. */
  shots?: readonly number[];
  /** The seeds of the draws. Default [0, 1, 2]. */
  seeds?: readonly number[];
  /** A fixed C for every fit (no cross-validation). */
  C?: number;
  /** C for k = 1 when C is not fixed. Default 1. */
  oneShotC?: number;
  /** Resolution of the C search, in steps per decade. Default 2 (few-shot scores are noisy). */
  stepsPerDecade?: number;
  maxIterations?: number;
  tol?: number;
  onRun?: (run: FewShotRun) => void;
}

export interface FewShotRun {
  shots: number;
  seed: number;
  C: number;
  /** Test top-1 and mean per-class accuracy, percent. */
  accuracy: number;
  meanPerClass: number;
  iterations: number;
  converged: boolean;
}

export interface FewShotSummary {
  shots: number;
  seeds: number;
  accuracy: { mean: number; std: number };
  meanPerClass: { mean: number; std: number };
}

export interface FewShotResult {
  runs: FewShotRun[];
  summary: FewShotSummary[];
}

export const DEFAULT_SHOTS: readonly number[] = [1, 2, 4, 8, 16];

/** Cross-validated C for one k-shot sample: fold f holds out the shots at positions ≡ f (mod 2). */
function crossValidatedC(train: LabelledFeatures, rows: number[], numClasses: number, opts: FewShotOptions): number {
  const byClass = indicesByClass(rows.map((r) => train.labels[r]), numClasses).map((ix) => ix.map((i) => rows[i]));
  const folds = [0, 1].map((f) => {
    const inVal = (pos: number): boolean => pos % 2 === f;
    const tr = byClass.flatMap((rs) => rs.filter((_, pos) => !inVal(pos)));
    const va = byClass.flatMap((rs) => rs.filter((_, pos) => inVal(pos)));
    const part = (ix: number[]): LabelledFeatures => ({ features: selectRows(train.features, ix), labels: ix.map((i) => train.labels[i]) });
    return validationScorer(part(tr), part(va), numClasses, { maxIterations: opts.maxIterations, tol: opts.tol });
  });
  const r = searchC((C: number): SweepPoint => {
    const ps = folds.map((score) => score(C));
    return {
      C,
      accuracy: ps.reduce((a, p) => a + p.accuracy, 0) / ps.length,
      loss: ps.reduce((a, p) => a + p.loss, 0) / ps.length,
      iterations: ps.reduce((a, p) => a + p.iterations, 0),
      converged: ps.every((p) => p.converged),
    };
  }, { stepsPerDecade: opts.stepsPerDecade ?? 2 });
  return r.bestC;
}

/** Runs every (k, seed) probe and summarises per k. */
export function fewShotEvaluation(train: LabelledFeatures, test: LabelledFeatures, classes: readonly string[],
  opts: FewShotOptions = {}): FewShotResult {
  const shots = [...(opts.shots ?? DEFAULT_SHOTS)];
  const seeds = [...(opts.seeds ?? [0, 1, 2])];
  if (shots.length === 0) throw new RangeError('few-shot: no shot counts');
  if (seeds.length === 0) throw new RangeError('few-shot: no seeds');
  if (test.features.rows === 0) throw new Error('few-shot: the test set is empty');
  if (train.features.dim !== test.features.dim) {
    throw new Error(`few-shot: training features have ${train.features.dim} dimensions, test features ${test.features.dim} (different models?)`);
  }
  const numClasses = classes.length;
  const present = indicesByClass(train.labels, numClasses).filter((r) => r.length > 0).length;
  if (present < 2) throw new Error('few-shot: the training set must hold at least two classes');
  const runs: FewShotRun[] = [];
  for (const k of shots) {
    for (const seed of seeds) {
      const rows = sampleShots(train.labels, classes, k, seed);
      let C = opts.C;
      if (C === undefined) C = k >= 2 ? crossValidatedC(train, rows, numClasses, opts) : (opts.oneShotC ?? 1);
      const { model, report } = fitLogisticRegression(selectRows(train.features, rows), rows.map((r) => train.labels[r]), numClasses, {
        C, ...(opts.maxIterations !== undefined ? { maxIterations: opts.maxIterations } : {}),
        ...(opts.tol !== undefined ? { tol: opts.tol } : {}),
      });
      const pred = argmaxRows(model.predictProba(test.features), test.features.rows, numClasses);
      const run: FewShotRun = {
        shots: k, seed, C,
        accuracy: top1Accuracy(pred, test.labels),
        meanPerClass: meanPerClassAccuracy(pred, test.labels, numClasses),
        iterations: report.iterations, converged: report.converged,
      };
      runs.push(run);
      opts.onRun?.(run);
    }
  }
  const summary = shots.map((k): FewShotSummary => {
    const rs = runs.filter((r) => r.shots === k);
    return {
      shots: k, seeds: rs.length,
      accuracy: meanStd(rs.map((r) => r.accuracy)),
      meanPerClass: meanStd(rs.map((r) => r.meanPerClass)),
    };
  });
  return { runs, summary };
}
