// clip-ts few-shot: k-shot linear probes against zero-shot on the same test set (the CLIP paper's
// Figure 6), with a JSON report and an SVG + PNG plot.
import { existsSync } from 'node:fs';
import { LazyModel } from '../eval/feature-source.js';
import { DEFAULT_SHOTS, fewShotEvaluation, type FewShotResult } from '../eval/few-shot.js';
import { argmaxRows } from '../eval/logistic-regression.js';
import { meanPerClassAccuracy, top1Accuracy } from '../eval/metrics.js';
import { writePlot } from '../eval/plot.js';
import { buildZeroShotClassifier } from '../eval/zeroshot.js';
import { Tensor } from '../tensor/index.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { UsageError, numberOption, parseArgs } from './args.js';
import { LINEAR_PROBE_OPTIONS, loadProbeInputs, type ProbeInputs } from './linear-probe.js';

export const usage = `usage: clip-ts few-shot [--model NAME|PATH] --train DIR|CSV|FEATURES --test DIR|CSV|FEATURES
                       [--shots 1,2,4,8,16] [--seeds 3] [--C VALUE] [--one-shot-C 1] [--no-zero-shot]
                       [--out report.json] [--plot fig.svg] [--features-dir DIR] [--max-iter 1000]
                       [--batch-size N] [--workers N] [--threads N]

For each k in --shots and each of --seeds random draws (seeds 0, 1, …), fits logistic regression
on k training images per class and scores the whole test set; prints mean ± std per k. C is
--C, else chosen per draw by 2-fold cross-validation over the shots (k = 1: --one-shot-C). Zero-shot
accuracy on the same test set (class names in the 80 ImageNet templates, mean of normalised text
embeddings, cosine argmax) is the reference, unless --no-zero-shot. --plot writes the curve as SVG
and, beside it, PNG. Sets are ImageFolder trees, filepath,label CSVs or \`clip-ts features\` files.`;

/** A class folder name as a phrase for the templates ("golden_retriever" → "golden retriever"). */
export function readableClassName(name: string): string {
  return name.replace(/[_]+/g, ' ').trim();
}

interface ZeroShotScore {
  accuracy: number;
  meanPerClass: number;
}

/** Zero-shot accuracy of the test features with the model that made them. */
function zeroShot(inputs: ProbeInputs): ZeroShotScore {
  const { test } = inputs;
  // Feature files name the model that made them: use it when no --model was given.
  const model = inputs.model.requested === undefined && existsSync(test.header.model.file)
    ? new LazyModel(test.header.model.file)
    : inputs.model;
  const { model: m } = model.get();
  if (m.config.embedDim !== test.header.dim) {
    throw new Error(`zero-shot: the model makes ${m.config.embedDim}-d embeddings but the test features are ${test.header.dim}-d (pass the --model that made them, or --no-zero-shot)`);
  }
  const classes = test.header.classes;
  const classifier = buildZeroShotClassifier(m, classes.map((c) => ({ label: c, names: [readableClassName(c)] })));
  const scores = classifier.scores(new Tensor(test.features.data, [test.header.count, test.header.dim]));
  const pred = argmaxRows(scores.logits.data, test.header.count, classes.length);
  return { accuracy: top1Accuracy(pred, test.labels), meanPerClass: meanPerClassAccuracy(pred, test.labels, classes.length) };
}

function parseShots(raw: string | undefined): number[] {
  if (raw === undefined) return [...DEFAULT_SHOTS];
  const shots = raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`--shots must be a comma-separated list of positive integers, got "${raw}"`);
    return v;
  });
  if (shots.length === 0) throw new UsageError('--shots is empty');
  return [...new Set(shots)].sort((a, b) => a - b);
}

function table(result: FewShotResult, zs: ZeroShotScore | undefined): string {
  const lines = ['| shots per class | top-1 accuracy (%) | mean per-class (%) | seeds |', '| ---: | ---: | ---: | ---: |'];
  if (zs !== undefined) lines.push(`| zero-shot | ${zs.accuracy.toFixed(2)} | ${zs.meanPerClass.toFixed(2)} | – |`);
  for (const s of result.summary) {
    lines.push(`| ${s.shots} | ${s.accuracy.mean.toFixed(2)} ± ${s.accuracy.std.toFixed(2)} | ${s.meanPerClass.mean.toFixed(2)} ± ${s.meanPerClass.std.toFixed(2)} | ${s.seeds} |`);
  }
  return lines.join('\n') + '\n';
}

