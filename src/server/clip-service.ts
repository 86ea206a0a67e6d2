// The real ClipService: an ImageIndex (src/index) for the vectors and files, and a model in an
// InferenceWorker for everything that needs the model. Query embeddings of recent text searches
// are remembered, since the same searches recur (the page's "search" button, paging, bookmarks).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { builtinTemplateSetNames, defaultTemplates, resolveTemplates, type TemplateSet } from '../eval/templates.js';
import { ImageIndex, type SearchHit } from '../index/image-index.js';
import { checkSameModel, DEFAULT_MODEL_NAME, fileSha256, recordedModelName } from '../index/index-model.js';
import { resolveModelFile } from '../model/index.js';
import type { MatmulPrecision } from '../tensor/index.js';
import { ApiError } from './api-error.js';
import { InferenceImageError, InferenceWorker } from './inference-worker.js';
import { LruCache } from './lru-cache.js';
import type {
  CallOptions, ClassifyRequest, ClipService, Embeddings, ImageUpload, LabelProbability, ScoredImage, ServedImage, ServiceInfo,
} from './service.js';

export interface IndexedClipServiceOptions {
  /** The index folder (made by `clip-ts index`). */
  dbPath: string;
  /** Model name or checkpoint path; default the model the index was built with. */
  model?: string;
  /** The download cache folder for model names. */
  cacheDir?: string;
  /** Templates for classification requests that name none (default OpenAI's 80 ImageNet ones). */
  templates?: TemplateSet;
  precision?: MatmulPrecision;
  /** Compute threads of the model (0: all cores). */
  threads?: number;
  /** Uploads with more pixels are refused (413). */
  maxImagePixels: number;
  /** Text queries whose embeddings are remembered. Default 1024. */
  queryCacheSize?: number;
}

function scored(hit: SearchHit): ScoredImage {
  return { id: hit.id, score: hit.score, name: path.basename(hit.path), size: hit.size };
}

