// Turns one training sample into its image tensor: decode, then the training augmentation (a
// random resized crop with scale 0.9–1, open_clip's only augmentation) or, for evaluation, CLIP's
// centre crop. The crop of sample i in epoch e uses the generator seeded with (seed, e, i), so it
// is the same whichever worker decodes it and whether or not the run was resumed in between.
// Files go to the image library's worker pool; tar members are read in place and decoded in this
// thread (sharp still decodes on libuv's threads).
import { closeSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { DEFAULT_MAX_PIXELS, ImageDecodeError, SeededRandom, decodeImage, preprocessInto, randomResizedCropInto } from '../image/index.js';
import type { ImageTask, ImageTaskResult } from '../image/image-task.js';
import { InThreadRunner, WorkerPool } from '../image/worker-pool.js';
import { imageName, type PairSample } from './pair-dataset.js';
import { readRange } from './tar-reader.js';

export type DecodeResult = { ok: true; tensor: Float32Array } | { ok: false; why: string };

export interface SampleDecoderOptions {
  size: number;
  /** Random resized crop seeded by (seed, epoch, index); absent: centre crop. */
  augment?: { seed: number; scale?: [number, number]; ratio?: [number, number] };
  /** Decode threads for image files; 0 decodes in this thread. Default min(2, CPUs). */
  workers?: number;
  maxPixels?: number;
}

const OPEN_SHARDS = 16;

export class SampleDecoder {
  private readonly size: number;
  private readonly augment: SampleDecoderOptions['augment'];
  private readonly maxPixels: number;
  private readonly runner: WorkerPool | InThreadRunner;
  /** Open shard files, least recently used first. */
  private readonly shards = new Map<string, number>();

  constructor(opts: SampleDecoderOptions) {
    this.size = opts.size;
    this.augment = opts.augment;
    this.maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
    const workers = opts.workers ?? Math.min(2, availableParallelism());
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be a non-negative integer, got ${workers}`);
    this.runner = workers > 0 ? new WorkerPool(workers, 2) : new InThreadRunner(4);
  }

  private seedWords(epoch: number, index: number): number[] | undefined {
    return this.augment === undefined ? undefined : [this.augment.seed, epoch, index];
  }

  /** The image of `sample` (dataset index `index`) as float32 [3, size, size], or why it failed. */
  async decode(sample: PairSample, index: number, epoch: number): Promise<DecodeResult> {
    const seed = this.seedWords(epoch, index);
    const scale = this.augment?.scale ?? [0.9, 1];
    const ratio = this.augment?.ratio ?? [3 / 4, 4 / 3];
    if (sample.image.kind === 'file') {
      const task: ImageTask = {
        id: index, path: sample.image.path, size: this.size, applyExifOrientation: false, maxPixels: this.maxPixels,
        ...(seed !== undefined ? { augment: { seed, scale, ratio } } : {}),
      };
      const r: ImageTaskResult = await this.runner.run(task);
      return r.ok ? { ok: true, tensor: r.tensor } : { ok: false, why: r.message };
    }
    const name = imageName(sample.image);
    try {
      const bytes = readRange(this.shardFd(sample.image.shard), sample.image.offset, sample.image.size);
      const image = await decodeImage(bytes, { name, maxPixels: this.maxPixels });
      const tensor = new Float32Array(3 * this.size * this.size);
      if (seed !== undefined) randomResizedCropInto(image, this.size, new SeededRandom(...seed), tensor, 0, { scale, ratio });
      else preprocessInto(image, this.size, tensor);
      return { ok: true, tensor };
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return { ok: false, why: err instanceof ImageDecodeError || msg.startsWith(name) ? msg : `${name}: ${msg}` };
    }
  }

  private shardFd(shard: string): number {
    let fd = this.shards.get(shard);
    if (fd !== undefined) {
      this.shards.delete(shard);
      this.shards.set(shard, fd);
      return fd;
    }
    fd = openSync(shard, 'r');
    this.shards.set(shard, fd);
    if (this.shards.size > OPEN_SHARDS) {
      const [oldest, oldFd] = this.shards.entries().next().value as [string, number];
      this.shards.delete(oldest);
      closeSync(oldFd);
    }
    return fd;
  }

  async close(): Promise<void> {
    for (const fd of this.shards.values()) closeSync(fd);
    this.shards.clear();
    if (this.runner instanceof WorkerPool) await this.runner.close();
  }
}
