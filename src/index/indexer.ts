// Indexes the images under a folder, incrementally. A file whose path, size and modification time
// are what the index recorded is taken as unchanged without being read. Every other file is hashed
// (SHA-256); if its bytes are already in the index (a touched, copied or moved file) the stored
// embedding is reused, otherwise it is decoded and embedded in batches (decoding in worker threads,
// the model on the native core). Files that were indexed under the folder and are gone are removed.
// Unreadable or corrupt files are skipped and reported; they do not stop the run.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ImageBatchLoader } from '../image/batch-loader.js';
import { l2Normalize, noGrad } from '../tensor/index.js';
import { ImageIndex, type ImageRow, type IndexedImage, type IndexModelInfo } from './image-index.js';
import { checkSameModel, loadIndexModel, loadModelForIndex, type IndexModel } from './index-model.js';
import { scanImages, type ScannedFile } from './scan.js';

export interface IndexProgress {
  /** 'hashing' reads the new and changed files; 'embedding' decodes and embeds them. */
  phase: 'hashing' | 'embedding';
  /** Files finished in this phase (embedded, reused or skipped). */
  done: number;
  total: number;
  /** Images embedded per second so far in this phase (0 while hashing). */
  imagesPerSecond: number;
}

export interface IndexDirectoryOptions {
  /**
   * Model name or path. A new index uses it (default: the bundled model); an existing index must
   * have been built with the same weights, and without this option uses the model it records.
   */
  model?: string;
  /** An already loaded model (for servers and tests); takes the place of `model`. */
  loadedModel?: IndexModel;
  /** Download cache for registry model names. */
  cacheDir?: string;
  /** Images per model batch. Default 32. */
  batchSize?: number;
  /** Decoding worker threads (0: decode in this thread). Default: the image loader's. */
  workers?: number;
  /** Files hashed at once. Default 4. */
  hashConcurrency?: number;
  onProgress?: (progress: IndexProgress) => void;
}

export interface SkippedFile {
  /** Absolute path. */
  path: string;
  /** Why it was left out (the decoder's or the file system's message). */
  reason: string;
}

export interface IndexReport {
  /** Absolute path of the index. */
  dbPath: string;
  /** Absolute path of the folder. */
  dir: string;
  model: IndexModelInfo;
  /** True if this run created the index. */
  created: boolean;
  /** Image files found under the folder. */
  scanned: number;
  /** Files new to the index. */
  added: number;
  /** Files already indexed whose content changed. */
  updated: number;
  /** Files already indexed with the same content (not re-embedded). */
  unchanged: number;
  /** Files indexed under the folder that are gone. */
  removed: number;
  /** Files that could not be read or decoded, sorted by path. */
  skipped: SkippedFile[];
  /** Images run through the model. */
  embedded: number;
  /** New or changed files whose bytes were already indexed: their embedding was copied. */
  reused: number;
  /** Images in the index after the run. */
  total: number;
  seconds: number;
  /** Embedded images per second of the embedding phase. */
  imagesPerSecond: number;
}

/** A file to bring into the index, once hashed. */
interface Pending extends ScannedFile {
  sha256: string;
  /** The indexed row for this path, if any. */
  previous: IndexedImage | undefined;
}

/** Rows are written to the database in groups of about this many (each write is a table version). */
const FLUSH_ROWS = 256;

async function sha256OfFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  // Small files in one read; large ones (big TIFFs) streamed so memory stays flat.
  if (size <= 32 << 20) {
    const bytes = await readFile(file);
    hash.update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } else {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Uint8Array);
  }
  return hash.digest('hex');
}

/** Runs `fn` over `items` with at most `limit` calls in flight, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

function isUnder(file: string, dir: string): boolean {
  return file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Opens the index at `dbPath` or creates it, with the model that goes with it. */
async function openOrCreate(dbPath: string, opts: IndexDirectoryOptions): Promise<{ index: ImageIndex; model: IndexModel; created: boolean }> {
  if (ImageIndex.exists(dbPath)) {
    const index = await ImageIndex.open(dbPath);
    try {
      let model: IndexModel;
      if (opts.loadedModel !== undefined) {
        model = opts.loadedModel;
        checkSameModel(dbPath, index.info, model.info);
      } else {
        model = await loadModelForIndex(dbPath, index.info, opts.model, { cacheDir: opts.cacheDir });
      }
      return { index, model, created: false };
    } catch (err) {
      await index.close();
      throw err;
    }
  }
  const model = opts.loadedModel ?? await loadIndexModel(opts.model, { cacheDir: opts.cacheDir });
  return { index: await ImageIndex.create(dbPath, model.info), model, created: true };
}

