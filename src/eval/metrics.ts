// Classification metrics, in percent as the CLIP paper reports them. Mean per-class accuracy (the
// paper's metric for unbalanced sets such as Pets, Flowers, Caltech-101) averages the recall of
// each class that has test examples, so a large class cannot dominate.

function checkLengths(predictions: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (predictions.length !== labels.length) {
    throw new RangeError(`${predictions.length} predictions for ${labels.length} labels`);
  }
  if (labels.length === 0) throw new RangeError('no examples to score');
}

/** Percentage of predictions equal to their label. */
export function top1Accuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkLengths(predictions, labels);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return (100 * correct) / labels.length;
}

/** Recall of each class in percent; NaN for a class without examples. */
export function perClassAccuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number[] {
  checkLengths(predictions, labels);
  const total = new Array<number>(numClasses).fill(0);
  const correct = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new RangeError(`label ${c} of example ${i} outside [0, ${numClasses})`);
    total[c]++;
    if (predictions[i] === c) correct[c]++;
  }
  return total.map((t, c) => (t === 0 ? NaN : (100 * correct[c]) / t));
}

/** Mean of the per-class accuracies over the classes that have examples. */
export function meanPerClassAccuracy(predictions: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number {
  const per = perClassAccuracy(predictions, labels, numClasses).filter((v) => !Number.isNaN(v));
  return per.reduce((a, b) => a + b, 0) / per.length;
}

/** Mean and sample standard deviation (n − 1; 0 for a single value). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) throw new RangeError('meanStd of no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return { mean, std: 0 };
  const v = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (values.length - 1);
  return { mean, std: Math.sqrt(v) };
}
