// The run shared by resume.test.ts and its child process: a tiny ViT on a handful of emoji pairs
// (one of them a corrupt file), batches of 8 in gradient-cache chunks of 4, 2 steps per epoch.
import path from 'node:path';
import { createModel } from '../../src/model/index.js';
import { readCaptionTable } from '../../src/train/caption-table.js';
import { train, type SessionOptions, type TrainResult } from '../../src/train/trainer.js';
import { E2E_CONFIG } from './tiny-configs.js';

export interface ResumeScenario {
  out: string;
  table: string;
  steps: number;
  killAfter: number;
}

export function resumeScenario(s: ResumeScenario, extra: SessionOptions = {}): Promise<TrainResult> {
  return train({
    outDir: s.out,
    model: () => createModel(E2E_CONFIG, 3),
    modelSource: 'test',
    pairs: readCaptionTable(s.table),
    dataSources: [path.basename(s.table)],
    options: { batchSize: 8, steps: s.steps, lr: 1e-3, warmupSteps: 2, minLr: 0, weightDecay: 0.2, beta1: 0.9, beta2: 0.98, eps: 1e-6, maxGradNorm: 5, seed: 11, augment: true },
    resume: true,
  }, { chunkSize: 4, workers: 0, checkpointEvery: 3, logEvery: 1, ...extra });
}
