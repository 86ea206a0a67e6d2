// Training checkpoints: everything needed to continue a run as if it had not stopped.
//
//   <dir>/step-000300.safetensors        the model (saveModel: OpenAI key names + config; usable
//                                        anywhere a model path is accepted)
//   <dir>/step-000300.optim.safetensors  AdamW's moments, m/<param> and v/<param>
//   <dir>/latest.json                    the commit record: the two file names and the run state
//                                        (step, data cursor, counters, seed, data fingerprint)
//
// Each file is written atomically, and latest.json last: a crash at any moment leaves latest.json
// naming a complete older checkpoint. Older checkpoints beyond `keep` are deleted afterwards. The
// run's randomness (epoch orders, crops) is a pure function of the seed, the epoch and the sample,
// so the data cursor is the whole RNG state.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ClipModel } from '../model/clip.js';
import { loadModelFile } from '../model/load.js';
import { saveModel } from '../model/save.js';
import { openCheckpoint } from '../weights/checkpoint.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { saveSafetensors, type TensorToSave } from '../weights/save-safetensors.js';
import type { AdamW, AdamWParamState } from './adamw.js';
import type { DataCursor } from './data.js';

export const LATEST = 'latest.json';
const OPTIMIZER_METADATA_KEY = 'clip_ts_adamw';

/** The run's progress, stored with every checkpoint. */
export interface TrainState {
  /** Optimiser steps completed. */
  step: number;
  /** Where the next batch starts. */
  cursor: DataCursor;
  samplesSeen: number;
  /** Samples skipped so far (corrupt or missing images). */
  skippedSamples: number;
  /** Updates skipped because of a non-finite loss or gradient. */
  skippedSteps: number;
  seed: number;
  /** datasetFingerprint() of the training pairs. */
  dataFingerprint: string;
  /** Training time so far, across resumptions. */
  elapsedSeconds: number;
}

export interface CheckpointRecord {
  format: 'clip-ts-train-checkpoint';
  version: 1;
  step: number;
  model: string;
  optimizer: string;
  state: TrainState;
  savedAt: string;
}

export interface LoadedCheckpoint {
  record: CheckpointRecord;
  model: ClipModel;
  /** AdamW state by parameter name. */
  optimizer: Map<string, AdamWParamState>;
  optimizerHyper: { beta1: number; beta2: number; eps: number };
}

function stepName(step: number): string {
  return `step-${String(step).padStart(6, '0')}`;
}

/** Writes a checkpoint of `model` and `optimizer` at `state.step` into `dir`; keeps the newest `keep`. */
export function saveCheckpoint(dir: string, model: ClipModel, optimizer: AdamW, state: TrainState, keep = 2): CheckpointRecord {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`checkpoints to keep must be a positive integer, got ${keep}`);
  mkdirSync(dir, { recursive: true });
  const base = stepName(state.step);
  const modelFile = `${base}.safetensors`;
  const optimFile = `${base}.optim.safetensors`;
  saveModel(model, path.join(dir, modelFile), { metadata: { clip_ts_train_step: String(state.step) } });
  const tensors: TensorToSave[] = [];
  const steps: Record<string, number> = {};
  for (const [name, s] of optimizer.state) {
    const f32 = (a: Float32Array | Float64Array): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));
    tensors.push({ name: `m/${name}`, dtype: 'float32', shape: [s.m.length], data: f32(s.m) });
    tensors.push({ name: `v/${name}`, dtype: 'float32', shape: [s.v.length], data: f32(s.v) });
    steps[name] = s.step;
  }
  const hyper = { beta1: optimizer.beta1, beta2: optimizer.beta2, eps: optimizer.eps, steps };
  saveSafetensors(path.join(dir, optimFile), tensors, { [OPTIMIZER_METADATA_KEY]: JSON.stringify(hyper) });
  const record: CheckpointRecord = {
    format: 'clip-ts-train-checkpoint', version: 1, step: state.step, model: modelFile, optimizer: optimFile, state, savedAt: new Date().toISOString(),
  };
  writeTextAtomic(path.join(dir, LATEST), JSON.stringify(record, null, 2) + '\n');
  pruneCheckpoints(dir, keep);
  return record;
}

/** Deletes all but the newest `keep` checkpoints (never the one latest.json names). */
function pruneCheckpoints(dir: string, keep: number): void {
  const steps = [...new Set(readdirSync(dir).map((f) => /^step-(\d+)\./.exec(f)?.[1]).filter((s): s is string => s !== undefined))]
    .map(Number).sort((a, b) => b - a);
  const latest = readLatest(dir)?.step;
  for (const s of steps.slice(keep)) {
    if (s === latest) continue;
    for (const f of readdirSync(dir)) if (f.startsWith(`${stepName(s)}.`)) rmSync(path.join(dir, f), { force: true });
  }
}

/** The commit record of `dir`, or undefined when there is no checkpoint yet. */
export function readLatest(dir: string): CheckpointRecord | undefined {
  const file = path.join(dir, LATEST);
  if (!existsSync(file)) return undefined;
  let rec: CheckpointRecord;
  try {
    rec = JSON.parse(readFileSync(file, 'utf8')) as CheckpointRecord;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (rec.format !== 'clip-ts-train-checkpoint' || rec.version !== 1 || typeof rec.model !== 'string' || typeof rec.optimizer !== 'string' || typeof rec.state !== 'object') {
    throw new Error(`${file}: not a clip-ts training checkpoint record`);
  }
  return rec;
}

/** Loads the checkpoint latest.json names: the model, the optimiser state and the run state. */
export function loadCheckpoint(dir: string): LoadedCheckpoint | undefined {
  const record = readLatest(dir);
  if (record === undefined) return undefined;
  const model = loadModelFile(path.join(dir, record.model));
  const optimFile = path.join(dir, record.optimizer);
  const ckpt = openCheckpoint(optimFile);
  try {
    const raw = ckpt.metadata[OPTIMIZER_METADATA_KEY];
    if (raw === undefined) throw new Error(`${optimFile}: no optimiser metadata (${OPTIMIZER_METADATA_KEY})`);
    const hyper = JSON.parse(raw) as { beta1: number; beta2: number; eps: number; steps: Record<string, number> };
    const optimizer = new Map<string, AdamWParamState>();
    for (const [name, step] of Object.entries(hyper.steps)) {
      const m = ckpt.entries.get(`m/${name}`);
      const v = ckpt.entries.get(`v/${name}`);
      if (m === undefined || v === undefined) throw new Error(`${optimFile}: moments of ${name} are missing`);
      if (!model.params.has(name) || model.params.get(name).size !== m.numel || m.numel !== v.numel) {
        throw new Error(`${optimFile}: moments of ${name} do not match the model's parameter`);
      }
      optimizer.set(name, { m: m.toFloat32(), v: v.toFloat32(), step });
    }
    return { record, model, optimizer, optimizerHyper: { beta1: hyper.beta1, beta2: hyper.beta2, eps: hyper.eps } };
  } finally {
    ckpt.close();
  }
}

/** Puts loaded moments into an optimiser built over the loaded model's parameters. */
export function restoreOptimizer(optimizer: AdamW, state: ReadonlyMap<string, AdamWParamState>): void {
  const names = new Set([...optimizer.parameters()].map(([n]) => n));
  for (const [name, s] of state) {
    if (!names.has(name)) throw new Error(`checkpoint has optimiser state for ${name}, which this run does not train (were the trainable parameters changed?)`);
    optimizer.state.set(name, { m: s.m, v: s.v, step: s.step });
  }
}
