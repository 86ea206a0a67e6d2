// The training loop: batches → steps → logs, evaluations, plots and checkpoints, resumable at any
// checkpoint with results identical to an uninterrupted run (same parameters bit for bit, given
// the same thread count: the kernels are deterministic for a fixed partition of the work).
//
// Output folder:
//   run.json            the run's options (written at the start, checked on resume)
//   metrics.jsonl       train and eval rows (metrics-log.ts)
//   plots/*.svg, *.png  loss, learning rate, logit scale, evaluation (plots.ts)
//   checkpoints/        step-N model + optimiser files and latest.json (checkpoint.ts)
//   model.safetensors   the final model (+ .json config sidecar)
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { ClipModel } from '../model/clip.js';
import type { ClipConfig } from '../model/config.js';
import { saveModel } from '../model/save.js';
import { Tensor, withMatmulPrecision, type MatmulPrecision } from '../tensor/index.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { AdamW } from './adamw.js';
import { loadCheckpoint, restoreOptimizer, saveCheckpoint, type TrainState } from './checkpoint.js';
import { trainingBatches, type SkippedSample } from './data.js';
import { evaluate, type EvaluationSetup } from './evaluate.js';
import { MetricsLog, type EvalMetrics, type TrainMetrics } from './metrics-log.js';
import { datasetFingerprint, type PairSample } from './pair-dataset.js';
import { paramGroups } from './param-groups.js';
import { writeTrainingPlots } from './plots.js';
import { SampleDecoder } from './sample-decoder.js';
import { cosineSchedule } from './schedule.js';
import { trainStep } from './train-step.js';

/** The hyper-parameters that define a run (stored in run.json; a resume must not change them). */
export interface RunOptions {
  batchSize: number;
  /** Optimiser steps of the whole run. */
  steps: number;
  lr: number;
  warmupSteps: number;
  minLr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clipping; undefined: none. */
  maxGradNorm?: number;
  seed: number;
  /** Random resized crops (scale 0.9–1); false: centre crops. */
  augment: boolean;
  /** Linear layers' products in bf16 with fp32 master weights (mixed precision); default fp32. */
  precision?: MatmulPrecision;
}

/** Options that may differ between a run and its resumption (machine-dependent or cosmetic). */
export interface SessionOptions {
  /** Pairs per forward/backward chunk (gradient caching); default the batch. Changes only rounding. */
  chunkSize?: number;
  workers?: number;
  /** Save a checkpoint every N steps (and always at the end). Default 500. */
  checkpointEvery?: number;
  /** Checkpoints kept. Default 2. */
  keepCheckpoints?: number;
  /** Write a train row to metrics.jsonl every N steps. Default 10. */
  logEvery?: number;
  /** Evaluate (and redraw the plots) every N steps, and at the start and the end. 0: only at the end. */
  evalEvery?: number;
  evaluation?: EvaluationSetup;
  /** Parameters to train (default all): fine-tuning part of a model. */
  trainable?: (name: string) => boolean;
  /** End this session after N steps, with a checkpoint (time-boxed sessions; resume later). */
  stopAfter?: number;
  /** Polled after every step: true saves a checkpoint and ends the session (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Called after every step (the progress line). */
  onStep?: (info: StepInfo) => void;
  onEval?: (row: EvalMetrics) => void;
  onCheckpoint?: (step: number, dir: string) => void;
  onSkipped?: (sample: SkippedSample) => void;
}

export interface StepInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  logitScale: number;
  gradNorm: number;
  /** Over the last few steps of this session. */
  samplesPerSecond: number;
  etaSeconds: number;
  skippedSamples: number;
}

export interface TrainResult {
  state: TrainState;
  /** True when the run reached its last step (false: stopped by stopAfter). */
  finished: boolean;
  /** The final model file, when finished. */
  modelFile?: string;
  resumedFrom?: number;
  lastEval?: EvalMetrics;
}

export const RUN_FILE = 'run.json';

/** The run's record in run.json. */
export interface RunRecord {
  format: 'clip-ts-train-run';
  options: RunOptions;
  /** How the model was made (`preset tiny-vit-64`, `init ViT-B/32`, `config file.json`), for the record. */
  modelSource: string;
  /** The architecture trained. */
  modelConfig: ClipConfig;
  data: string[];
  dataFingerprint: string;
  trainPairs: number;
  startedAt: string;
}

