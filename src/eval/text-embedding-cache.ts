// An on-disk cache of normalised prompt embeddings, so that a zero-shot classifier over 1000 classes
// x 80 templates is encoded once per model, not on every run.
//
// Key: the text tower. An embedding depends only on the text tower's weights, its architecture and
// activation, and the matmul precision, so the model key is a SHA-256 of exactly those (the image
// tower is left out: two checkpoints with the same text tower share their cache). Hashing the weights
// is exact, unlike a file's size and mtime; it takes a second or two for the large models, so the
// hash is remembered per model file (real path, size, mtime) in <dir>/model-files.json.
//
// Layout: <dir>/<model key>/<sha256(class name)>.emb, one file per (model, class name). The file is
// one JSON header line (class name, dimension, dtype, the prompts in order) followed by the raw
// little-endian vectors. Writes replace the whole file atomically; two processes adding templates
// at the same time can at worst lose one another's additions, which are then recomputed.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ClipModel } from '../model/clip.js';
import { getMatmulPrecision, type DType, type FloatArray } from '../tensor/index.js';
import { writeFileAtomic, writeAll, writeTextAtomic } from '../weights/atomic-file.js';
import { resolveCacheDir } from '../weights/registry.js';

const FORMAT = 'clip-ts-text-embeddings/1';

/** The default folder: $CLIP_TS_CACHE/text-embeddings, else ~/.cache/clip-ts/text-embeddings. */
export function defaultTextEmbeddingCacheDir(): string {
  return path.join(resolveCacheDir(), 'text-embeddings');
}

const towerHashes = new WeakMap<ClipModel, string>();

