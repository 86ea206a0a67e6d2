// Row-wise argmax, first index on ties (like torch.argmax / numpy.argmax).

/** Index of the largest value of each row of a [rows, n] matrix (first on ties). */
export function argmaxRows(values: ArrayLike<number>, rows: number, n: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let j = 1; j < n; j++) if (values[i * n + j] > values[i * n + best]) best = j;
    out[i] = best;
  }
  return out;
}
