// Zero-shot classification (Radford et al. 2021, section 3.1.2 and OpenAI's notebook
// Prompt_Engineering_for_ImageNet.ipynb): a class is represented by the mean of the normalised text
// embeddings of its prompts ("a photo of a {}." filled with its name, for every template),
// normalised again; an image gets logits 100 · cos(image, class) and probabilities softmax(logits).
import type { ClipModel } from '../model/clip.js';
import { Tensor, l2Normalize, matmul, noGrad, scale, softmax, type FloatArray } from '../tensor/index.js';
import { tokenize } from '../text/index.js';
import { classPrompt, type ClassPrompt } from './class-names.js';
import { TextEmbeddingCache } from './text-embedding-cache.js';
import { checkTemplates, fillTemplate, imagenetTemplates } from './templates.js';

/** The reference's fixed logit multiplier (the notebook's `100. * image_features @ zeroshot_weights`). */
export const ZERO_SHOT_LOGIT_SCALE = 100;

export interface BuildClassifierOptions {
  /** Templates with `{}`/`{c}` (default: the 80 ImageNet templates). */
  templates?: readonly string[];
  /** Where prompt embeddings are cached; `false` (the default) encodes everything. */
  cache?: TextEmbeddingCache | false;
  /** Prompts per encodeText call. Default 128. */
  batchSize?: number;
  /** Cut prompts longer than the context instead of failing. Default false, like the notebook. */
  truncate?: boolean;
  /** Keep every prompt's normalised embedding (`promptEmbeddings`), e.g. to inspect templates. */
  keepPromptEmbeddings?: boolean;
  /** Called as prompts are encoded (`done` of `total` that were not in the cache). */
  onProgress?: (done: number, total: number) => void;
}

/** One prediction: a class and its probability (and logit). */
export interface Prediction {
  index: number;
  label: string;
  probability: number;
  logit: number;
}

/** Scores of a batch of images against the classes. */
export interface ClassifierScores {
  /** [images, classes]: 100 · cos(image, class). */
  logits: Tensor;
  /** [images, classes]: softmax of the logits over the classes. */
  probabilities: Tensor;
}

/** The zero-shot weights for a fixed list of classes. */
export class ZeroShotClassifier {
  /** Reported label of each class (may repeat in built-in lists such as ImageNet's). */
  readonly labels: string[];
  /** The templates the class embeddings were averaged over. */
  readonly templates: string[];
  /** [classes, embed]: one unit-norm row per class (the reference stores the transpose). */
  readonly classEmbeddings: Tensor;
  /** [classes, names·templates, embed] normalised prompt embeddings, when asked for. */
  readonly promptEmbeddings: Tensor | undefined;
  /** The multiplier of the cosine similarities. */
  readonly logitScale: number;

  constructor(labels: string[], templates: string[], classEmbeddings: Tensor, promptEmbeddings?: Tensor, logitScale = ZERO_SHOT_LOGIT_SCALE) {
    if (classEmbeddings.rank !== 2 || classEmbeddings.dim(0) !== labels.length) {
      throw new RangeError(`classifier: ${labels.length} labels but class embeddings of shape [${classEmbeddings.shape.join(', ')}]`);
    }
    this.labels = labels;
    this.templates = templates;
    this.classEmbeddings = classEmbeddings;
    this.promptEmbeddings = promptEmbeddings;
    this.logitScale = logitScale;
  }

  get classCount(): number {
    return this.labels.length;
  }

  get embedDim(): number {
    return this.classEmbeddings.dim(1);
  }

  /** The reference's `zeroshot_weights`: [embed, classes], one unit-norm column per class. */
  weightMatrix(): FloatArray {
    const [C, D] = this.classEmbeddings.shape;
    const src = this.classEmbeddings.data;
    const out = src instanceof Float64Array ? new Float64Array(C * D) : new Float32Array(C * D);
    for (let c = 0; c < C; c++) for (let d = 0; d < D; d++) out[d * C + c] = src[c * D + d];
    return out;
  }

  /** Logits and probabilities of images from their (not necessarily normalised) features [B, embed]. */
  scores(imageFeatures: Tensor): ClassifierScores {
    if (imageFeatures.rank !== 2 || imageFeatures.dim(1) !== this.embedDim) {
      throw new RangeError(`classifier: expected image features [B, ${this.embedDim}], got [${imageFeatures.shape.join(', ')}]`);
    }
    return noGrad(() => {
      const logits = scale(matmul(l2Normalize(imageFeatures), this.classEmbeddings, { transB: true }), this.logitScale);
      return { logits, probabilities: softmax(logits) };
    });
  }

  /** The `k` most probable classes of every image, best first (ties: lower class index first). */
  topK(scores: ClassifierScores, k: number): Prediction[][] {
    return topKRows(scores, k, this.labels);
  }

  /** Features -> the top-k predictions of every image. */
  classify(imageFeatures: Tensor, k = 5): Prediction[][] {
    return this.topK(this.scores(imageFeatures), k);
  }
}

/** The top-k of every row of `scores`, best first. */
export function topKRows(scores: ClassifierScores, k: number, labels: readonly string[]): Prediction[][] {
  const [B, C] = scores.logits.shape;
  const kk = Math.max(0, Math.min(k, C));
  const out: Prediction[][] = [];
  for (let b = 0; b < B; b++) {
    const row = scores.logits.data.subarray(b * C, (b + 1) * C);
    const order = topIndices(row, kk);
    out.push(order.map((index) => ({
      index,
      label: labels[index],
      probability: scores.probabilities.data[b * C + index],
      logit: row[index],
    })));
  }
  return out;
}

