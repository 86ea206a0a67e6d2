// The model behind an index. Embeddings from different weights live in unrelated spaces, so an
// index records which weights made it (the SHA-256 of the model file: names and paths can change,
// the bytes cannot) and every later indexing run or search checks that it uses the same ones.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ClipModel } from '../model/clip.js';
import { loadModelFile } from '../model/load.js';
import { resolveModelFile } from '../model/index.js';
import type { IndexModelInfo } from './image-index.js';

/** What the index records for a model given without a name: the bundled default. */
export const DEFAULT_MODEL_NAME = 'default';

export interface IndexModel {
  model: ClipModel;
  /** The model file that was loaded. */
  file: string;
  /** What an index built with this model records. */
  info: IndexModelInfo;
}

export interface LoadIndexModelOptions {
  /** The download cache, for registry names (default $CLIP_TS_CACHE or ~/.cache/clip-ts). */
  cacheDir?: string;
}

/** The model's weights and the index disagree. */
export class ModelMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelMismatchError';
  }
}

const hashCache = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

/** SHA-256 of a file, hex; remembered per path while its size and mtime stay the same. */
export async function fileSha256(file: string): Promise<string> {
  const abs = path.resolve(file);
  const st = statSync(abs);
  const known = hashCache.get(abs);
  if (known !== undefined && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.sha256;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 })) hash.update(chunk as Uint8Array);
  const sha256 = hash.digest('hex');
  hashCache.set(abs, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
  return sha256;
}

/**
 * The name to record for a model argument: a path becomes absolute (so a search from another
 * folder finds it), a registry name stays as given, nothing means the bundled default.
 */
export function recordedModelName(nameOrPath: string | undefined): string {
  if (nameOrPath === undefined || nameOrPath === '' || nameOrPath === DEFAULT_MODEL_NAME) return DEFAULT_MODEL_NAME;
  return existsSync(nameOrPath) ? path.resolve(nameOrPath) : nameOrPath;
}

/** Loads a model by name or path (nothing: the bundled default) and identifies its weights. */
export async function loadIndexModel(nameOrPath: string | undefined, opts: LoadIndexModelOptions = {}): Promise<IndexModel> {
  const name = recordedModelName(nameOrPath);
  const file = resolveModelFile(name === DEFAULT_MODEL_NAME ? undefined : name, { cacheDir: opts.cacheDir });
  const modelSha256 = await fileSha256(file);
  const model = loadModelFile(file);
  return { model, file, info: { model: name, modelSha256, dim: model.config.embedDim, imageSize: model.imageSize } };
}

/** Throws ModelMismatchError unless `candidate` has the weights the index at `dbPath` was built with. */
export function checkSameModel(dbPath: string, indexed: IndexModelInfo, candidate: IndexModelInfo): void {
  if (candidate.modelSha256 === indexed.modelSha256 && candidate.dim === indexed.dim) return;
  throw new ModelMismatchError(
    `the image index ${dbPath} was built with model ${indexed.model} (weights sha256 ${indexed.modelSha256.slice(0, 12)}…, ` +
    `${indexed.dim} dimensions), but model ${candidate.model} has other weights (sha256 ${candidate.modelSha256.slice(0, 12)}…, ` +
    `${candidate.dim} dimensions): their embeddings cannot be compared. Use the index's model, or build a new index ` +
    'for this model with another --db.');
}

/**
 * The model to use with an existing index: `override` if given (checked against the index), else
 * the model the index records, else (when that can no longer be found) the bundled default, which
 * must then be the same weights.
 */
export async function loadModelForIndex(dbPath: string, indexed: IndexModelInfo, override: string | undefined,
  opts: LoadIndexModelOptions = {}): Promise<IndexModel> {
  let loaded: IndexModel;
  if (override !== undefined) {
    loaded = await loadIndexModel(override, opts);
  } else {
    try {
      loaded = await loadIndexModel(indexed.model, opts);
    } catch (recordedErr) {
      if (indexed.model === DEFAULT_MODEL_NAME) throw recordedErr;
      try {
        loaded = await loadIndexModel(undefined, opts);
      } catch {
        throw new Error(`the image index ${dbPath} was built with model ${indexed.model}, which cannot be loaded ` +
          `(${(recordedErr as Error).message}); pass --model with the same weights`);
      }
    }
  }
  checkSameModel(dbPath, indexed, loaded.info);
  return loaded;
}
