// The model library: load a checkpoint by name or path, encode images and texts.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { assetPath } from '../paths.js';
import { resolveModelPath } from '../weights/download.js';
import { cachedModelPath, findModel, listModels } from '../weights/registry.js';
import type { ClipModel } from './clip.js';
import { loadModelFile, type LoadOptions } from './load.js';

export { ClipModel, type ClipOutput } from './clip.js';
export { describeConfig, fromCheckpointConfig, toCheckpointConfig, type ClipConfig, type VitConfig, type ResNetConfig, type TextConfig, type Activation } from './config.js';
export { createModel } from './init.js';
export { loadModelFile, modelFromStateDict, type LoadOptions } from './load.js';
export { saveModel, savedConfig, type SaveModelOptions } from './save.js';
export { ParamStore, type ActivationHook } from './params.js';
export { endTokenPositions, type EncodeTextOptions } from './text.js';
export { ModelWorker, type ModelInfo } from './worker.js';

/** The model shipped in the package (the quick start's default), if present. */
export const DEFAULT_MODEL_FILE = 'models/default.safetensors';

export interface ResolveOptions {
  /** The download cache (default $CLIP_TS_CACHE or ~/.cache/clip-ts). */
  cacheDir?: string;
  /** Download a known model that is not cached yet (default false: no network unless asked). */
  download?: boolean;
}

/**
 * The local file for a model, without any network: an existing path as is, a registry name
 * (ViT-B/32, RN50, a registered open_clip/HF model) from the download cache, or, with no name, the
 * bundled default. A known model that is not cached is an error that says how to download it.
 */
export function resolveModelFile(nameOrPath: string | undefined, opts: ResolveOptions = {}): string {
  if (nameOrPath === undefined || nameOrPath === '' || nameOrPath === 'default') {
    const p = assetPath(DEFAULT_MODEL_FILE);
    if (!existsSync(p)) throw new Error(`no default model is bundled in this package (${p} is missing); pass --model NAME|PATH`);
    return p;
  }
  if (existsSync(nameOrPath)) return nameOrPath;
  const known = findModel(nameOrPath, opts.cacheDir);
  if (known === undefined) {
    throw new Error(`${nameOrPath}: no such file, and not a known model name (known: ${listModels(opts.cacheDir).map((m) => m.name).join(', ')})`);
  }
  const p = cachedModelPath(known, opts.cacheDir);
  if (!existsSync(p)) throw new Error(`model ${known.name} is not in the cache folder ${path.dirname(p)} (run \`clip-ts download ${known.name}\`, or pass download: true)`);
  return p;
}

/** Loads a model by name or path; with `download: true` a known model missing from the cache is downloaded first. */
export async function loadModel(nameOrPath?: string, opts: LoadOptions & ResolveOptions = {}): Promise<ClipModel> {
  const file = opts.download === true && nameOrPath !== undefined && !existsSync(nameOrPath)
    ? await resolveModelPath(nameOrPath, { cacheDir: opts.cacheDir })
    : resolveModelFile(nameOrPath, opts);
  return loadModelFile(file, opts);
}
