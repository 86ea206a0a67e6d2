// A confusion matrix (true class x predicted class counts) and its summary: the pairs of classes
// the classifier mixes up most, which says more about a zero-shot classifier's failures (usually
// near-synonyms or visually similar classes) than the accuracy alone.

/** One off-diagonal cell: images of `trueIndex` predicted as `predictedIndex`. */
export interface ConfusedPair {
  trueIndex: number;
  predictedIndex: number;
  count: number;
  /** count / number of images of the true class. */
  fraction: number;
}

export class ConfusionMatrix {
  readonly classCount: number;
  /** Row-major [true, predicted] counts. */
  readonly counts: Uint32Array;

  constructor(classCount: number) {
    if (!Number.isInteger(classCount) || classCount < 1) throw new RangeError(`confusion matrix: class count must be a positive integer, got ${classCount}`);
    this.classCount = classCount;
    this.counts = new Uint32Array(classCount * classCount);
  }

  /** A matrix from parallel arrays of true and predicted class indices. */
  static from(labels: ArrayLike<number>, predictions: ArrayLike<number>, classCount: number): ConfusionMatrix {
    if (labels.length !== predictions.length) throw new RangeError(`confusion matrix: ${labels.length} labels but ${predictions.length} predictions`);
    const m = new ConfusionMatrix(classCount);
    for (let i = 0; i < labels.length; i++) m.add(labels[i], predictions[i]);
    return m;
  }

  private check(i: number, what: string): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.classCount) throw new RangeError(`confusion matrix: ${what} class ${i} outside [0, ${this.classCount})`);
  }

  add(trueIndex: number, predictedIndex: number, n = 1): void {
    this.check(trueIndex, 'true');
    this.check(predictedIndex, 'predicted');
    this.counts[trueIndex * this.classCount + predictedIndex] += n;
  }

  count(trueIndex: number, predictedIndex: number): number {
    return this.counts[trueIndex * this.classCount + predictedIndex];
  }

  /** Images whose true class is `trueIndex`. */
  rowTotal(trueIndex: number): number {
    let s = 0;
    for (let p = 0; p < this.classCount; p++) s += this.count(trueIndex, p);
    return s;
  }

  /** The matrix as nested arrays (rows: true class). */
  toArray(): number[][] {
    const out: number[][] = [];
    for (let t = 0; t < this.classCount; t++) out.push(Array.from(this.counts.subarray(t * this.classCount, (t + 1) * this.classCount)));
    return out;
  }

  /**
   * The `limit` off-diagonal cells with the most images, most first; ties go to the larger
   * fraction of the true class, then to the lower class indices (so the order is deterministic).
   */
  mostConfused(limit = 10): ConfusedPair[] {
    const pairs: ConfusedPair[] = [];
    for (let t = 0; t < this.classCount; t++) {
      const total = this.rowTotal(t);
      for (let p = 0; p < this.classCount; p++) {
        const count = this.count(t, p);
        if (p !== t && count > 0) pairs.push({ trueIndex: t, predictedIndex: p, count, fraction: count / total });
      }
    }
    pairs.sort((a, b) => b.count - a.count || b.fraction - a.fraction || a.trueIndex - b.trueIndex || a.predictedIndex - b.predictedIndex);
    return pairs.slice(0, Math.max(0, limit));
  }

  /** The class most often predicted for images of `trueIndex` other than itself, if any. */
  mostConfusedWith(trueIndex: number): { predictedIndex: number; count: number } | undefined {
    let best: { predictedIndex: number; count: number } | undefined;
    for (let p = 0; p < this.classCount; p++) {
      const count = this.count(trueIndex, p);
      if (p !== trueIndex && count > 0 && (best === undefined || count > best.count)) best = { predictedIndex: p, count };
    }
    return best;
  }
}
