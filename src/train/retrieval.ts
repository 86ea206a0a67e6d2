// Image ↔ text retrieval recall@k (the CLIP paper's Table 13 metric): for each image, is one of its
// captions among the k texts most similar to it, and for each text, is one of its images among the
// k most similar images. Pairs are given as (image, text) index pairs, so an image with several
// captions (COCO) or a caption shared by several images (the emoji set's styles) counts any of its
// partners as correct.
import { Tensor, l2Normalize, matmul, noGrad, type FloatArray } from '../tensor/index.js';

export interface RecallAtK {
  /** k → percent of queries with a correct result among the top k. */
  imageToText: Record<number, number>;
  textToImage: Record<number, number>;
  images: number;
  texts: number;
}

/** For each query row, the number of candidates that score strictly above its best partner. */
function bestPartnerRanks(sim: FloatArray, queries: number, candidates: number, partners: readonly number[][], transposed: boolean): Int32Array {
  const ranks = new Int32Array(queries);
  const score = (q: number, c: number): number => (transposed ? sim[c * queries + q] : sim[q * candidates + c]);
  for (let q = 0; q < queries; q++) {
    let best = -Infinity;
    for (const c of partners[q]) best = Math.max(best, score(q, c));
    let above = 0;
    for (let c = 0; c < candidates; c++) if (score(q, c) > best) above++;
    ranks[q] = above;
  }
  return ranks;
}

/**
 * Recall@k in percent from image features [I, D], text features [T, D] (not necessarily
 * normalised) and the matching (image, text) index pairs; every image and text must be in a pair.
 */
export function retrievalRecall(imageFeatures: Tensor, textFeatures: Tensor, pairs: readonly (readonly [number, number])[],
  ks: readonly number[] = [1, 5]): RecallAtK {
  const I = imageFeatures.dim(0);
  const T = textFeatures.dim(0);
  const textsOf: number[][] = Array.from({ length: I }, () => []);
  const imagesOf: number[][] = Array.from({ length: T }, () => []);
  for (const [i, t] of pairs) {
    if (!(i >= 0 && i < I && t >= 0 && t < T)) throw new RangeError(`retrieval: pair (${i}, ${t}) outside ${I} images x ${T} texts`);
    textsOf[i].push(t);
    imagesOf[t].push(i);
  }
  textsOf.forEach((l, i) => { if (l.length === 0) throw new RangeError(`retrieval: image ${i} has no caption`); });
  imagesOf.forEach((l, t) => { if (l.length === 0) throw new RangeError(`retrieval: text ${t} has no image`); });
  const sim = noGrad(() => matmul(l2Normalize(imageFeatures), l2Normalize(textFeatures), { transB: true })).data;
  const i2t = bestPartnerRanks(sim, I, T, textsOf, false);
  const t2i = bestPartnerRanks(sim, T, I, imagesOf, true);
  const recall = (ranks: Int32Array): Record<number, number> =>
    Object.fromEntries(ks.map((k) => [k, (100 * ranks.filter((r) => r < k).length) / ranks.length]));
  return { imageToText: recall(i2t), textToImage: recall(t2i), images: I, texts: T };
}
