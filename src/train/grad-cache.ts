// Gradient caching (Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under Memory
// Limited Setup"): the contrastive loss couples every pair of a batch, so a batch cannot simply be
// split into independent micro-batches. But the loss depends on the parameters only through the
// N feature vectors of each tower (and logit_scale), so by the chain rule
//   ∂L/∂θ = Σ_chunks (∂f_chunk/∂θ)ᵀ · ∂L/∂f_chunk.
// Hence: (1) compute all features without recording a graph, (2) compute the loss and its gradient
// with respect to the features (cheap: N×N), (3) re-run each chunk with the graph on and
// back-propagate that chunk's slice of the feature gradient. Peak activation memory is one chunk's;
// the price is a second forward pass. The parameter gradients equal the full batch's up to
// floating-point summation order.
import type { ClipModel } from '../model/clip.js';
import { Tensor, backward, noGrad, shapeString, type FloatArray } from '../tensor/index.js';
import { clipLoss } from './clip-loss.js';

export interface ContrastiveBatch {
  /** [N, 3, S, S] preprocessed images. */
  images: Tensor;
  /** [N, context] token ids, row-major. */
  tokens: Int32Array;
}

export interface ForwardBackwardResult {
  /** The batch's loss before the update. */
  loss: number;
  /** [N, N] logits of the batch (image rows, text columns), no graph attached. */
  logitsPerImage: Tensor;
}

/** Rows [start, start + count) of a row-major tensor, sharing its storage. */
function rowsOf(t: Tensor, start: number, count: number): Tensor {
  const per = t.size / t.dim(0);
  return new Tensor(t.data.subarray(start * per, (start + count) * per) as FloatArray, [count, ...t.shape.slice(1)]);
}

function checkBatch(model: ClipModel, batch: ContrastiveBatch): number {
  const n = batch.images.dim(0);
  const ctx = model.contextLength;
  if (batch.tokens.length !== n * ctx) {
    throw new RangeError(`batch: ${n} images ${shapeString(batch.images.shape)} but ${batch.tokens.length / ctx} token rows of ${ctx}`);
  }
  if (n < 2) throw new RangeError(`batch: a contrastive batch needs at least 2 pairs, got ${n}`);
  return n;
}

/** Loss and parameter gradients (accumulated into `.grad`) of one batch in one pass. */
export function fullBatchBackward(model: ClipModel, batch: ContrastiveBatch): ForwardBackwardResult {
  checkBatch(model, batch);
  const image = model.encodeImage(batch.images);
  const text = model.encodeText(batch.tokens);
  const { loss, logitsPerImage } = clipLoss(image, text, model.params.get('logit_scale'));
  const value = loss.item();
  backward(loss);
  return { loss: value, logitsPerImage: logitsPerImage.detach() };
}

/** Whether any parameter of each tower is being trained (`visual.*` is the image tower). */
export function trainableTowers(model: ClipModel): { image: boolean; text: boolean } {
  let image = false;
  let text = false;
  for (const [name, t] of model.params.parameters()) {
    if (!t.requiresGrad || name === 'logit_scale') continue;
    if (name.startsWith('visual.')) image = true;
    else text = true;
  }
  return { image, text };
}

/** BatchNorm running statistics (copies), so that a replayed forward pass does not update them twice. */
function snapshotBuffers(model: ClipModel): [Tensor, FloatArray][] {
  return model.params.entries().filter(([name]) => model.params.isBuffer(name)).map(([, t]) => [t, t.data.slice()]);
}

/**
 * Loss and parameter gradients of one batch computed `chunkSize` pairs at a time (gradient
 * caching). A chunk size of N or more is the plain full-batch pass. With BatchNorm (ResNet towers
 * in training mode) the normalisation statistics are per chunk, as in any micro-batched run.
 */
export function gradCacheBackward(model: ClipModel, batch: ContrastiveBatch, chunkSize: number): ForwardBackwardResult {
  const n = checkBatch(model, batch);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkSize}`);
  if (chunkSize >= n) return fullBatchBackward(model, batch);
  const ctx = model.contextLength;
  const chunks: { start: number; count: number }[] = [];
  for (let s = 0; s < n; s += chunkSize) chunks.push({ start: s, count: Math.min(chunkSize, n - s) });
  const tokensOf = (c: { start: number; count: number }): Int32Array => batch.tokens.subarray(c.start * ctx, (c.start + c.count) * ctx);

  // (1) Features of the whole batch, no graph. BatchNorm buffers are restored afterwards: the
  // replay in (3) updates them once, as a single pass would.
  const buffers = snapshotBuffers(model);
  const D = model.config.embedDim;
  const dtype = model.dtype;
  const alloc = (len: number): FloatArray => (dtype === 'float64' ? new Float64Array(len) : new Float32Array(len));
  const imageAll = alloc(n * D);
  const textAll = alloc(n * D);
  noGrad(() => {
    for (const c of chunks) {
      imageAll.set(model.encodeImage(rowsOf(batch.images, c.start, c.count)).data, c.start * D);
      textAll.set(model.encodeText(tokensOf(c)).data, c.start * D);
    }
  });
  for (const [t, saved] of buffers) t.data.set(saved);

  // (2) The loss on leaf copies of the features: backward leaves ∂L/∂features in their .grad and
  // adds ∂L/∂logit_scale to the parameter's gradient directly.
  const imageLeaf = new Tensor(imageAll, [n, D], true);
  const textLeaf = new Tensor(textAll, [n, D], true);
  const { loss, logitsPerImage } = clipLoss(imageLeaf, textLeaf, model.params.get('logit_scale'));
  const value = loss.item();
  backward(loss);
  const gImage = imageLeaf.grad;
  const gText = textLeaf.grad;
  if (gImage === null || gText === null) throw new Error('internal: the loss gave no feature gradients');

  // (3) Replay chunk by chunk with the graph on and push each chunk's feature gradient through.
  // A frozen tower (fine-tuning one side only) needs no replay.
  const { image: imageTrains, text: textTrains } = trainableTowers(model);
  for (const c of chunks) {
    if (imageTrains) {
      const image = model.encodeImage(rowsOf(batch.images, c.start, c.count));
      backward(image, gImage.data.subarray(c.start * D, (c.start + c.count) * D) as FloatArray);
    }
    if (textTrains) {
      const text = model.encodeText(tokensOf(c));
      backward(text, gText.data.subarray(c.start * D, (c.start + c.count) * D) as FloatArray);
    }
  }
  return { loss: value, logitsPerImage: logitsPerImage.detach() };
}