/** Indices of the k largest values, largest first; equal values keep the lower index first. */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => (values[b] - values[a]) || (a - b));
  return idx.slice(0, k);
}

function asClassPrompt(c: string | ClassPrompt): ClassPrompt {
  return typeof c === 'string' ? classPrompt(c) : c;
}

/**
 * Normalised embeddings of `prompts`, from the cache where present (prompts are grouped by the class
 * name they were made from, the cache's unit), encoded in batches otherwise.
 */
function promptEmbeddings(model: ClipModel, groups: { name: string; prompts: string[] }[], opts: BuildClassifierOptions): FloatArray[][] {
  const D = model.config.embedDim;
  const cache = opts.cache === undefined || opts.cache === false ? undefined : opts.cache;
  if (cache !== undefined && (cache.dim !== D || cache.dtype !== model.dtype)) {
    throw new RangeError(`text embedding cache is for ${cache.dim}-d ${cache.dtype} vectors, the model makes ${D}-d ${model.dtype} ones`);
  }
  const result: (FloatArray | undefined)[][] = groups.map((g) => (cache !== undefined ? cache.lookup(g.name, g.prompts) : g.prompts.map(() => undefined)));
  const todo: { group: number; item: number; text: string }[] = [];
  groups.forEach((g, gi) => g.prompts.forEach((p, pi) => {
    if (result[gi][pi] === undefined) todo.push({ group: gi, item: pi, text: p });
  }));
  const batchSize = opts.batchSize ?? 128;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const fresh = new Map<number, Map<string, FloatArray>>();
  opts.onProgress?.(0, todo.length);
  for (let i = 0; i < todo.length; i += batchSize) {
    const batch = todo.slice(i, i + batchSize);
    const tokens = tokenize(batch.map((t) => t.text), { contextLength: model.contextLength, truncate: opts.truncate === true });
    const emb = noGrad(() => l2Normalize(model.encodeText(tokens.ids)));
    batch.forEach((t, j) => {
      const v = emb.data.slice(j * D, (j + 1) * D);
      result[t.group][t.item] = v;
      let m = fresh.get(t.group);
      if (m === undefined) fresh.set(t.group, (m = new Map()));
      m.set(t.text, v);
    });
    opts.onProgress?.(Math.min(i + batchSize, todo.length), todo.length);
  }
  if (cache !== undefined) for (const [gi, m] of fresh) cache.store(groups[gi].name, m);
  return result as FloatArray[][];
}

/**
 * Builds the zero-shot classifier of `classes` (labels, or labels with synonyms) over `templates`:
 * per class, every (name, template) prompt is encoded and L2-normalised, the vectors are averaged
 * and the mean is L2-normalised.
 */
export function buildZeroShotClassifier(model: ClipModel, classes: readonly (string | ClassPrompt)[],
  opts: BuildClassifierOptions = {}): ZeroShotClassifier {
  const list = classes.map(asClassPrompt);
  if (list.length === 0) throw new RangeError('zero-shot classifier: no classes');
  const templates = [...(opts.templates ?? imagenetTemplates())];
  checkTemplates(templates, 'templates');
  // Prompts grouped by class name (the cache's unit); a class with synonyms uses several groups.
  const groups: { name: string; prompts: string[] }[] = [];
  const groupsOfClass: number[][] = [];
  for (const c of list) {
    if (c.names.length === 0) throw new RangeError(`zero-shot classifier: class "${c.label}" has no name`);
    groupsOfClass.push(c.names.map((name) => {
      groups.push({ name, prompts: templates.map((t) => fillTemplate(t, name)) });
      return groups.length - 1;
    }));
  }
  const vectors = promptEmbeddings(model, groups, opts);
  const D = model.config.embedDim;
  const C = list.length;
  const is64 = model.dtype === 'float64';
  const weights = is64 ? new Float64Array(C * D) : new Float32Array(C * D);
  const perClass = groupsOfClass.map((g) => g.length * templates.length);
  const keep = opts.keepPromptEmbeddings === true;
  if (keep && perClass.some((n) => n !== perClass[0])) {
    throw new RangeError('keepPromptEmbeddings needs the same number of names for every class');
  }
  const kept = keep ? (is64 ? new Float64Array(C * perClass[0] * D) : new Float32Array(C * perClass[0] * D)) : undefined;
  const mean = new Float64Array(D);
  groupsOfClass.forEach((gs, c) => {
    mean.fill(0);
    let row = 0;
    for (const g of gs) {
      for (const v of vectors[g]) {
        for (let d = 0; d < D; d++) mean[d] += v[d];
        kept?.set(v, (c * perClass[0] + row) * D);
        row++;
      }
    }
    let norm = 0;
    for (let d = 0; d < D; d++) norm += mean[d] * mean[d];
    // The mean's length cancels out of mean / |mean|, so the sum is normalised directly.
    const inv = 1 / Math.max(Math.sqrt(norm), 1e-30);
    for (let d = 0; d < D; d++) weights[c * D + d] = mean[d] * inv;
  });
  return new ZeroShotClassifier(
    list.map((c) => c.label),
    templates,
    new Tensor(weights, [C, D]),
    kept !== undefined ? new Tensor(kept, [C, perClass[0], D]) : undefined,
  );
}

/** Image features of a preprocessed batch (float32 NCHW at the model's size). */
export function embedImageBatch(model: ClipModel, pixels: Float32Array | Float64Array, count?: number): Tensor {
  return model.embedImages(model.imageTensor(pixels, count));
}
