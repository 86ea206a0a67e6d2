// Decodes and preprocesses image files in parallel (worker threads) and yields float32 NCHW batches
// in the order of the input paths. Bad files either stop the iteration with an error naming the
// file (onError 'throw') or are left out and reported with the batch (onError 'skip'); batches are
// then topped up from the following files, so every batch but the last is full.
import { availableParallelism } from 'node:os';
import { DEFAULT_MAX_PIXELS } from './decode.js';
import { ImageDecodeError, type ImageErrorKind } from './errors.js';
import type { ImageTask, ImageTaskResult } from './image-task.js';
import type { Normalization } from './normalize.js';
import { uninitializedFloat32 } from './uninitialized.js';
import { InThreadRunner, WorkerPool } from './worker-pool.js';

export interface ImageBatchLoaderOptions {
  /** Output resolution (224, 336, 288, 384, 448, ...). */
  size: number;
  /** Images per batch. Default 32. */
  batchSize?: number;
  /** Worker threads; 0 decodes in this thread (the decoding itself still runs on libuv's pool). Default min(2, CPUs). */
  workers?: number;
  /** Stop at the first bad file ('throw', default) or leave it out and report it ('skip'). */
  onError?: 'throw' | 'skip';
  /** Tasks at once per worker (or in this thread), so that decoding and resizing overlap. Default 2. */
  queuePerWorker?: number;
  /**
   * Images decoded ahead of the one the iteration waits for (finished results wait in memory, one
   * float32 tensor each), so that one slow file does not idle the workers. Default 2 x batchSize.
   */
  lookahead?: number;
  applyExifOrientation?: boolean;
  maxPixels?: number;
  normalization?: Normalization;
  /**
   * Training augmentation: a random resized crop per image instead of the centre crop. Item `i`
   * of epoch `e` uses the RNG seeded with (seed, e, i), so results do not depend on the workers.
   */
  augment?: { seed: number; epoch?: number; scale?: [number, number]; ratio?: [number, number] };
}

export interface SkippedImage {
  path: string;
  kind: ImageErrorKind | 'internal';
  /** The error message, which starts with the path. */
  message: string;
}

export interface ImageBatch {
  /** float32 [count, 3, size, size], C order. */
  batch: Float32Array;
  /** The files of the batch, in order (count entries). */
  paths: string[];
  /** Bad files left out since the previous batch (onError 'skip'). */
  skipped: SkippedImage[];
  /** Images in the batch: batchSize, fewer in the last batch (0 if only skipped files were left). */
  count: number;
  size: number;
}

export class ImageBatchLoader implements AsyncIterable<ImageBatch> {
  private readonly paths: readonly string[];
  private readonly size: number;
  private readonly batchSize: number;
  private readonly workers: number;
  private readonly onError: 'throw' | 'skip';
  private readonly queuePerWorker: number;
  private readonly lookahead: number;
  private readonly inThread: InThreadRunner;
  private readonly template: Omit<ImageTask, 'id' | 'path' | 'augment'>;
  private readonly augment: ImageBatchLoaderOptions['augment'];
  private skippedTotal = 0;
  private loadedTotal = 0;
  /** Started by the first iteration and kept for the next ones (epochs), until close(). */
  private pool: WorkerPool | undefined;

