// clip-ts linear-probe: the CLIP paper's linear-probe evaluation on an image set.
import { LazyModel, loadLabelledFeatures } from '../eval/feature-source.js';
import type { FeatureSet } from '../eval/features.js';
import { linearProbe, type LinearProbeResult } from '../eval/linear-probe.js';
import { native } from '../tensor/index.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { UsageError, numberOption, parseArgs, type ParsedArgs } from './args.js';
import { progressPrinter } from './features.js';

export const usage = `usage: clip-ts linear-probe [--model NAME|PATH] --train DIR|CSV|FEATURES --test DIR|CSV|FEATURES
                           [--val DIR|CSV|FEATURES | --val-split 0.2] [--C VALUE] [--seed N]
                           [--max-iter 1000] [--features-dir DIR] [--json] [--out FILE.json]
                           [--batch-size N] [--workers N] [--threads N]

Fits L2-regularised logistic regression (scikit-learn's LogisticRegression(C, max_iter=1000)
objective, solved by L-BFGS) on the image features of --train and reports top-1 and mean
per-class accuracy on --test. Without --C, C is chosen on a validation set (--val, or a stratified
--val-split of --train, seeded by --seed) by the paper's search over 1e-6 … 1e6, then the model is
refitted on train + validation. Sets are ImageFolder trees (DIR/CLASS/image.jpg), filepath,label
CSVs, or feature files from \`clip-ts features\` (--features FILE is the same as --train FILE).
--features-dir caches the features of image sets there. --json prints
{"accuracy", "mean_per_class", "classes", "predictions": [{"image", "label", "probabilities"}], …};
--out writes the same JSON to a file. --model defaults to the bundled model.`;

export const LINEAR_PROBE_OPTIONS = {
  model: { type: 'string', short: 'm' }, train: { type: 'string' }, features: { type: 'string' }, test: { type: 'string' },
  val: { type: 'string' }, 'val-split': { type: 'string' }, C: { type: 'string' }, seed: { type: 'string' },
  'max-iter': { type: 'string' }, 'features-dir': { type: 'string' }, json: { type: 'flag' }, out: { type: 'string', short: 'o' },
  'batch-size': { type: 'string' }, workers: { type: 'string' }, threads: { type: 'string' }, 'cache-dir': { type: 'string' },
} as const;

export interface ProbeInputs {
  model: LazyModel;
  train: FeatureSet;
  test: FeatureSet;
  val?: FeatureSet;
}

/** Reads --train/--features, --test and --val (shared with few-shot). */
export async function loadProbeInputs(args: ParsedArgs, command: string): Promise<ProbeInputs> {
  const trainSrc = args.values.get('train') ?? args.values.get('features');
  if (args.values.has('train') && args.values.has('features')) throw new UsageError('give --train or --features, not both');
  if (trainSrc === undefined) throw new UsageError('--train DIR|CSV|FEATURES (or --features FILE) is required');
  const testSrc = args.values.get('test');
  if (testSrc === undefined) throw new UsageError('--test DIR|CSV|FEATURES is required');
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  if (threads > 0) native().setThreads(threads);
  const batchSize = numberOption(args, 'batch-size', 32, { min: 1, integer: true });
  const workers = numberOption(args, 'workers', -1, { min: 0, integer: true });
  const model = new LazyModel(args.values.get('model'), args.values.get('cache-dir'));
  const featuresDir = args.values.get('features-dir');
  const common = {
    batchSize, ...(workers >= 0 ? { workers } : {}), ...(featuresDir !== undefined ? { featuresDir } : {}),
    onCache: (file: string, reused: boolean) => process.stderr.write(`clip-ts ${command}: ${reused ? 'reused' : 'cached'} features ${file}\n`),
  };
  const train = await loadLabelledFeatures(trainSrc, model, { ...common, onProgress: progressPrinter(`clip-ts ${command}: encoding ${trainSrc}`) });
  const aligned = { ...common, classes: train.header.classes };
  const test = await loadLabelledFeatures(testSrc, model, { ...aligned, onProgress: progressPrinter(`clip-ts ${command}: encoding ${testSrc}`) });
  const valSrc = args.values.get('val');
  const val = valSrc !== undefined
    ? await loadLabelledFeatures(valSrc, model, { ...aligned, onProgress: progressPrinter(`clip-ts ${command}: encoding ${valSrc}`) })
    : undefined;
  if (train.header.dim !== test.header.dim || (val !== undefined && val.header.dim !== train.header.dim)) {
    throw new Error(`the feature sets have different dimensions (train ${train.header.dim}, test ${test.header.dim}${val !== undefined ? `, val ${val.header.dim}` : ''}): were they made with different models?`);
  }
  return { model, train, test, ...(val !== undefined ? { val } : {}) };
}

