// Features of image–caption pairs for retrieval: each distinct image and each distinct caption is
// embedded once, and the pairs become (image row, text row) links. Shared by evaluation during
// training (held-out pairs, first caption of each) and `clip-ts retrieval-eval` (every caption).
import type { ClipModel } from '../model/clip.js';
import { Tensor, type FloatArray } from '../tensor/index.js';
import { tokenize } from '../text/index.js';
import { imageName, type PairSample } from './pair-dataset.js';
import type { SampleDecoder } from './sample-decoder.js';

export interface PairFeatures {
  /** [images that decoded, D] and [captions linked to them, D], not normalised. */
  imageT: Tensor;
  textT: Tensor;
  /** (image row, text row) of every pair whose image decoded. */
  links: [number, number][];
  /** The images (first sample naming each), parallel to imageT's rows. */
  images: PairSample[];
  texts: string[];
  /** Images that could not be decoded, with why. */
  failed: { where: string; why: string }[];
}

export interface PairFeatureOptions {
  /** Every caption of a sample with several (a JSONL list), instead of its first. Default false. */
  allCaptions?: boolean;
  /** Called after each image batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** Keeps rows `keep` of a [n, D] matrix. */
export function rows(data: FloatArray, D: number, keep: readonly number[]): Float32Array {
  const out = new Float32Array(keep.length * D);
  keep.forEach((r, i) => out.set(data.subarray(r * D, (r + 1) * D), i * D));
  return out;
}

/**
 * Embeds the distinct images (centre crops from `decoder`) and captions of `pairs`. Images that fail
 * to decode are left out with their links, and captions left without an image are dropped.
 */
export async function pairFeatures(model: ClipModel, pairs: readonly PairSample[], batchSize: number, decoder: SampleDecoder,
  opts: PairFeatureOptions = {}): Promise<PairFeatures> {
  const imageKeys = new Map<string, number>();
  const textKeys = new Map<string, number>();
  const images: PairSample[] = [];
  const texts: string[] = [];
  const links: [number, number][] = [];
  for (const p of pairs) {
    const ik = imageName(p.image);
    let i = imageKeys.get(ik);
    if (i === undefined) { i = images.length; imageKeys.set(ik, i); images.push(p); }
    for (const caption of opts.allCaptions === true ? (p.captions ?? [p.caption]) : [p.caption]) {
      let t = textKeys.get(caption);
      if (t === undefined) { t = texts.length; textKeys.set(caption, t); texts.push(caption); }
      links.push([i, t]);
    }
  }
  const D = model.config.embedDim;
  const S = model.imageSize;
  const imageFeat = new Float32Array(images.length * D);
  const good = new Uint8Array(images.length);
  const failed: { where: string; why: string }[] = [];
  for (let s = 0; s < images.length; s += batchSize) {
    const chunk = images.slice(s, s + batchSize);
    const results = await Promise.all(chunk.map((p, j) => decoder.decode(p, s + j, 0)));
    const ok: { tensor: Float32Array; j: number }[] = [];
    results.forEach((r, j) => {
      if (r.ok) ok.push({ tensor: r.tensor, j });
      else failed.push({ where: chunk[j].where, why: r.why });
    });
    if (ok.length > 0) {
      const pixels = new Float32Array(ok.length * 3 * S * S);
      ok.forEach((x, k) => pixels.set(x.tensor, k * 3 * S * S));
      const f = model.embedImages(new Tensor(pixels, [ok.length, 3, S, S])).data;
      ok.forEach((x, k) => { imageFeat.set(f.subarray(k * D, (k + 1) * D), (s + x.j) * D); good[s + x.j] = 1; });
    }
    opts.onProgress?.(Math.min(s + batchSize, images.length), images.length);
  }
  const keepImages = [...good.keys()].filter((i) => good[i] === 1);
  const imageRow = new Map(keepImages.map((i, k) => [i, k]));
  const kept = links.filter(([i]) => imageRow.has(i));
  const usedTexts = [...new Set(kept.map(([, t]) => t))].sort((a, b) => a - b);
  const textRow = new Map(usedTexts.map((t, k) => [t, k]));
  const textFeat = new Float32Array(usedTexts.length * D);
  for (let s = 0; s < usedTexts.length; s += batchSize) {
    const ids = tokenize(usedTexts.slice(s, s + batchSize).map((t) => texts[t]), { contextLength: model.contextLength, truncate: true }).ids;
    textFeat.set(model.embedTexts(ids).data, s * D);
  }
  return {
    imageT: new Tensor(rows(imageFeat, D, keepImages), [keepImages.length, D]),
    textT: new Tensor(textFeat, [usedTexts.length, D]),
    links: kept.map(([i, t]) => [imageRow.get(i) as number, textRow.get(t) as number]),
    images: keepImages.map((i) => images[i]),
    texts: usedTexts.map((t) => texts[t]),
    failed,
  };
}
