// Zero-shot evaluation on a labelled image set: classify every image against prompts made from the
// set's own class names and report top-1, top-5 and mean per-class accuracy (the CLIP paper's
// metrics), per-class figures and the most confused pairs of classes.
import type { ClipModel } from '../model/clip.js';
import { ImageBatchLoader } from '../image/index.js';
import { Tensor } from '../tensor/index.js';
import { classPrompt, type ClassPrompt } from './class-names.js';
import { ConfusionMatrix } from './confusion.js';
import type { LabelledImages } from './labelled-images.js';
import { meanPerClassAccuracy, perClassAccuracy, top1Accuracy } from './metrics.js';
import { buildZeroShotClassifier, topIndices, type BuildClassifierOptions, type ZeroShotClassifier } from './zeroshot.js';

/** Figures of one class. */
export interface ClassReport {
  label: string;
  /** The name(s) the prompts were made from. */
  names: string[];
  images: number;
  /** Percent of its images whose best class is this one (recall); null without images. */
  top1: number | null;
  top5: number | null;
  /** The other class its images were most often taken for. */
  most_confused_with: { label: string; images: number } | null;
}

export interface ConfusedPairReport {
  true_label: string;
  predicted_label: string;
  images: number;
  /** Percent of the true class's images. */
  percent: number;
}

/** The JSON report of `clip-ts zeroshot-eval` (percentages in 0..100). */
export interface ZeroShotReport {
  data: string;
  model?: string;
  templates: { name: string; count: number };
  images: number;
  classes: number;
  top1: number;
  top5: number;
  /** k of the `top5` figure: 5, or the class count when there are fewer classes. */
  top5_k: number;
  mean_per_class: number;
  per_class: ClassReport[];
  most_confused: ConfusedPairReport[];
  /** [true][predicted] counts, when asked for. */
  confusion_matrix?: number[][];
  seconds: number;
  images_per_second: number;
}

/** The raw outcome of an evaluation, for callers that want more than the report. */
export interface ZeroShotEvalResult {
  report: ZeroShotReport;
  /** [images, classes] logits (100 · cosine), in the order of `data.items`. */
  logits: Float32Array;
  /** Class index of every image's best logit. */
  predictions: Int32Array;
  labels: Int32Array;
  confusion: ConfusionMatrix;
}

export interface ZeroShotMetricsOptions {
  /** Pairs listed in `most_confused`. Default 10. */
  confusedPairs?: number;
  includeMatrix?: boolean;
}

export interface ZeroShotEvalOptions extends Omit<BuildClassifierOptions, 'onProgress'>, ZeroShotMetricsOptions {
  /** The names put into the templates for each class of `data` (default: the class name, `_` read as a space). */
  classNames?: readonly ClassPrompt[];
  /** Name of the template set, for the report. */
  templatesName?: string;
  /** Model name or path, for the report. */
  modelName?: string;
  /** Images per encode_image call. Default 32. */
  imageBatchSize?: number;
  /** Image decoding threads (see ImageBatchLoader). */
  workers?: number;
  /** A ready classifier over the classes of `data`, in their order (skips building one). */
  classifier?: ZeroShotClassifier;
  /** Prompt encoding progress. */
  onTextProgress?: (done: number, total: number) => void;
  /** Image progress. */
  onProgress?: (done: number, total: number) => void;
}

/** The prompt name of an ImageFolder/CSV class: underscores become spaces (`tabby_cat` -> `tabby cat`). */
export function defaultClassName(label: string): string {
  return label.replace(/_/g, ' ').trim();
}

/** Percent of rows whose label is among the `k` largest logits. */
function topKAccuracyPerClass(logits: Float32Array, labels: Int32Array, classCount: number, k: number): { overall: number; perClass: number[] } {
  const hits = new Array<number>(classCount).fill(0);
  const totals = new Array<number>(classCount).fill(0);
  let all = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * classCount, (i + 1) * classCount);
    const y = labels[i];
    totals[y]++;
    if (topIndices(row, k).includes(y)) {
      hits[y]++;
      all++;
    }
  }
  return { overall: (100 * all) / labels.length, perClass: totals.map((t, c) => (t === 0 ? NaN : (100 * hits[c]) / t)) };
}

/** The report's metrics from raw logits [images, classes] and true labels. */
export function zeroShotMetrics(logits: Float32Array, labels: Int32Array, classes: readonly ClassPrompt[], opts: ZeroShotMetricsOptions = {}):
  Pick<ZeroShotReport, 'images' | 'classes' | 'top1' | 'top5' | 'top5_k' | 'mean_per_class' | 'per_class' | 'most_confused' | 'confusion_matrix'> &
  { predictions: Int32Array; confusion: ConfusionMatrix } {
  const C = classes.length;
  const n = labels.length;
  if (logits.length !== n * C) throw new RangeError(`zero-shot metrics: ${logits.length} logits for ${n} images x ${C} classes`);
  const predictions = new Int32Array(n);
  for (let i = 0; i < n; i++) predictions[i] = topIndices(logits.subarray(i * C, (i + 1) * C), 1)[0];
  const k = Math.min(5, C);
  const top5 = topKAccuracyPerClass(logits, labels, C, k);
  const recall = perClassAccuracy(predictions, labels, C);
  const confusion = ConfusionMatrix.from(labels, predictions, C);
  const nullable = (v: number): number | null => (Number.isNaN(v) ? null : v);
  const perClass: ClassReport[] = classes.map((c, i) => {
    const worst = confusion.mostConfusedWith(i);
    return {
      label: c.label,
      names: [...c.names],
      images: confusion.rowTotal(i),
      top1: nullable(recall[i]),
      top5: nullable(top5.perClass[i]),
      most_confused_with: worst !== undefined ? { label: classes[worst.predictedIndex].label, images: worst.count } : null,
    };
  });
  const pairs = confusion.mostConfused(opts.confusedPairs ?? 10).map((p) => ({
    true_label: classes[p.trueIndex].label,
    predicted_label: classes[p.predictedIndex].label,
    images: p.count,
    percent: 100 * p.fraction,
  }));
  return {
    images: n,
    classes: C,
    top1: top1Accuracy(predictions, labels),
    top5: top5.overall,
    top5_k: k,
    mean_per_class: meanPerClassAccuracy(predictions, labels, C),
    per_class: perClass,
    most_confused: pairs,
    ...(opts.includeMatrix === true ? { confusion_matrix: confusion.toArray() } : {}),
    predictions,
    confusion,
  };
}

