// Shared set-up for the image index tests: small random CLIP models saved as safetensors, rendered
// emoji PNGs and noise PNGs.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { buildEmojiDataset } from '../../src/datasets/emoji.js';
import { SeededRandom } from '../../src/image/index.js';
import type { ClipConfig } from '../../src/model/config.js';
import { createModel } from '../../src/model/init.js';
import { saveModel } from '../../src/model/save.js';

/**
 * Smaller than the tiny-vit-32 preset (width 64, two vision layers, one text layer). Untrained, its
 * image embeddings all lie close together (cosine 0.97 to 0.9998 between different emoji), so the
 * tests that must separate identical images from merely similar ones use thresholds near 1.
 */
export const MICRO_CONFIG: ClipConfig = {
  embedDim: 32,
  vision: { kind: 'vit', imageSize: 32, patchSize: 4, width: 64, layers: 2, heads: 2 },
  text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 1, heads: 2 },
  activation: 'quickGelu',
};

/** Saves a random model made from `seed` to `file` and returns the path. */
export function saveRandomModel(file: string, seed: number, config: ClipConfig = MICRO_CONFIG): string {
  saveModel(createModel(config, seed), file);
  return file;
}

/**
 * Renders `classes` emoji in each of `styles` (32 px PNGs) and copies them into `dir` as
 * `<style>/<hexcode>.png`; returns the paths, sorted.
 */
export async function emojiFolder(dir: string, scratch: string, styles: string[], classes: number): Promise<string[]> {
  await buildEmojiDataset(scratch, { styles, classesLimit: classes, size: 32 });
  const out: string[] = [];
  for (const style of styles) {
    const from = path.join(scratch, 'images', style);
    mkdirSync(path.join(dir, style), { recursive: true });
    for (const name of readdirSync(from)) {
      copyFileSync(path.join(from, name), path.join(dir, style, name));
      out.push(path.join(dir, style, name));
    }
  }
  return out.sort();
}

/** A 32 x 32 PNG of seeded RGB noise (content that no emoji has). */
export async function noisePng(file: string, seed: number): Promise<string> {
  const rng = new SeededRandom(seed);
  const px = Buffer.alloc(32 * 32 * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.floor(rng.next() * 256);
  await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(file);
  return file;
}
