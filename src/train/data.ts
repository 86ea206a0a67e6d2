// Training batches: each epoch visits the pairs in a fresh order drawn from (seed, epoch), and
// fills each batch with the next samples that decode; a corrupt or missing image is skipped and
// counted, and the batch is topped up from the samples after it. The position in the data is a
// cursor (epoch, index into that epoch's order), which is all a checkpoint needs to continue
// with exactly the batches an uninterrupted run would have seen. An epoch's tail too short for a
// full batch is dropped (every step sees the same batch size).
import { SeededRandom } from '../image/index.js';
import { tokenize } from '../text/index.js';
import { captionFor, type PairSample } from './pair-dataset.js';
import type { DecodeResult, SampleDecoder } from './sample-decoder.js';

/** Where the next batch starts. */
export interface DataCursor {
  epoch: number;
  /** Index into the epoch's order of the next sample to read. */
  position: number;
}

export interface SkippedSample {
  where: string;
  why: string;
}

export interface TrainingBatch {
  /** float32 [count, 3, size, size]. */
  images: Float32Array;
  /** [count, context] token ids. */
  tokens: Int32Array;
  count: number;
  /** Dataset indices of the samples, in batch order. */
  indices: number[];
  /** The cursor this batch started at and the one after it (what a checkpoint stores). */
  start: DataCursor;
  next: DataCursor;
  /** Samples skipped while filling this batch. */
  skipped: SkippedSample[];
}

/** A permutation of 0..n−1 for `epoch` (Fisher–Yates over the seeded generator). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new SeededRandom(seed, epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}

export interface BatchStreamOptions {
  batchSize: number;
  contextLength: number;
  /** Seed of the epoch orders. */
  seed: number;
  /** false: every epoch in dataset order (evaluation, debugging). Default true. */
  shuffle?: boolean;
  /** Samples being decoded ahead of the one the batch waits for. Default 2 × batchSize. */
  lookahead?: number;
}

/**
 * Batches from `cursor` on, for ever (epoch after epoch). Throws when a whole epoch yields no
 * batch, naming the first failures, instead of spinning.
 */
export async function* trainingBatches(samples: readonly PairSample[], decoder: SampleDecoder, cursor: DataCursor,
  opts: BatchStreamOptions): AsyncGenerator<TrainingBatch, void, undefined> {
  const n = samples.length;
  const B = opts.batchSize;
  if (!Number.isInteger(B) || B < 2) throw new RangeError(`batch size must be an integer of at least 2, got ${B}`);
  if (n < B) throw new RangeError(`the data has ${n} pairs, fewer than one batch of ${B}`);
  const lookahead = opts.lookahead ?? 2 * B;
  const shuffle = opts.shuffle ?? true;
  let { epoch, position } = cursor;
  if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(position) || position < 0 || position > n) {
    throw new RangeError(`bad data cursor (epoch ${epoch}, position ${position}) for ${n} pairs`);
  }
  for (;;) {
    const order = shuffle ? epochOrder(n, opts.seed, epoch) : Uint32Array.from({ length: n }, (_, i) => i);
    const inFlight = new Map<number, Promise<DecodeResult>>();
    let next = position;
    const fill = (): void => {
      while (next < n && inFlight.size < lookahead) {
        const idx = order[next];
        inFlight.set(next, decoder.decode(samples[idx], idx, epoch));
        next++;
      }
    };
    let batchesThisEpoch = 0;
    const failures: SkippedSample[] = [];
    while (position < n) {
      const start: DataCursor = { epoch, position };
      const tensors: Float32Array[] = [];
      const indices: number[] = [];
      const skipped: SkippedSample[] = [];
      let p = position;
      while (tensors.length < B && p < n) {
        fill();
        const r = await (inFlight.get(p) as Promise<DecodeResult>);
        inFlight.delete(p);
        const idx = order[p];
        if (r.ok) {
          tensors.push(r.tensor);
          indices.push(idx);
        } else {
          const s = { where: samples[idx].where, why: r.why };
          skipped.push(s);
          if (failures.length < 5) failures.push(s);
        }
        p++;
      }
      if (tensors.length < B) break; // the epoch's tail: too few samples left for a batch
      fill(); // keep the decoders busy while the batch trains
      const per = tensors[0].length;
      const images = new Float32Array(B * per);
      tensors.forEach((t, i) => images.set(t, i * per));
      const tokens = tokenize(indices.map((i) => captionFor(samples[i], opts.seed, epoch, i)), { contextLength: opts.contextLength, truncate: true }).ids;
      position = p;
      const after: DataCursor = position >= n ? { epoch: epoch + 1, position: 0 } : { epoch, position };
      batchesThisEpoch++;
      yield { images, tokens, count: B, indices, start, next: after, skipped };
    }
    if (batchesThisEpoch === 0 && cursor.position === 0) {
      throw new Error(`epoch ${epoch}: no batch of ${B} could be formed from ${n} pairs (${failures.length > 0 ? 'failures include: ' + failures.map((f) => `${f.where}: ${f.why}`).join('; ') : 'too few pairs'})`);
    }
    // Outstanding decodes of the dropped tail are awaited so no work leaks into the next epoch.
    await Promise.all(inFlight.values());
    cursor = { epoch: epoch + 1, position: 0 };
    epoch++;
    position = 0;
  }
}