/** A bad upload is the client's error (400, or 413 for too many pixels); anything else is ours. */
function clientImageError(err: unknown): unknown {
  if (!(err instanceof InferenceImageError)) return err;
  if (err.kind === 'too-large') return new ApiError(413, 'payload_too_large', err.message);
  return new ApiError(400, 'invalid_image', err.message);
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

export class IndexedClipService implements ClipService {
  private worker: InferenceWorker;
  private restarting: Promise<InferenceWorker> | undefined;
  private readonly queries: LruCache<string, Float32Array>;

  private constructor(
    private readonly index: ImageIndex,
    worker: InferenceWorker,
    private readonly modelFile: string,
    private readonly modelLabel: string,
    private readonly opts: IndexedClipServiceOptions,
    private readonly templates: TemplateSet,
  ) {
    this.worker = worker;
    this.queries = new LruCache({ maxEntries: opts.queryCacheSize ?? 1024 });
  }

  /**
   * Opens the index, resolves the model and starts its worker. The model must have the very weights
   * the index was built with (as `clip-ts search` requires): other weights embed into another space.
   */
  static async open(opts: IndexedClipServiceOptions): Promise<IndexedClipService> {
    const index = await ImageIndex.open(opts.dbPath);
    let worker: InferenceWorker | undefined;
    try {
      const requested = recordedModelName(opts.model ?? index.info.model);
      let modelFile: string;
      try {
        modelFile = resolveModelFile(requested === DEFAULT_MODEL_NAME ? undefined : requested, { cacheDir: opts.cacheDir });
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new Error(opts.model === undefined ? `the image index ${opts.dbPath} was built with model ${requested}, which cannot be loaded (${why}); pass --model with the same weights` : why);
      }
      // The weights are checked before the worker spends time and memory loading them.
      const modelSha256 = await fileSha256(modelFile);
      checkSameModel(opts.dbPath, index.info, { model: requested, modelSha256, dim: index.info.dim, imageSize: index.info.imageSize });
      worker = await InferenceWorker.start(modelFile, { precision: opts.precision, threads: opts.threads });
      const templates = opts.templates ?? defaultTemplates(requested === DEFAULT_MODEL_NAME);
      // A path is shown by its base name only: /api/info should not reveal the server's folders.
      const label = existsSync(requested) ? path.basename(requested) : requested;
      return new IndexedClipService(index, worker, modelFile, label, opts, templates);
    } catch (err) {
      await worker?.close();
      await index.close();
      throw err;
    }
  }

  info(): ServiceInfo {
    return { model: this.modelLabel, dim: this.index.info.dim, imageSize: this.worker.info.imageSize, templates: this.templates.name };
  }

  count(): Promise<number> {
    return this.index.count();
  }

  /** The worker, restarted once if its thread died (out of memory, a native crash). */
  private async model(): Promise<InferenceWorker> {
    if (this.worker.alive) return this.worker;
    this.restarting ??= InferenceWorker.start(this.modelFile, { precision: this.opts.precision, threads: this.opts.threads })
      .then((w) => (this.worker = w))
      .finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  private async queryVector(query: string, signal: AbortSignal | undefined): Promise<Float32Array> {
    const cached = this.queries.get(query);
    if (cached !== undefined) return cached;
    throwIfAborted(signal);
    const [v] = await (await this.model()).embedTexts([query]);
    this.queries.set(query, v, 1);
    return v;
  }

  private async imageVector(image: ImageUpload, signal: AbortSignal | undefined): Promise<Float32Array> {
    throwIfAborted(signal);
    try {
      return await (await this.model()).embedImage(image.bytes, image.name, this.opts.maxImagePixels);
    } catch (err) {
      throw clientImageError(err);
    }
  }

  async searchText(query: string, top: number, opts: CallOptions = {}): Promise<ScoredImage[]> {
    const v = await this.queryVector(query, opts.signal);
    return (await this.index.searchVector(v, top)).map(scored);
  }

  async searchImage(image: ImageUpload, top: number, opts: CallOptions = {}): Promise<ScoredImage[]> {
    const v = await this.imageVector(image, opts.signal);
    return (await this.index.searchVector(v, top)).map(scored);
  }

  async classify(request: ClassifyRequest, opts: CallOptions = {}): Promise<LabelProbability[]> {
    throwIfAborted(opts.signal);
    const set = request.templates === undefined ? this.templates : resolveBuiltinTemplates(request.templates);
    try {
      return await (await this.model()).classify(request.image.bytes, request.image.name, this.opts.maxImagePixels, request.labels, set.name, set.templates);
    } catch (err) {
      throw clientImageError(err);
    }
  }

  async embed(texts: readonly string[], image: ImageUpload | undefined, opts: CallOptions = {}): Promise<Embeddings> {
    throwIfAborted(opts.signal);
    const vectors = texts.length > 0 ? await (await this.model()).embedTexts(texts) : [];
    const imageVec = image !== undefined ? await this.imageVector(image, opts.signal) : undefined;
    return { dim: this.index.info.dim, texts: vectors, ...(imageVec !== undefined ? { image: imageVec } : {}) };
  }

  async image(id: number): Promise<ServedImage | undefined> {
    const row = await this.index.get(id);
    return row === undefined ? undefined : { id: row.id, path: row.path, size: row.size, mtimeMs: row.mtimeMs, sha256: row.sha256 };
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.index.close();
  }
}

/** A built-in template set by name (the HTTP layer has checked it is one; files are never read for a request). */
function resolveBuiltinTemplates(name: string): TemplateSet {
  if (!builtinTemplateSetNames().some((n) => n.toLowerCase() === name.toLowerCase())) {
    throw new ApiError(400, 'invalid_field', `unknown template set "${name.slice(0, 40)}"`);
  }
  return resolveTemplates(name);
}
