// One optimisation step of contrastive training: clear the gradients, forward and backward (in one
// pass or chunked with gradient caching), measure and optionally clip the global gradient norm,
// update with AdamW, and keep the temperature in range.
import type { ClipModel } from '../model/clip.js';
import type { AdamW } from './adamw.js';
import { gradCacheBackward, type ContrastiveBatch } from './grad-cache.js';
import { clipGradNorm, globalGradNorm } from './grad-norm.js';

/**
 * The upper limit of logit_scale, ln 100: CLIP clips the learned inverse temperature at 100 "to
 * prevent scaling the logits by more than 100, which we found necessary to prevent training
 * instability". The lower limit 0 (temperature 1) is open_clip's.
 */
export const MAX_LOGIT_SCALE = Math.log(100);

export interface TrainStepOptions {
  lr: number;
  /** Clip the global gradient norm to this value. Default: no clipping. */
  maxGradNorm?: number;
  /** Pairs per forward/backward chunk (gradient caching); default the whole batch. */
  chunkSize?: number;
}

export interface TrainStepResult {
  /** Loss of the batch before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** logit_scale after the update (and clamp). */
  logitScale: number;
  /** True when the loss or a gradient was not finite and the update was skipped. */
  skipped: boolean;
}

/** Clamps logit_scale into [0, ln 100] in place; returns the new value. */
export function clampLogitScale(model: ClipModel): number {
  const p = model.params.get('logit_scale');
  const v = Math.min(Math.max(p.data[0], 0), MAX_LOGIT_SCALE);
  p.data[0] = v;
  return p.data[0];
}

/** Runs one step on `batch` and returns its loss and gradient norm. */
export function trainStep(model: ClipModel, optimizer: AdamW, batch: ContrastiveBatch, opts: TrainStepOptions): TrainStepResult {
  optimizer.zeroGrad({ recycle: true }); // the previous step's gradients are not read after this
  const n = batch.images.dim(0);
  const { loss } = gradCacheBackward(model, batch, opts.chunkSize ?? n);
  const gradNorm = opts.maxGradNorm !== undefined
    ? clipGradNorm(optimizer.parameters(), opts.maxGradNorm)
    : globalGradNorm(optimizer.parameters());
  // A non-finite loss or gradient would poison the moments for good; drop this batch instead.
  const skipped = !Number.isFinite(loss) || !Number.isFinite(gradNorm);
  if (!skipped) optimizer.step(opts.lr);
  // The gradients stay in `.grad` until the next step (whose zeroGrad recycles them) for inspection.
  return { loss, gradNorm, logitScale: clampLogitScale(model), skipped };
}
