// One unit of batch-loader work - decode a file and turn it into a normalised tensor - shared by
// the worker threads and the in-thread mode, and the messages that carry it across threads.
import { decodeImage } from './decode.js';
import { ImageDecodeError, type ImageErrorKind } from './errors.js';
import type { Normalization } from './normalize.js';
import { preprocessInto } from './preprocess.js';
import { randomResizedCropInto } from './random-resized-crop.js';
import { SeededRandom } from './seeded-random.js';
import { uninitializedFloat32 } from './uninitialized.js';

export interface ImageTask {
  id: number;
  path: string;
  size: number;
  applyExifOrientation: boolean;
  maxPixels: number;
  normalization?: Normalization;
  /** Present for training: a random resized crop seeded by these words instead of the centre crop. */
  augment?: { seed: number[]; scale: [number, number]; ratio: [number, number] };
}

export type ImageTaskResult =
  | { id: number; ok: true; tensor: Float32Array }
  | { id: number; ok: false; kind: ImageErrorKind | 'internal'; message: string };

function failure(id: number, err: unknown): ImageTaskResult {
  if (err instanceof ImageDecodeError) return { id, ok: false, kind: err.kind, message: err.message };
  return { id, ok: false, kind: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** `sync`: decode JPEGs blocking this thread (worker threads) rather than on libuv's pool. */
export async function runImageTask(task: ImageTask, sync = false): Promise<ImageTaskResult> {
  try {
    const image = await decodeImage(task.path, { applyExifOrientation: task.applyExifOrientation, maxPixels: task.maxPixels, sync });
    const tensor = uninitializedFloat32(3 * task.size * task.size); // fully written below
    if (task.augment !== undefined) {
      const rng = new SeededRandom(...task.augment.seed);
      randomResizedCropInto(image, task.size, rng, tensor, 0, {
        scale: task.augment.scale, ratio: task.augment.ratio, normalization: task.normalization,
      });
    } else {
      preprocessInto(image, task.size, tensor, 0, { normalization: task.normalization });
    }
    return { id: task.id, ok: true, tensor };
  } catch (err) {
    return failure(task.id, err);
  }
}