function checkRunOptions(o: RunOptions): void {
  const int = (v: number, what: string, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${what} must be an integer of at least ${min}, got ${v}`);
  };
  int(o.batchSize, 'batch size', 2);
  int(o.steps, 'steps', 1);
  int(o.warmupSteps, 'warm-up steps', 0);
  if (!Number.isSafeInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  if (o.maxGradNorm !== undefined && !(o.maxGradNorm > 0)) throw new RangeError(`gradient clipping norm must be positive, got ${o.maxGradNorm}`);
}

/** Differences between two runs' options, as `name: a → b` strings. */
function optionDifferences(a: RunOptions, b: RunOptions): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof RunOptions>;
  return [...keys].filter((k) => a[k] !== b[k]).map((k) => `${k}: ${String(a[k])} → ${String(b[k])}`);
}

/** The record of a run in `outDir`, if one was started there. */
export function readRunRecord(outDir: string): RunRecord | undefined {
  const file = path.join(outDir, RUN_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RunRecord;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

export interface TrainInput {
  outDir: string;
  /** The model to start from (fresh or pre-trained); ignored when resuming from a checkpoint. */
  model: () => ClipModel;
  modelSource: string;
  /** The training pairs and the names of their sources. */
  pairs: readonly PairSample[];
  dataSources: string[];
  options: RunOptions;
  /** Continue from outDir's latest checkpoint when there is one (else start). */
  resume: boolean;
}

/**
 * Trains until `options.steps` (or `stopAfter` steps in this session). With `resume` and a
 * checkpoint in `outDir`, continues it; a run's options and data must match the stored ones.
 */
export async function train(input: TrainInput, session: SessionOptions = {}): Promise<TrainResult> {
  const opts = input.options;
  checkRunOptions(opts);
  const outDir = input.outDir;
  const ckptDir = path.join(outDir, 'checkpoints');
  const plotDir = path.join(outDir, 'plots');
  mkdirSync(plotDir, { recursive: true });
  const fingerprint = datasetFingerprint(input.pairs);
  const metrics = new MetricsLog(path.join(outDir, 'metrics.jsonl'));

  const previous = readRunRecord(outDir);
  const checkpoint = input.resume ? loadCheckpoint(ckptDir) : undefined;
  if (checkpoint === undefined && existsSync(path.join(ckptDir, 'latest.json')) && !input.resume) {
    throw new Error(`${outDir} already holds a run with checkpoints: pass --resume to continue it, or choose another output folder`);
  }
  let model: ClipModel;
  let state: TrainState;
  if (checkpoint !== undefined) {
    if (previous !== undefined) {
      const diff = optionDifferences(previous.options, opts);
      if (diff.length > 0) throw new Error(`cannot resume ${outDir} with different options (${diff.join('; ')}); use a new output folder`);
    }
    state = checkpoint.record.state;
    if (state.dataFingerprint !== fingerprint) {
      throw new Error(`cannot resume ${outDir}: the training data differ from the run's (${input.pairs.length} pairs, fingerprint ${fingerprint} vs ${state.dataFingerprint})`);
    }
    model = checkpoint.model;
    // A checkpoint is read back through the weights layer, which infers the architecture from the
    // tensor shapes; a hyper-parameter the shapes cannot tell must still match the run's.
    if (previous?.modelConfig !== undefined && !isDeepStrictEqual(model.config, previous.modelConfig)) {
      throw new Error(`cannot resume ${outDir}: the checkpoint reads back as ${JSON.stringify(model.config)}, but the run trains ${JSON.stringify(previous.modelConfig)}`);
    }
    metrics.truncateAfter(state.step);
  } else {
    model = input.model();
    state = { step: 0, cursor: { epoch: 0, position: 0 }, samplesSeen: 0, skippedSamples: 0, skippedSteps: 0, seed: opts.seed, dataFingerprint: fingerprint, elapsedSeconds: 0 };
    metrics.truncateAfter(-1);
    const record: RunRecord = {
      format: 'clip-ts-train-run', options: opts, modelSource: input.modelSource, modelConfig: model.config, data: input.dataSources,
      dataFingerprint: fingerprint, trainPairs: input.pairs.length, startedAt: new Date().toISOString(),
    };
    writeTextAtomic(path.join(outDir, RUN_FILE), JSON.stringify(record, null, 2) + '\n');
  }

  model.training = true;
  const optimizer = new AdamW(paramGroups(model.params, { weightDecay: opts.weightDecay, ...(session.trainable !== undefined ? { trainable: session.trainable } : {}) }),
    { beta1: opts.beta1, beta2: opts.beta2, eps: opts.eps });
  if (checkpoint !== undefined) restoreOptimizer(optimizer, checkpoint.optimizer);
  const schedule = cosineSchedule({ baseLr: opts.lr, totalSteps: opts.steps, warmupSteps: opts.warmupSteps, minLr: opts.minLr });
  const S = model.imageSize;
  const B = opts.batchSize;
  const checkpointEvery = session.checkpointEvery ?? 500;
  const logEvery = session.logEvery ?? 10;
  const evalEvery = session.evalEvery ?? 0;
  const evaluation = session.evaluation;
  const hasEval = evaluation !== undefined && (evaluation.heldOut !== undefined || evaluation.zeroShot !== undefined);
  let lastEval: EvalMetrics | undefined;
  // One centre-crop decoder for all evaluations (its worker threads start once).
  const evalDecoder = hasEval && evaluation?.heldOut !== undefined
    ? new SampleDecoder({ size: S, ...(evaluation.workers !== undefined ? { workers: evaluation.workers } : session.workers !== undefined ? { workers: session.workers } : {}) })
    : undefined;
  const runEval = async (): Promise<void> => {
    if (!hasEval || evaluation === undefined) return;
    lastEval = await evaluate(model, state.step, { lossBatchSize: B, ...evaluation }, evalDecoder);
    metrics.append(lastEval);
    session.onEval?.(lastEval);
  };
  const plots = async (): Promise<void> => { await writeTrainingPlots(plotDir, metrics.read()); };

  const decoder = new SampleDecoder({
    size: S, ...(opts.augment ? { augment: { seed: opts.seed } } : {}), ...(session.workers !== undefined ? { workers: session.workers } : {}),
  });
  const resumedFrom = checkpoint !== undefined ? state.step : undefined;
  const sessionStart = performance.now();
  const elapsedBefore = state.elapsedSeconds;
  let sessionSteps = 0;
  let logLossSum = 0;
  let logSteps = 0;
  let logStart = performance.now();
  let logSamples = 0;
  const recent: { t: number; samples: number }[] = [{ t: performance.now(), samples: 0 }];
  let finished = state.step >= opts.steps;
  try {
    if (!finished && state.step === 0 && hasEval && evalEvery > 0) await runEval();
    if (!finished && !(session.stopAfter !== undefined && session.stopAfter <= 0)) {
      for await (const batch of trainingBatches(input.pairs, decoder, state.cursor, { batchSize: B, contextLength: model.contextLength, seed: opts.seed })) {
        for (const s of batch.skipped) session.onSkipped?.(s);
        const lr = schedule(state.step);
        const r = withMatmulPrecision(opts.precision ?? 'fp32', () => trainStep(model, optimizer, { images: new Tensor(batch.images, [B, 3, S, S]), tokens: batch.tokens }, {
          lr, ...(opts.maxGradNorm !== undefined ? { maxGradNorm: opts.maxGradNorm } : {}), ...(session.chunkSize !== undefined ? { chunkSize: session.chunkSize } : {}),
        }));
        optimizer.zeroGrad(); // free the gradients before the next batch is assembled
        state.step++;
        sessionSteps++;
        state.cursor = batch.next;
        state.samplesSeen += B;
        state.skippedSamples += batch.skipped.length;
        if (r.skipped) state.skippedSteps++;
        const now = performance.now();
        state.elapsedSeconds = elapsedBefore + (now - sessionStart) / 1000;
        if (Number.isFinite(r.loss)) { logLossSum += r.loss; logSteps++; }
        logSamples += B;
        recent.push({ t: now, samples: sessionSteps * B });
        if (recent.length > 21) recent.shift();
        const rate = (recent[recent.length - 1].samples - recent[0].samples) / Math.max(1e-9, (recent[recent.length - 1].t - recent[0].t) / 1000);
        session.onStep?.({
          step: state.step, totalSteps: opts.steps, epoch: batch.start.epoch, loss: r.loss, lr, logitScale: r.logitScale, gradNorm: r.gradNorm,
          samplesPerSecond: rate, etaSeconds: rate > 0 ? ((opts.steps - state.step) * B) / rate : NaN, skippedSamples: state.skippedSamples,
        });
        finished = state.step >= opts.steps;
        if (state.step % logEvery === 0 || finished) {
          const row: TrainMetrics = {
            kind: 'train', step: state.step, epoch: batch.start.epoch, loss: logSteps > 0 ? logLossSum / logSteps : NaN, lr, logit_scale: r.logitScale,
            grad_norm: r.gradNorm, samples_per_second: logSamples / Math.max(1e-9, (now - logStart) / 1000), samples_seen: state.samplesSeen,
            skipped_samples: state.skippedSamples, elapsed_seconds: state.elapsedSeconds,
          };
          metrics.append(row);
          logLossSum = 0;
          logSteps = 0;
          logSamples = 0;
          logStart = now;
        }
        const evalNow = hasEval && (finished || (evalEvery > 0 && state.step % evalEvery === 0));
        if (evalNow) await runEval();
        const stopping = !finished && (session.shouldStop?.() === true || (session.stopAfter !== undefined && sessionSteps >= session.stopAfter));
        const checkpointNow = state.step % checkpointEvery === 0 || finished || stopping;
        if (checkpointNow) {
          saveCheckpoint(ckptDir, model, optimizer, state, session.keepCheckpoints ?? 2);
          session.onCheckpoint?.(state.step, ckptDir);
        }
        if (evalNow || checkpointNow) await plots();
        if (finished || stopping) break;
      }
    }
  } finally {
    await decoder.close();
    await evalDecoder?.close();
  }
  const result: TrainResult = { state, finished, ...(resumedFrom !== undefined ? { resumedFrom } : {}), ...(lastEval !== undefined ? { lastEval } : {}) };
  if (finished) {
    const modelFile = path.join(outDir, 'model.safetensors');
    saveModel(model, modelFile, { metadata: { clip_ts_train_steps: String(state.step) } });
    result.modelFile = modelFile;
  }
  return result;
}
