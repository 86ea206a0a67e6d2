// Seeded subsets of a labelled set: the stratified validation split of the linear-probe protocol
// and the k-examples-per-class samples of few-shot evaluation. Each class is shuffled on its own
// stream, so the examples a class gets do not depend on the other classes' sizes.
import { SeededRandom } from '../image/index.js';

/** Fisher–Yates shuffle of a copy of `xs`. */
export function shuffled<T>(xs: readonly T[], rng: SeededRandom): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** Row indices of each class, in row order. */
export function indicesByClass(labels: ArrayLike<number>, numClasses: number): number[][] {
  const by: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) by[labels[i]].push(i);
  return by;
}

export interface Split {
  train: number[];
  val: number[];
}

/**
 * Holds out round(fraction · n_c) examples of each class c for validation, keeping at least one
 * in training (a class with a single example stays entirely in training).
 */
export function stratifiedSplit(labels: ArrayLike<number>, numClasses: number, fraction: number, seed: number): Split {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`validation fraction must be in (0, 1), got ${fraction}`);
  const train: number[] = [];
  const val: number[] = [];
  indicesByClass(labels, numClasses).forEach((rows, c) => {
    const order = shuffled(rows, new SeededRandom(seed, 0x5a11, c));
    const nVal = Math.min(Math.round(fraction * rows.length), rows.length - 1);
    val.push(...order.slice(0, Math.max(0, nVal)));
    train.push(...order.slice(Math.max(0, nVal)));
  });
  return { train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b) };
}

/**
 * k examples of every class (those with examples), drawn with `seed`. A class with fewer than k
 * examples is an error naming it, since a k-shot result must mean k shots everywhere.
 */
export function sampleShots(labels: ArrayLike<number>, classes: readonly string[], k: number, seed: number): number[] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`shots must be a positive integer, got ${k}`);
  const out: number[] = [];
  indicesByClass(labels, classes.length).forEach((rows, c) => {
    if (rows.length === 0) return;
    if (rows.length < k) throw new Error(`class "${classes[c]}" has ${rows.length} training image${rows.length === 1 ? '' : 's'}, fewer than ${k} shots`);
    out.push(...shuffled(rows, new SeededRandom(seed, 0x5407, c)).slice(0, k));
  });
  return out.sort((a, b) => a - b);
}
