// The model library: load a checkpoint by name or path, encode images and texts.
import { existsSync } from 'node:fs';
import { assetPath } from '../paths.js';
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
}

/**
 * The local file for a model: an existing path as is, a registry name (ViT-B/32, RN50, a
 * registered open_clip/HF model) from the download cache, or, with no name, the bundled default.
 * Never downloads: a known but missing model is an error that says how to download it.
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
    const names = listModels(opts.cacheDir).map((m) => m.name).join(', ');
    throw new Error(`model "${nameOrPath}" is neither a file nor a known model name (known: ${names})`);
  }
  const p = cachedModelPath(known, opts.cacheDir);
  if (!existsSync(p)) throw new Error(`model ${known.name} is not downloaded yet: run \`clip-ts download ${known.name}\` (${known.url})`);
  return p;
}

/** Loads a model by name or path (see resolveModelFile). */
export async function loadModel(nameOrPath?: string, opts: LoadOptions & ResolveOptions = {}): Promise<ClipModel> {
  return loadModelFile(resolveModelFile(nameOrPath, opts), opts);
}
