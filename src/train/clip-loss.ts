// CLIP's contrastive objective (Radford et al. 2021, Figure 3): for a batch of N matching
// (image, text) pairs, the N×N matrix of scaled cosine similarities
//   logits = exp(logit_scale) · normalize(I) · normalize(T)ᵀ
// is read as N-way classification twice, images → texts along the rows and texts → images along
// the columns, the correct class being the pair's own index; the loss is the mean of the two
// cross-entropies. Built from autograd ops, so it differentiates with respect to the (unnormalised)
// features and to logit_scale.
import {
  Tensor, add, crossEntropy, exp, l2Normalize, matmul, mulScalar, scale, shapeString, transpose,
} from '../tensor/index.js';

export interface ClipLossOutput {
  /** The symmetric cross-entropy, a one-element tensor. */
  loss: Tensor;
  /** [N, N]: row i holds image i's logits against every text. */
  logitsPerImage: Tensor;
}

/** [0, 1, …, n−1]: the matching text of image i is text i. */
export function diagonalTargets(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/**
 * The loss of a batch from image features [N, D], text features [N, D] (as encodeImage and
 * encodeText return them, not normalised) and the learnable logit_scale (one element, the log of
 * the inverse temperature).
 */
export function clipLoss(imageFeatures: Tensor, textFeatures: Tensor, logitScale: Tensor): ClipLossOutput {
  if (imageFeatures.rank !== 2 || textFeatures.rank !== 2 || imageFeatures.dim(0) !== textFeatures.dim(0) || imageFeatures.dim(1) !== textFeatures.dim(1)) {
    throw new RangeError(`clipLoss: shape mismatch: image features ${shapeString(imageFeatures.shape)} vs text features ${shapeString(textFeatures.shape)} (need two [N, D])`);
  }
  if (logitScale.size !== 1) throw new RangeError(`clipLoss: logit_scale must have one element, got ${shapeString(logitScale.shape)}`);
  const n = imageFeatures.dim(0);
  if (n < 1) throw new RangeError('clipLoss: empty batch');
  const cosines = matmul(l2Normalize(imageFeatures), l2Normalize(textFeatures), { transB: true });
  const logitsPerImage = mulScalar(cosines, exp(logitScale));
  const targets = diagonalTargets(n);
  const loss = scale(add(crossEntropy(logitsPerImage, targets), crossEntropy(transpose(logitsPerImage), targets)), 0.5);
  return { loss, logitsPerImage };
}
