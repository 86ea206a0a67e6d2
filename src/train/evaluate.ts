// Evaluation during training: retrieval recall and the contrastive loss on held-out pairs, and
// zero-shot accuracy on a labelled image set. Images are centre-cropped (no augmentation) and the
// model is switched to inference mode (BatchNorm running statistics) for the duration.
import type { ClipModel } from '../model/clip.js';
import type { LabelledImages } from '../eval/labelled-images.js';
import { evaluateZeroShot } from '../eval/zeroshot-eval.js';
import { Tensor, noGrad, type FloatArray } from '../tensor/index.js';
import { tokenize } from '../text/index.js';
import { clipLoss } from './clip-loss.js';
import type { EvalMetrics } from './metrics-log.js';
import { imageName, type PairSample } from './pair-dataset.js';
import { retrievalRecall } from './retrieval.js';
import { SampleDecoder } from './sample-decoder.js';

export interface ZeroShotSetup {
  data: LabelledImages;
  templates: string[];
  templatesName: string;
}

export interface EvaluationSetup {
  /** Held-out pairs for retrieval recall@1/5 and the validation loss. */
  heldOut?: readonly PairSample[];
  zeroShot?: ZeroShotSetup;
  /** Images or texts per forward pass. Default 64. */
  batchSize?: number;
  /** Batch size of the validation loss (the training batch size, so it is comparable). */
  lossBatchSize?: number;
  workers?: number;
}

/** Runs fn with the model in inference mode, restoring the previous mode after. */
async function inInferenceMode<T>(model: ClipModel, fn: () => Promise<T>): Promise<T> {
  const was = model.training;
  model.training = false;
  try {
    return await fn();
  } finally {
    model.training = was;
  }
}

/** Image and text features of the held-out pairs, deduplicated by image and by caption. */
async function heldOutFeatures(model: ClipModel, pairs: readonly PairSample[], batchSize: number, decoder: SampleDecoder) {
  const imageKeys = new Map<string, number>();
  const textKeys = new Map<string, number>();
  const images: PairSample[] = [];
  const texts: string[] = [];
  const links: [number, number][] = [];
  for (const p of pairs) {
    const ik = imageName(p.image);
    let i = imageKeys.get(ik);
    if (i === undefined) { i = images.length; imageKeys.set(ik, i); images.push(p); }
    let t = textKeys.get(p.caption);
    if (t === undefined) { t = texts.length; textKeys.set(p.caption, t); texts.push(p.caption); }
    links.push([i, t]);
  }
  const D = model.config.embedDim;
  const S = model.imageSize;
  const imageFeat = new Float32Array(images.length * D);
  const good = new Uint8Array(images.length);
  for (let s = 0; s < images.length; s += batchSize) {
    const chunk = images.slice(s, s + batchSize);
    const results = await Promise.all(chunk.map((p, j) => decoder.decode(p, s + j, 0)));
    const ok = results.map((r, j) => ({ r, j })).filter((x) => x.r.ok);
    if (ok.length === 0) continue;
    const pixels = new Float32Array(ok.length * 3 * S * S);
    ok.forEach((x, k) => { if (x.r.ok) pixels.set(x.r.tensor, k * 3 * S * S); });
    const f = model.embedImages(new Tensor(pixels, [ok.length, 3, S, S])).data;
    ok.forEach((x, k) => { imageFeat.set(f.subarray(k * D, (k + 1) * D), (s + x.j) * D); good[s + x.j] = 1; });
  }
  const textFeat = new Float32Array(texts.length * D);
  for (let s = 0; s < texts.length; s += batchSize) {
    const ids = tokenize(texts.slice(s, s + batchSize), { contextLength: model.contextLength, truncate: true }).ids;
    textFeat.set(model.embedTexts(ids).data, s * D);
  }
  return { imageFeat, textFeat, links, good, imageCount: images.length, textCount: texts.length };
}

