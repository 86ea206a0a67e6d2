// Image–caption pairs for training, from any mix of sources (caption tables, WebDataset shards).
// A sample is addressed by its index in the combined list, which is what the epoch order shuffles
// and what checkpoints record, so a run resumes at the exact sample it stopped at.
import { createHash } from 'node:crypto';
import { parseFilterValues } from '../eval/labelled-table.js';

/** Where a sample's image bytes are: a file, or a member of a tar shard. */
export type ImageLocation =
  | { kind: 'file'; path: string }
  | { kind: 'tar'; shard: string; offset: number; size: number; name: string };

export interface PairSample {
  image: ImageLocation;
  /** The caption (the first of `captions` when there are several). */
  caption: string;
  /** Several captions of the image (a JSONL array); training uses one per epoch, see captionFor. */
  captions?: readonly string[];
  /**
   * The sample's identity independent of where the data folder lies: the image path as written in
   * its table (usually relative), or `<shard file name>:<member>`. The held-out split and the
   * resume fingerprint use it, so moving the data does not change either.
   */
  key: string;
  /** Where the pair was listed, for messages: `labels.csv row 12`, `shard-0003.tar: 000123`. */
  where: string;
}

export interface PairDataset {
  samples: PairSample[];
  /** The sources, as given. */
  sources: string[];
  /** Listed pairs that were left out while reading (no image member in a shard, …), with reasons. */
  dropped: { where: string; why: string }[];
}

/** A short description of a sample's image (path, or shard:member). */
export function imageName(loc: ImageLocation): string {
  return loc.kind === 'file' ? loc.path : `${loc.shard}:${loc.name}`;
}

/**
 * A digest of the pairs (image keys and captions, in order), stored in checkpoints so that resuming
 * on different data is caught instead of silently training on other samples.
 */
export function datasetFingerprint(samples: readonly PairSample[]): string {
  const h = createHash('sha256');
  for (const s of samples) h.update(s.key).update('\0').update((s.captions ?? [s.caption]).join('\0')).update('\n');
  return `${samples.length}:${h.digest('hex').slice(0, 16)}`;
}

/**
 * The caption sample `index` trains with in `epoch`: its only caption, or one of its several drawn
 * by a hash of (seed, epoch, index) — the same whichever order or resume led to it.
 */
export function captionFor(sample: PairSample, seed: number, epoch: number, index: number): string {
  const all = sample.captions;
  if (all === undefined || all.length <= 1) return sample.caption;
  const d = createHash('sha256').update(`${seed}\0${epoch}\0${index}`).digest();
  return all[d.readUInt32BE(0) % all.length];
}

/** A row filter: `column=v1,v2` (or `column=@FILE`, a value per line) keeps rows whose column is one of the values, `column!=v1,v2` the others. */
export interface SampleFilter {
  column: string;
  values: string[];
  negate: boolean;
}

export function parseSampleFilter(spec: string): SampleFilter {
  const m = /^([^=!]+)(!?=)(.*)$/.exec(spec);
  if (m === null) throw new Error(`filter "${spec}": expected COLUMN=VALUE[,VALUE] or COLUMN!=VALUE[,VALUE]`);
  return { column: m[1].trim(), values: parseFilterValues(spec, m[3]), negate: m[2] === '!=' };
}

export function filterMatches(f: SampleFilter, value: string): boolean {
  return f.values.includes(value.trim()) !== f.negate;
}

/**
 * Splits pairs into training and held-out parts: a fraction of the samples, picked by a hash of
 * the sample's key and the seed (stable when the list is reordered or extended, or the data moved).
 */
export function splitHeldOut(samples: readonly PairSample[], fraction: number, seed: number): { train: PairSample[]; heldOut: PairSample[] } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`held-out fraction must be in [0, 1), got ${fraction}`);
  const train: PairSample[] = [];
  const heldOut: PairSample[] = [];
  for (const s of samples) {
    const d = createHash('sha256').update(`${seed}\0${s.key}`).digest();
    const u = d.readUInt32BE(0) / 2 ** 32;
    (u < fraction ? heldOut : train).push(s);
  }
  return { train, heldOut };
}
