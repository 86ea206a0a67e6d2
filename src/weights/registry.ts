// Known checkpoints: OpenAI's nine released CLIP models (URLs and SHA-256 as published in
// openai/CLIP's clip/clip.py; the SHA-256 is the second-to-last segment of each URL), plus models
// the user registers (open_clip or Hugging Face files), persisted in `<cache>/registry.json`.
//
// The cache folder is `$CLIP_TS_CACHE`, else `~/.cache/clip-ts`; every function takes an explicit
// `cacheDir` to override both (the CLI's --cache-dir).
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { writeTextAtomic } from './atomic-file.js';
import type { CheckpointFormat } from './checkpoint.js';
import { CheckpointError } from './errors.js';

export interface ModelSource {
  /** The name used on the command line, e.g. `ViT-B/32`. */
  readonly name: string;
  readonly url: string;
  /** Lower-case hex SHA-256 of the file. */
  readonly sha256: string;
  readonly format: CheckpointFormat;
  /** File name inside the cache folder. */
  readonly fileName: string;
  /** True for OpenAI's models (built in); false for registered ones. */
  readonly builtin: boolean;
}

export interface ModelRegistration {
  name: string;
  url: string;
  sha256: string;
  format: CheckpointFormat;
}

const OPENAI_BASE = 'https://openaipublic.azureedge.net/clip/models';

function openai(name: string, sha256: string, fileName: string): ModelSource {
  return { name, url: `${OPENAI_BASE}/${sha256}/${fileName}`, sha256, format: 'torchscript', fileName, builtin: true };
}

/** OpenAI's released checkpoints (TorchScript archives, fp16 weights). */
export const OPENAI_MODELS: readonly ModelSource[] = [
  openai('RN50', 'afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762', 'RN50.pt'),
  openai('RN101', '8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599', 'RN101.pt'),
  openai('RN50x4', '7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd', 'RN50x4.pt'),
  openai('RN50x16', '52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa', 'RN50x16.pt'),
  openai('RN50x64', 'be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c', 'RN50x64.pt'),
  openai('ViT-B/32', '40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af', 'ViT-B-32.pt'),
  openai('ViT-B/16', '5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f', 'ViT-B-16.pt'),
  openai('ViT-L/14', 'b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836', 'ViT-L-14.pt'),
  openai('ViT-L/14@336px', '3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02', 'ViT-L-14-336px.pt'),
];

const FORMATS: readonly CheckpointFormat[] = ['torchscript', 'torch-save', 'safetensors'];
const REGISTRY_FILE = 'registry.json';
const REGISTRY_FORMAT = 'clip-ts-registry/1';

/** `cacheDir` if given, else $CLIP_TS_CACHE, else ~/.cache/clip-ts (absolute). */
export function resolveCacheDir(cacheDir?: string): string {
  if (cacheDir !== undefined && cacheDir !== '') return path.resolve(cacheDir);
  const env = process.env.CLIP_TS_CACHE;
  if (env !== undefined && env !== '') return path.resolve(env);
  return path.join(homedir(), '.cache', 'clip-ts');
}

export function registryPath(cacheDir?: string): string {
  return path.join(resolveCacheDir(cacheDir), REGISTRY_FILE);
}

function checkRegistration(r: ModelRegistration, where: string): void {
  const bad = (msg: string): never => {
    throw new CheckpointError(where, msg);
  };
  if (typeof r.name !== 'string' || r.name.trim() === '' || r.name.length > 200 || /[\u0000-\u001f]/.test(r.name)) {
    bad(`model name must be 1 to 200 printable characters, got ${JSON.stringify(r.name)}`);
  }
  let url: URL | undefined;
  try {
    url = new URL(r.url);
  } catch {
    bad(`model ${r.name}: invalid URL ${JSON.stringify(r.url)}`);
  }
  if (url !== undefined && url.protocol !== 'https:' && url.protocol !== 'http:') bad(`model ${r.name}: URL must be http(s), got ${r.url}`);
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(r.sha256)) bad(`model ${r.name}: sha256 must be 64 hex digits, got ${JSON.stringify(r.sha256)}`);
  if (!FORMATS.includes(r.format)) bad(`model ${r.name}: format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(r.format)}`);
}

/** A cache file name for a registered model: readable, and unique per name and content. */
function registeredFileName(r: ModelRegistration): string {
  const safe = r.name.replace(/[^A-Za-z0-9._@-]+/g, '-').replace(/^[.-]+/, '').slice(0, 80) || 'model';
  const urlExt = path.extname(new URL(r.url).pathname).toLowerCase();
  const ext = ['.pt', '.pth', '.bin', '.safetensors'].includes(urlExt) ? urlExt : r.format === 'safetensors' ? '.safetensors' : '.pt';
  return `${safe}-${r.sha256.slice(0, 8).toLowerCase()}${ext}`;
}

function fromRegistration(r: ModelRegistration): ModelSource {
  return { name: r.name, url: r.url, sha256: r.sha256.toLowerCase(), format: r.format, fileName: registeredFileName(r), builtin: false };
}

/** The registered (non-OpenAI) models stored in the cache folder. */
export function registeredModels(cacheDir?: string): ModelRegistration[] {
  const file = registryPath(cacheDir);
  if (!existsSync(file)) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(file, `model registry is not valid JSON: ${(err as Error).message}`);
  }
  const doc = raw as { format?: unknown; models?: unknown };
  if (doc === null || typeof doc !== 'object' || doc.format !== REGISTRY_FORMAT || !Array.isArray(doc.models)) {
    throw new CheckpointError(file, `model registry must be {"format": "${REGISTRY_FORMAT}", "models": [...]}`);
  }
  return doc.models.map((m, i) => {
    const r = m as ModelRegistration;
    checkRegistration(r, `${file}: models[${i}]`);
    return { name: r.name, url: r.url, sha256: r.sha256.toLowerCase(), format: r.format };
  });
}

/** OpenAI's models, then the registered ones. */
export function listModels(cacheDir?: string): ModelSource[] {
  return [...OPENAI_MODELS, ...registeredModels(cacheDir).map(fromRegistration)];
}

/** The model called `name` (exact match), if known. */
export function findModel(name: string, cacheDir?: string): ModelSource | undefined {
  const builtin = OPENAI_MODELS.find((m) => m.name === name);
  if (builtin !== undefined) return builtin;
  const r = registeredModels(cacheDir).find((m) => m.name === name);
  return r === undefined ? undefined : fromRegistration(r);
}

/**
 * Adds (or replaces) a model in the registry of the cache folder; the file is rewritten atomically.
 * OpenAI's names cannot be redefined.
 */
export function registerModel(reg: ModelRegistration, cacheDir?: string): ModelSource {
  const file = registryPath(cacheDir);
  checkRegistration(reg, file);
  if (OPENAI_MODELS.some((m) => m.name === reg.name)) {
    throw new CheckpointError(file, `model ${reg.name} is one of OpenAI's built-in models and cannot be redefined`);
  }
  const clean: ModelRegistration = { name: reg.name, url: reg.url, sha256: reg.sha256.toLowerCase(), format: reg.format };
  const models = registeredModels(cacheDir).filter((m) => m.name !== reg.name);
  models.push(clean);
  mkdirSync(path.dirname(file), { recursive: true });
  writeTextAtomic(file, JSON.stringify({ format: REGISTRY_FORMAT, models }, null, 2) + '\n');
  return fromRegistration(clean);
}

/** Where a model's file lives (or will live) in the cache folder. */
export function cachedModelPath(model: ModelSource, cacheDir?: string): string {
  return path.join(resolveCacheDir(cacheDir), model.fileName);
}