/** Keeps rows `keep` of a [n, D] matrix. */
function rows(data: FloatArray, D: number, keep: number[]): Float32Array {
  const out = new Float32Array(keep.length * D);
  keep.forEach((r, i) => out.set(data.subarray(r * D, (r + 1) * D), i * D));
  return out;
}

/**
 * The evaluation row for `step` (figures in percent). `decoder` (centre crops at the model's size)
 * may be shared between evaluations; by default one is made and closed.
 */
export async function evaluate(model: ClipModel, step: number, setup: EvaluationSetup, decoder?: SampleDecoder): Promise<EvalMetrics> {
  const own = decoder === undefined && setup.heldOut !== undefined && setup.heldOut.length > 0
    ? new SampleDecoder({ size: model.imageSize, ...(setup.workers !== undefined ? { workers: setup.workers } : {}) })
    : undefined;
  try {
    return await evaluateWith(model, step, setup, decoder ?? own);
  } finally {
    await own?.close();
  }
}

async function evaluateWith(model: ClipModel, step: number, setup: EvaluationSetup, decoder: SampleDecoder | undefined): Promise<EvalMetrics> {
  return inInferenceMode(model, async () => {
    const out: EvalMetrics = { kind: 'eval', step };
    const batchSize = setup.batchSize ?? 64;
    if (setup.heldOut !== undefined && setup.heldOut.length > 0 && decoder !== undefined) {
      const D = model.config.embedDim;
      const f = await heldOutFeatures(model, setup.heldOut, batchSize, decoder);
      // Images that failed to decode are left out with their links.
      const keepImages = [...f.good.keys()].filter((i) => f.good[i] === 1);
      const newIndex = new Map(keepImages.map((i, k) => [i, k]));
      const links = f.links.filter(([i]) => newIndex.has(i)).map(([i, t]) => [newIndex.get(i) as number, t] as [number, number]);
      const usedTexts = [...new Set(links.map(([, t]) => t))].sort((a, b) => a - b);
      const textIndex = new Map(usedTexts.map((t, k) => [t, k]));
      if (links.length > 0) {
        const imageT = new Tensor(rows(f.imageFeat, D, keepImages), [keepImages.length, D]);
        const textT = new Tensor(rows(f.textFeat, D, usedTexts), [usedTexts.length, D]);
        const r = retrievalRecall(imageT, textT, links.map(([i, t]) => [i, textIndex.get(t) as number]));
        out.image_to_text_r1 = r.imageToText[1];
        out.image_to_text_r5 = r.imageToText[5];
        out.text_to_image_r1 = r.textToImage[1];
        out.text_to_image_r5 = r.textToImage[5];
        // Validation loss over consecutive batches of pairs (a shared caption counts as a negative,
        // as it would in a training batch).
        const B = Math.min(setup.lossBatchSize ?? links.length, links.length);
        if (B >= 2) {
          let sum = 0;
          let count = 0;
          for (let s = 0; s + B <= links.length; s += B) {
            const part = links.slice(s, s + B);
            const li = new Tensor(rows(imageT.data, D, part.map(([i]) => i)), [B, D]);
            const lt = new Tensor(rows(textT.data, D, part.map(([, t]) => textIndex.get(t) as number)), [B, D]);
            sum += noGrad(() => clipLoss(li, lt, model.params.get('logit_scale')).loss.item());
            count++;
          }
          out.val_loss = sum / count;
        }
      }
    }
    if (setup.zeroShot !== undefined) {
      const z = await evaluateZeroShot(model, setup.zeroShot.data, {
        templates: setup.zeroShot.templates, templatesName: setup.zeroShot.templatesName, truncate: true,
        imageBatchSize: batchSize, ...(setup.workers !== undefined ? { workers: setup.workers } : {}),
      });
      out.zeroshot_top1 = z.report.top1;
      out.zeroshot_top5 = z.report.top5;
    }
    return out;
  });
}