/** SHA-256 (hex) of the text tower's weights, shapes and configuration. */
export function textTowerHash(model: ClipModel): string {
  const known = towerHashes.get(model);
  if (known !== undefined) return known;
  const h = createHash('sha256');
  const text = model.config.text;
  h.update(JSON.stringify({ text, activation: model.config.activation, embedDim: model.config.embedDim }));
  const names = model.params.entries()
    .map(([name]) => name)
    .filter((name) => !name.startsWith('visual.') && name !== 'logit_scale')
    .sort();
  for (const name of names) {
    const t = model.params.get(name);
    h.update(`\n${name} ${t.dtype} ${t.shape.join('x')}\n`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  const hex = h.digest('hex');
  towerHashes.set(model, hex);
  return hex;
}

/** The memo of text-tower hashes by model file, kept beside the cached embeddings. */
const FILE_MEMO = 'model-files.json';
const FILE_MEMO_FORMAT = 'clip-ts-text-tower-hashes/1';

interface FileMemo {
  format: string;
  files: Record<string, { size: number; mtimeMs: number; tower: string }>;
}

/**
 * textTowerHash(model) for a model loaded from `file`, remembered in `<dir>/model-files.json` under
 * the file's real path, size and modification time, so that later runs skip hashing the weights
 * (a second or two for the large models). A file rewritten in place with the same size and mtime
 * would be taken for the old one; checkpoints are not edited that way.
 */
export function textTowerHashForFile(model: ClipModel, file: string, dir: string = defaultTextEmbeddingCacheDir()): string {
  let real: string;
  let size: number;
  let mtimeMs: number;
  try {
    real = realpathSync(file);
    const st = statSync(real);
    size = st.size;
    mtimeMs = st.mtimeMs;
  } catch {
    return textTowerHash(model);
  }
  const memoFile = path.join(dir, FILE_MEMO);
  let memo: FileMemo = { format: FILE_MEMO_FORMAT, files: {} };
  try {
    const parsed = JSON.parse(readFileSync(memoFile, 'utf8')) as FileMemo;
    if (parsed.format === FILE_MEMO_FORMAT && typeof parsed.files === 'object' && parsed.files !== null) memo = parsed;
  } catch {
    // missing or damaged: start a new memo
  }
  const known = memo.files[real];
  if (known !== undefined && known.size === size && known.mtimeMs === mtimeMs && typeof known.tower === 'string') {
    towerHashes.set(model, known.tower);
    return known.tower;
  }
  const tower = textTowerHash(model);
  memo.files[real] = { size, mtimeMs, tower };
  try {
    mkdirSync(dir, { recursive: true });
    writeTextAtomic(memoFile, JSON.stringify(memo, null, 1) + '\n');
  } catch {
    // A read-only cache still works; it just hashes again next time.
  }
  return tower;
}

/** Everything besides the prompt that changes an embedding. */
export interface EmbeddingKeyOptions {
  /** Prompts longer than the context were cut (tokenize's `truncate`). */
  truncate?: boolean;
}

/** The cache key of a model's prompt embeddings under the current matmul precision. */
export function textEmbeddingModelKey(model: ClipModel, opts: EmbeddingKeyOptions & { towerHash?: string } = {}): string {
  const h = createHash('sha256');
  h.update(`${opts.towerHash ?? textTowerHash(model)} ${model.dtype} ${getMatmulPrecision()} truncate=${opts.truncate === true}`);
  return h.digest('hex').slice(0, 32);
}

interface FileHeader {
  format: string;
  name: string;
  dim: number;
  dtype: DType;
  prompts: string[];
}

export interface TextEmbeddingCacheOptions {
  /** The cache folder (default defaultTextEmbeddingCacheDir()). */
  dir?: string;
}

/** Lookup counts, for reports and tests. */
export interface CacheStats {
  hits: number;
  misses: number;
  writes: number;
}

/** The cached embeddings of one model (one key). */
export class TextEmbeddingCache {
  readonly dir: string;
  readonly modelKey: string;
  readonly dim: number;
  readonly dtype: DType;
  readonly stats: CacheStats = { hits: 0, misses: 0, writes: 0 };

  constructor(modelKey: string, dim: number, dtype: DType, opts: TextEmbeddingCacheOptions = {}) {
    this.modelKey = modelKey;
    this.dim = dim;
    this.dtype = dtype;
    this.dir = path.join(opts.dir ?? defaultTextEmbeddingCacheDir(), modelKey);
  }

  /**
   * The cache for `model`'s text tower (and the current matmul precision). With `modelFile`, the
   * file the model was loaded from, the tower's hash is remembered per file (textTowerHashForFile).
   */
  static forModel(model: ClipModel, opts: TextEmbeddingCacheOptions & EmbeddingKeyOptions & { modelFile?: string } = {}): TextEmbeddingCache {
    const dir = opts.dir ?? defaultTextEmbeddingCacheDir();
    const towerHash = opts.modelFile !== undefined ? textTowerHashForFile(model, opts.modelFile, dir) : textTowerHash(model);
    return new TextEmbeddingCache(textEmbeddingModelKey(model, { ...opts, towerHash }), model.config.embedDim, model.dtype, { dir });
  }

  /** The file holding the prompts of one class name. */
  fileFor(name: string): string {
    return path.join(this.dir, createHash('sha256').update(name).digest('hex').slice(0, 40) + '.emb');
  }

  private bytesPerValue(): number {
    return this.dtype === 'float64' ? 8 : 4;
  }

  /** Everything stored for `name` (prompt -> vector); empty when nothing or the file is unusable. */
  private read(name: string): Map<string, FloatArray> {
    const out = new Map<string, FloatArray>();
    const file = this.fileFor(name);
    if (!existsSync(file)) return out;
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch {
      return out;
    }
    const nl = bytes.indexOf(0x0a);
    if (nl < 0) return out;
    let header: FileHeader;
    try {
      header = JSON.parse(bytes.subarray(0, nl).toString('utf8')) as FileHeader;
    } catch {
      return out; // a damaged file is a miss; the next write replaces it
    }
    const bpv = this.bytesPerValue();
    if (header.format !== FORMAT || header.name !== name || header.dim !== this.dim || header.dtype !== this.dtype ||
      !Array.isArray(header.prompts) || bytes.length - nl - 1 !== header.prompts.length * this.dim * bpv) {
      return out;
    }
    // Copy into an aligned buffer: the payload starts at an arbitrary byte offset.
    const payload = new Uint8Array(bytes.length - nl - 1);
    payload.set(bytes.subarray(nl + 1));
    const all = this.dtype === 'float64' ? new Float64Array(payload.buffer) : new Float32Array(payload.buffer);
    header.prompts.forEach((p, i) => out.set(p, all.subarray(i * this.dim, (i + 1) * this.dim)));
    return out;
  }

  /** The cached vectors of `prompts` (all made from class name `name`); undefined where missing. */
  lookup(name: string, prompts: readonly string[]): (FloatArray | undefined)[] {
    const stored = this.read(name);
    return prompts.map((p) => {
      const v = stored.get(p);
      if (v === undefined) this.stats.misses++;
      else this.stats.hits++;
      return v;
    });
  }

  /** Adds vectors for prompts of class name `name` (merged with what is stored). */
  store(name: string, entries: ReadonlyMap<string, FloatArray>): void {
    if (entries.size === 0) return;
    const merged = this.read(name);
    for (const [p, v] of entries) {
      if (v.length !== this.dim) throw new RangeError(`text embedding cache: vector for "${p}" has ${v.length} values, expected ${this.dim}`);
      merged.set(p, v);
    }
    const header: FileHeader = { format: FORMAT, name, dim: this.dim, dtype: this.dtype, prompts: [...merged.keys()] };
    const values = this.dtype === 'float64' ? new Float64Array(merged.size * this.dim) : new Float32Array(merged.size * this.dim);
    [...merged.values()].forEach((v, i) => values.set(v, i * this.dim));
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.fileFor(name), (fd) => {
      writeAll(fd, new TextEncoder().encode(JSON.stringify(header) + '\n'));
      writeAll(fd, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    });
    this.stats.writes++;
  }
}
