// The learning-rate schedule of CLIP's training: a linear warm-up from 0 to the peak rate, then a
// cosine decay (Loshchilov & Hutter's SGDR without restarts) to a floor at the last step. The
// warm-up keeps Adam's first updates, made with poorly estimated second moments, small.

export interface CosineScheduleOptions {
  /** The peak learning rate, reached at the end of the warm-up. */
  baseLr: number;
  /** Optimiser steps of the whole run. */
  totalSteps: number;
  /** Steps of linear warm-up. Default 0. */
  warmupSteps?: number;
  /** The rate at the end of the decay. Default 0. */
  minLr?: number;
}

export type LrSchedule = (step: number) => number;

/**
 * The rate for the update with 0-based index `step`: (step + 1)/warmup · base during the warm-up
 * (the first update already moves the parameters), then min + ½(base − min)(1 + cos(π·e/E)) with
 * e = step − warmup and E = total − warmup. Steps past the end keep the final rate.
 */
export function cosineSchedule(opts: CosineScheduleOptions): LrSchedule {
  const { baseLr, totalSteps } = opts;
  const warmup = opts.warmupSteps ?? 0;
  const minLr = opts.minLr ?? 0;
  if (!(baseLr >= 0) || !Number.isFinite(baseLr)) throw new RangeError(`learning rate must be a non-negative number, got ${baseLr}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new RangeError(`total steps must be a positive integer, got ${totalSteps}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warm-up steps must be a non-negative integer, got ${warmup}`);
  if (!(minLr >= 0 && minLr <= baseLr)) throw new RangeError(`the final learning rate must be in [0, ${baseLr}], got ${minLr}`);
  const decaySteps = Math.max(1, totalSteps - warmup);
  return (step: number): number => {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
    if (step < warmup) return (baseLr * (step + 1)) / warmup;
    const e = Math.min(step - warmup, decaySteps);
    return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos((Math.PI * e) / decaySteps));
  };
}

/** A fixed rate (the fixture's three steps, short fine-tunes). */
export function constantSchedule(lr: number): LrSchedule {
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new RangeError(`learning rate must be a non-negative number, got ${lr}`);
  return () => lr;
}
