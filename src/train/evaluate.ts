// Evaluation during training: retrieval recall and the contrastive loss on held-out pairs, and
// zero-shot accuracy on a labelled image set. Images are centre-cropped (no augmentation) and the
// model is switched to inference mode (BatchNorm running statistics) for the duration.
import type { ClipModel } from '../model/clip.js';
import type { LabelledImages } from '../eval/labelled-images.js';
import { evaluateZeroShot } from '../eval/zeroshot-eval.js';
import { Tensor, noGrad } from '../tensor/index.js';
import { clipLoss } from './clip-loss.js';
import type { EvalMetrics } from './metrics-log.js';
import type { PairSample } from './pair-dataset.js';
import { pairFeatures, rows } from './pair-features.js';
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
      const { imageT, textT, links } = await pairFeatures(model, setup.heldOut, batchSize, decoder);
      if (links.length > 0) {
        const r = retrievalRecall(imageT, textT, links);
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
            const lt = new Tensor(rows(textT.data, D, part.map(([, t]) => t)), [B, D]);
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