/**
 * Zero-shot evaluation of `model` on `data`: builds the classifier over the set's classes (unless
 * one is given), encodes every image, and scores it.
 */
export async function evaluateZeroShot(model: ClipModel, data: LabelledImages, opts: ZeroShotEvalOptions = {}): Promise<ZeroShotEvalResult> {
  const t0 = performance.now();
  if (data.items.length === 0) throw new Error(`${data.source}: no images`);
  const classes = opts.classNames !== undefined ? [...opts.classNames] : data.classes.map((c) => ({ label: c, names: [defaultClassName(c)] }));
  if (classes.length !== data.classes.length) {
    throw new RangeError(`${data.source}: ${data.classes.length} classes but ${classes.length} class names were given`);
  }
  const classifier = opts.classifier ?? buildZeroShotClassifier(model, classes.map((c) => (c.names.length > 0 ? c : classPrompt(c.label))), {
    ...opts, onProgress: opts.onTextProgress,
  });
  if (classifier.classCount !== data.classes.length) {
    throw new RangeError(`${data.source}: ${data.classes.length} classes but the classifier has ${classifier.classCount}`);
  }
  const C = classifier.classCount;
  const n = data.items.length;
  const logits = new Float32Array(n * C);
  const labels = Int32Array.from(data.items.map((it) => it.label));
  const loader = new ImageBatchLoader(data.items.map((it) => it.path), {
    size: model.imageSize, batchSize: opts.imageBatchSize ?? 32, onError: 'throw',
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
  });
  const tImages = performance.now();
  let row = 0;
  opts.onProgress?.(0, n);
  for await (const batch of loader) {
    const features: Tensor = model.embedImages(model.imageTensor(batch.batch, batch.count));
    logits.set(classifier.scores(features).logits.data, row * C);
    row += batch.count;
    opts.onProgress?.(row, n);
  }
  if (row !== n) throw new Error(`internal: scored ${row} of ${n} images`);
  const imageSeconds = (performance.now() - tImages) / 1000;
  const m = zeroShotMetrics(logits, labels, classes, opts);
  const report: ZeroShotReport = {
    data: data.source,
    ...(opts.modelName !== undefined ? { model: opts.modelName } : {}),
    templates: { name: opts.templatesName ?? (opts.templates === undefined ? 'imagenet' : 'custom'), count: classifier.templates.length },
    images: m.images,
    classes: m.classes,
    top1: m.top1,
    top5: m.top5,
    top5_k: m.top5_k,
    mean_per_class: m.mean_per_class,
    per_class: m.per_class,
    most_confused: m.most_confused,
    ...(m.confusion_matrix !== undefined ? { confusion_matrix: m.confusion_matrix } : {}),
    seconds: (performance.now() - t0) / 1000,
    images_per_second: imageSeconds > 0 ? n / imageSeconds : 0,
  };
  return { report, logits, predictions: m.predictions, labels, confusion: m.confusion };
}

/** A short human-readable summary of a report (the CLI's table). */
export function formatZeroShotReport(report: ZeroShotReport, opts: { classes?: number } = {}): string {
  const pct = (v: number | null): string => (v === null ? '   -  ' : v.toFixed(2).padStart(6));
  const lines = [
    `data:           ${report.data}`,
    ...(report.model !== undefined ? [`model:          ${report.model}`] : []),
    `templates:      ${report.templates.name} (${report.templates.count})`,
    `images:         ${report.images} in ${report.classes} classes`,
    `top-1:          ${report.top1.toFixed(2)} %`,
    `top-${report.top5_k}:          ${report.top5.toFixed(2)} %`,
    `mean per class: ${report.mean_per_class.toFixed(2)} %`,
  ];
  if (report.most_confused.length > 0) {
    lines.push('', 'most confused (true -> predicted: images, % of the true class):');
    for (const p of report.most_confused) lines.push(`  ${p.true_label} -> ${p.predicted_label}: ${p.images} (${p.percent.toFixed(1)} %)`);
  }
  const shown = opts.classes ?? 20;
  if (shown > 0) {
    const worst = report.per_class.filter((c) => c.top1 !== null).sort((a, b) => (a.top1 ?? 0) - (b.top1 ?? 0) || a.label.localeCompare(b.label)).slice(0, shown);
    lines.push('', `per class (${worst.length < report.per_class.length ? `the ${worst.length} worst of ${report.per_class.length}` : 'all'}; top-1 %, top-${report.top5_k} %, images):`);
    const width = Math.min(40, Math.max(...worst.map((c) => c.label.length)));
    for (const c of worst) lines.push(`  ${c.label.padEnd(width)} ${pct(c.top1)} ${pct(c.top5)} ${String(c.images).padStart(6)}`);
  }
  return lines.join('\n');
}