/** Brings the index at `dbPath` (created if missing) up to date with the images under `dir`. */
export async function indexDirectory(dir: string, dbPath: string, opts: IndexDirectoryOptions = {}): Promise<IndexReport> {
  const t0 = performance.now();
  const root = path.resolve(dir);
  const batchSize = opts.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  // Scan first: a missing folder must not leave an empty index behind.
  const scan = scanImages(root);
  const { index, model, created } = await openOrCreate(dbPath, opts);
  try {
    const skipped: SkippedFile[] = scan.problems.map((p) => ({ path: p.path, reason: p.reason }));
    const indexed = await index.all();
    const byPath = new Map(indexed.map((row) => [row.path, row]));
    const present = new Set(scan.files.map((f) => f.path));

    const removedPaths = indexed.filter((row) => isUnder(row.path, root) && !present.has(row.path)).map((row) => row.path);
    if (removedPaths.length > 0) await index.remove(removedPaths);

    let unchanged = 0;
    const toHash: ScannedFile[] = [];
    for (const f of scan.files) {
      const row = byPath.get(f.path);
      if (row !== undefined && row.size === f.size && row.mtimeMs === f.mtimeMs) unchanged++;
      else toHash.push(f);
    }

    let hashed = 0;
    const hashes = await mapLimit(toHash, opts.hashConcurrency ?? 4, async (f) => {
      let result: string | Error;
      try {
        result = await sha256OfFile(f.path, f.size);
      } catch (err) {
        result = err instanceof Error ? err : new Error(String(err));
      }
      opts.onProgress?.({ phase: 'hashing', done: ++hashed, total: toHash.length, imagesPerSecond: 0 });
      return result;
    });
    const pending: Pending[] = [];
    toHash.forEach((f, i) => {
      const h = hashes[i];
      if (h instanceof Error) skipped.push({ path: f.path, reason: `cannot read the file (${errorMessage(h)})` });
      else pending.push({ ...f, sha256: h, previous: byPath.get(f.path) });
    });

    // Bytes already in the index (under any path still present) need no model: copy the vector.
    const idBySha = new Map<string, number>();
    for (const row of indexed) if (present.has(row.path) || !isUnder(row.path, root)) idBySha.set(row.sha256, row.id);
    const reusable = pending.filter((p) => idBySha.has(p.sha256));
    const vectorById = await index.vectorsOf([...new Set(reusable.map((p) => idBySha.get(p.sha256) as number))]);

    let added = 0;
    let updated = 0;
    const count = (p: Pending): void => {
      if (p.previous === undefined) added++;
      else if (p.previous.sha256 === p.sha256) unchanged++;
      else updated++;
    };
    let buffer: ImageRow[] = [];
    const flush = async (force: boolean): Promise<void> => {
      if (buffer.length === 0 || (!force && buffer.length < FLUSH_ROWS)) return;
      const rows = buffer;
      buffer = [];
      await index.upsert(rows);
    };
    const stage = (p: Pending, vector: Float32Array): void => {
      buffer.push({ path: p.path, size: p.size, mtimeMs: p.mtimeMs, sha256: p.sha256, vector });
      count(p);
    };

    let reused = 0;
    // Files to embed, one per distinct content; further files with the same bytes follow it.
    const leaders: Pending[] = [];
    const followers = new Map<string, Pending[]>();
    for (const p of pending) {
      const known = idBySha.get(p.sha256);
      const vector = known !== undefined ? vectorById.get(known) : undefined;
      if (vector !== undefined) {
        stage(p, vector);
        reused++;
      } else if (followers.has(p.sha256)) {
        (followers.get(p.sha256) as Pending[]).push(p);
      } else {
        followers.set(p.sha256, []);
        leaders.push(p);
      }
    }
    await flush(true);

    const embedTotal = pending.length - reused;
    let embedded = 0;
    let embedDone = 0;
    const embedStart = performance.now();
    let embedEnd: number | undefined;
    const rate = (): number => embedded / Math.max(((embedEnd ?? performance.now()) - embedStart) / 1000, 1e-9);
    if (leaders.length > 0) {
      // Announced before the first batch, so that a rate shown to the user includes start-up.
      opts.onProgress?.({ phase: 'embedding', done: 0, total: embedTotal, imagesPerSecond: 0 });
      const byFile = new Map(leaders.map((p) => [p.path, p]));
      const loader = new ImageBatchLoader(leaders.map((p) => p.path), {
        size: model.model.imageSize, batchSize, onError: 'skip', ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      });
      try {
        for await (const batch of loader) {
          for (const s of batch.skipped) {
            const copies = followers.get((byFile.get(s.path) as Pending).sha256) ?? [];
            for (const p of [byFile.get(s.path) as Pending, ...copies]) skipped.push({ path: p.path, reason: s.message });
            embedDone += 1 + copies.length;
          }
          if (batch.count > 0) {
            const features = noGrad(() => l2Normalize(model.model.encodeImage(model.model.imageTensor(batch.batch, batch.count))));
            const dim = features.dim(1);
            const data = features.data;
            batch.paths.forEach((file, i) => {
              const vector = Float32Array.from(data.subarray(i * dim, (i + 1) * dim));
              const leader = byFile.get(file) as Pending;
              stage(leader, vector);
              for (const copy of followers.get(leader.sha256) ?? []) {
                stage(copy, vector);
                reused++;
              }
              embedDone += 1 + (followers.get(leader.sha256)?.length ?? 0);
            });
            embedded += batch.count;
          }
          await flush(false);
          opts.onProgress?.({ phase: 'embedding', done: embedDone, total: embedTotal, imagesPerSecond: rate() });
        }
      } finally {
        await loader.close();
      }
      await flush(true);
      embedEnd = performance.now();
    }
    // A file that was indexed and now cannot be read no longer holds the indexed image: drop the row.
    const stale = skipped.filter((s) => byPath.has(s.path)).map((s) => s.path);
    if (stale.length > 0) await index.remove(stale);
    if (removedPaths.length > 0 || pending.length > 0) await index.compact();
    skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return {
      dbPath: index.dbPath,
      dir: root,
      model: index.info,
      created,
      scanned: scan.files.length,
      added,
      updated,
      unchanged,
      removed: removedPaths.length,
      skipped,
      embedded,
      reused,
      total: await index.count(),
      seconds: (performance.now() - t0) / 1000,
      imagesPerSecond: embedded > 0 ? rate() : 0,
    };
  } finally {
    await index.close();
  }
}