/** The JSON report: the documented fields first, then the details of the fit. */
export function probeReport(inputs: ProbeInputs, r: LinearProbeResult): Record<string, unknown> {
  const classes = inputs.train.header.classes;
  const K = classes.length;
  return {
    accuracy: r.accuracy,
    mean_per_class: r.meanPerClass,
    classes,
    predictions: inputs.test.header.paths.map((image, i) => ({
      image,
      label: classes[inputs.test.labels[i]],
      probabilities: Array.from(r.probabilities.subarray(i * K, (i + 1) * K)),
    })),
    C: r.C,
    ...(r.sweep !== undefined ? { sweep: r.sweep } : {}),
    fit: r.fit,
    train_images: inputs.train.header.count + (inputs.val?.header.count ?? 0),
    test_images: inputs.test.header.count,
    model: inputs.train.header.model.file,
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, LINEAR_PROBE_OPTIONS);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const fixedC = args.values.has('C') ? numberOption(args, 'C', 1, { min: Number.MIN_VALUE }) : undefined;
  if (fixedC !== undefined && args.values.has('val')) throw new UsageError('--val is only used to choose C; it makes no sense with --C');
  const valSplit = numberOption(args, 'val-split', 0.2, { min: 0, max: 1 });
  if (!(valSplit > 0 && valSplit < 1)) throw new UsageError(`--val-split must be strictly between 0 and 1, got ${valSplit}`);
  const seed = numberOption(args, 'seed', 0, { integer: true, min: 0 });
  const maxIter = numberOption(args, 'max-iter', 1000, { integer: true, min: 1 });

  const inputs = await loadProbeInputs(args, 'linear-probe');
  const { train, test, val } = inputs;
  const K = train.header.classes.length;
  process.stderr.write(`clip-ts linear-probe: ${train.header.count} training and ${test.header.count} test images, ${K} classes, ${train.header.dim}-d features\n`);
  const t0 = Date.now();
  const r = linearProbe(
    { features: train.features, labels: train.labels },
    { features: test.features, labels: test.labels },
    K,
    {
      maxIterations: maxIter, seed, valSplit,
      ...(fixedC !== undefined ? { C: fixedC } : {}),
      ...(val !== undefined ? { val: { features: val.features, labels: val.labels } } : {}),
      onSweepPoint: (p) => process.stderr.write(`clip-ts linear-probe: C = ${p.C.toPrecision(4)}: validation accuracy ${p.accuracy.toFixed(2)} % (${p.iterations} iterations)\n`),
    },
  );
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  process.stderr.write(`clip-ts linear-probe: C = ${r.C.toPrecision(4)}${r.sweep !== undefined ? ' (chosen on validation)' : ''}, ` +
    `fit: ${r.fit.iterations} iterations, ${r.fit.converged ? 'converged' : `not converged (${r.fit.reason})`}, ${secs} s\n`);
  const report = probeReport(inputs, r);
  const out = args.values.get('out');
  if (out !== undefined) writeTextAtomic(out, JSON.stringify(report, null, 1) + '\n');
  if (args.flags.has('json')) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    process.stdout.write(`top-1 accuracy ${r.accuracy.toFixed(2)} %, mean per-class accuracy ${r.meanPerClass.toFixed(2)} % ` +
      `(${test.header.count} test images, ${K} classes, C = ${r.C.toPrecision(4)})\n`);
  }
  return 0;
}