  constructor(paths: readonly string[], opts: ImageBatchLoaderOptions) {
    this.paths = [...paths];
    this.size = opts.size;
    this.batchSize = opts.batchSize ?? 32;
    this.workers = opts.workers ?? Math.min(2, availableParallelism());
    this.onError = opts.onError ?? 'throw';
    this.queuePerWorker = opts.queuePerWorker ?? 2;
    this.lookahead = opts.lookahead ?? 2 * (opts.batchSize ?? 32);
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`size must be a positive integer, got ${opts.size}`);
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (!Number.isInteger(this.workers) || this.workers < 0) throw new RangeError(`workers must be a non-negative integer, got ${opts.workers}`);
    if (!Number.isInteger(this.queuePerWorker) || this.queuePerWorker < 1) throw new RangeError(`queuePerWorker must be a positive integer`);
    if (this.onError !== 'throw' && this.onError !== 'skip') throw new RangeError(`onError must be 'throw' or 'skip'`);
    if (!Number.isInteger(this.lookahead) || this.lookahead < 1) throw new RangeError(`lookahead must be a positive integer`);
    this.inThread = new InThreadRunner(this.queuePerWorker);
    this.template = {
      size: this.size,
      applyExifOrientation: opts.applyExifOrientation === true,
      maxPixels: opts.maxPixels ?? DEFAULT_MAX_PIXELS,
      ...(opts.normalization !== undefined ? { normalization: opts.normalization } : {}),
    };
    this.augment = opts.augment;
  }

  /** Bad files left out so far (onError 'skip'). */
  get skippedCount(): number {
    return this.skippedTotal;
  }

  /** Images delivered so far. */
  get loadedCount(): number {
    return this.loadedTotal;
  }

  private task(index: number): ImageTask {
    const t: ImageTask = { ...this.template, id: index, path: this.paths[index] };
    if (this.augment !== undefined) {
      t.augment = {
        seed: [this.augment.seed, this.augment.epoch ?? 0, index],
        scale: this.augment.scale ?? [0.9, 1],
        ratio: this.augment.ratio ?? [3 / 4, 4 / 3],
      };
    }
    return t;
  }

  /** Stops the worker threads (they are also stopped when an iteration fails). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  /**
   * One pass over the files. The loader can be iterated again (one epoch each): the workers stay
   * up between passes, idle and not keeping the process alive, until `close()`.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<ImageBatch, void, undefined> {
    if (this.workers > 0 && this.pool === undefined) this.pool = new WorkerPool(this.workers, this.queuePerWorker);
    const runner = this.pool ?? this.inThread;
    const run = (t: ImageTask): Promise<ImageTaskResult> => runner.run(t);
    const maxInFlight = Math.max(this.lookahead, Math.max(1, this.workers) * this.queuePerWorker);
    const perImage = 3 * this.size * this.size;
    const inFlight = new Map<number, Promise<ImageTaskResult>>();
    let next = 0;
    const fill = (): void => {
      while (next < this.paths.length && inFlight.size < maxInFlight) {
        inFlight.set(next, run(this.task(next)));
        next++;
      }
    };
    let completed = false;
    try {
      let tensors: Float32Array[] = [];
      let paths: string[] = [];
      let skipped: SkippedImage[] = [];
      const emit = (): ImageBatch => {
        const batch = uninitializedFloat32(tensors.length * perImage);
        tensors.forEach((t, i) => batch.set(t, i * perImage));
        const out: ImageBatch = { batch, paths, skipped, count: tensors.length, size: this.size };
        this.loadedTotal += tensors.length;
        tensors = [];
        paths = [];
        skipped = [];
        return out;
      };
      for (let i = 0; i < this.paths.length; i++) {
        fill();
        const pending = inFlight.get(i);
        if (pending === undefined) throw new Error(`internal: task ${i} was not started`);
        const r = await pending;
        inFlight.delete(i);
        if (r.ok) {
          tensors.push(r.tensor);
          paths.push(this.paths[i]);
        } else if (this.onError === 'skip') {
          this.skippedTotal++;
          skipped.push({ path: this.paths[i], kind: r.kind, message: r.message });
        } else {
          throw r.kind === 'internal'
            ? new Error(`${this.paths[i]}: ${r.message}`)
            : new ImageDecodeError(this.paths[i], r.kind, r.message.startsWith(`${this.paths[i]}: `) ? r.message.slice(this.paths[i].length + 2) : r.message);
        }
        if (tensors.length === this.batchSize) {
          fill(); // keep the workers busy while the consumer handles this batch
          yield emit();
        }
      }
      if (tensors.length > 0 || skipped.length > 0) yield emit();
      completed = true;
    } catch (err) {
      // After an error, stop the workers: the tasks still queued there are not wanted.
      await this.close();
      throw err;
    } finally {
      // An iteration ended early (`break`) keeps the workers for the next one, but drops the tasks
      // that have not started yet; results of those already running are ignored.
      if (!completed) this.pool?.cancelQueued();
    }
  }
}