export async function run(argv: string[]): Promise<number> {
  // The linear-probe options minus those of its validation sweep and its --json output.
  const probeOptions = Object.fromEntries(Object.entries(LINEAR_PROBE_OPTIONS).filter(([k]) => !['json', 'val', 'val-split', 'seed'].includes(k)));
  const args = parseArgs(argv, {
    ...probeOptions, shots: { type: 'string' }, seeds: { type: 'string' }, 'one-shot-C': { type: 'string' },
    'no-zero-shot': { type: 'flag' }, plot: { type: 'string' },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const shots = parseShots(args.values.get('shots'));
  const nSeeds = numberOption(args, 'seeds', 3, { integer: true, min: 1 });
  const fixedC = args.values.has('C') ? numberOption(args, 'C', 1, { min: Number.MIN_VALUE }) : undefined;
  const oneShotC = numberOption(args, 'one-shot-C', 1, { min: Number.MIN_VALUE });
  const maxIter = numberOption(args, 'max-iter', 1000, { integer: true, min: 1 });
  const plotFile = args.values.get('plot');
  if (plotFile !== undefined && !plotFile.toLowerCase().endsWith('.svg')) throw new UsageError(`--plot must name an .svg file (the .png is written beside it), got "${plotFile}"`);

  const inputs = await loadProbeInputs(args, 'few-shot');
  const { train, test } = inputs;
  const classes = train.header.classes;
  process.stderr.write(`clip-ts few-shot: ${train.header.count} training and ${test.header.count} test images, ${classes.length} classes; ` +
    `shots ${shots.join(', ')}, ${nSeeds} seed${nSeeds === 1 ? '' : 's'}\n`);
  const zs = args.flags.has('no-zero-shot') ? undefined : zeroShot(inputs);
  if (zs !== undefined) process.stderr.write(`clip-ts few-shot: zero-shot accuracy ${zs.accuracy.toFixed(2)} %\n`);
  const result = fewShotEvaluation(
    { features: train.features, labels: train.labels },
    { features: test.features, labels: test.labels },
    classes,
    {
      shots, seeds: Array.from({ length: nSeeds }, (_, i) => i), oneShotC, maxIterations: maxIter,
      ...(fixedC !== undefined ? { C: fixedC } : {}),
      onRun: (r) => process.stderr.write(`clip-ts few-shot: ${r.shots}-shot, seed ${r.seed}: ${r.accuracy.toFixed(2)} % (C = ${r.C.toPrecision(3)})\n`),
    },
  );
  const report = {
    classes,
    train_images: train.header.count,
    test_images: test.header.count,
    model: train.header.model.file,
    zero_shot: zs === undefined ? null : { accuracy: zs.accuracy, mean_per_class: zs.meanPerClass },
    summary: result.summary.map((s) => ({
      shots: s.shots, seeds: s.seeds,
      accuracy_mean: s.accuracy.mean, accuracy_std: s.accuracy.std,
      mean_per_class_mean: s.meanPerClass.mean, mean_per_class_std: s.meanPerClass.std,
    })),
    runs: result.runs.map((r) => ({
      shots: r.shots, seed: r.seed, C: r.C, accuracy: r.accuracy, mean_per_class: r.meanPerClass, iterations: r.iterations, converged: r.converged,
    })),
  };
  const out = args.values.get('out');
  if (out !== undefined) writeTextAtomic(out, JSON.stringify(report, null, 1) + '\n');
  if (plotFile !== undefined) {
    const png = await writePlot(plotFile, {
      title: 'Few-shot linear probe vs zero-shot',
      xLabel: 'labelled training examples per class',
      yLabel: 'top-1 accuracy (%)',
      xScale: 'log2',
      series: [{ name: `linear probe (±1 sd, ${nSeeds} seed${nSeeds === 1 ? '' : 's'})`, points: result.summary.map((s) => ({ x: s.shots, y: s.accuracy.mean, error: s.accuracy.std })) }],
      references: zs !== undefined ? [{ name: 'zero-shot', y: zs.accuracy }] : [],
    });
    process.stderr.write(`clip-ts few-shot: wrote ${plotFile} and ${png}\n`);
  }
  process.stdout.write(table(result, zs));
  return 0;
}
