// Shared set-up of the tests that use a real index: a handful of emoji PNGs (rendered offline),
// a small random model saved as safetensors, and the index built from them by indexDirectory.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { buildEmojiDataset } from '../../src/datasets/emoji.js';
import { indexDirectory } from '../../src/index/indexer.js';
import type { ClipConfig } from '../../src/model/config.js';
import { createModel } from '../../src/model/init.js';
import { saveModel } from '../../src/model/save.js';

/** Small enough to load and run in well under a second on a busy machine. */
export const TEST_MODEL_CONFIG: ClipConfig = {
  embedDim: 32,
  vision: { kind: 'vit', imageSize: 32, patchSize: 8, width: 64, layers: 2, heads: 2 },
  text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 1, heads: 2 },
  activation: 'quickGelu',
};

export interface RealIndex {
  imagesDir: string;
  /** The indexed files, sorted. */
  files: string[];
  db: string;
  modelFile: string;
}

/** Builds `classes` twemoji images (32 px), a random model and their index under `root`. */
export async function buildRealIndex(root: string, classes = 6): Promise<RealIndex> {
  const imagesDir = path.join(root, 'images');
  const db = path.join(root, 'db');
  const modelFile = path.join(root, 'model.safetensors');
  await buildEmojiDataset(path.join(root, 'emoji'), { styles: ['twemoji'], classesLimit: classes, size: 32, jobs: 1 });
  const from = path.join(root, 'emoji', 'images', 'twemoji');
  mkdirSync(imagesDir);
  for (const name of readdirSync(from)) copyFileSync(path.join(from, name), path.join(imagesDir, name));
  const files = readdirSync(imagesDir).map((n) => path.join(imagesDir, n)).sort();
  saveModel(createModel(TEST_MODEL_CONFIG, 3), modelFile);
  const report = await indexDirectory(imagesDir, db, { model: modelFile, workers: 0 });
  if (report.total !== files.length) throw new Error(`indexed ${report.total} of ${files.length} images`);
  return { imagesDir, files, db, modelFile };
}
