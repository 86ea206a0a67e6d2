// A dense row-major matrix of feature vectors (one row per image) and the row operations the
// probes need: picking subsets (splits, k-shot samples) and widening to float64 for the solver.

export interface FeatureMatrix {
  /** rows × dim values, row-major. */
  data: Float32Array | Float64Array;
  rows: number;
  dim: number;
}

export function featureMatrix(data: Float32Array | Float64Array, rows: number, dim: number): FeatureMatrix {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(dim) || dim < 1) {
    throw new RangeError(`feature matrix: bad shape [${rows}, ${dim}]`);
  }
  if (data.length !== rows * dim) {
    throw new RangeError(`feature matrix: ${data.length} values do not make [${rows}, ${dim}]`);
  }
  return { data, rows, dim };
}

/** The matrix in float64 (the data itself when it already is). */
export function toFloat64(m: FeatureMatrix): FeatureMatrix & { data: Float64Array } {
  if (m.data instanceof Float64Array) return { data: m.data, rows: m.rows, dim: m.dim };
  return { data: Float64Array.from(m.data), rows: m.rows, dim: m.dim };
}

/** Rows `indices` of `m`, in that order, as float64. */
export function selectRows(m: FeatureMatrix, indices: ArrayLike<number>): FeatureMatrix & { data: Float64Array } {
  const out = new Float64Array(indices.length * m.dim);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (!Number.isInteger(r) || r < 0 || r >= m.rows) throw new RangeError(`row ${r} is outside [0, ${m.rows})`);
    out.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), i * m.dim);
  }
  return { data: out, rows: indices.length, dim: m.dim };
}

/** Checks that every value is finite, naming the first bad row (features from a broken model or file). */
export function assertFiniteRows(m: FeatureMatrix, what: string): void {
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      throw new Error(`${what}: row ${Math.floor(i / m.dim)} holds a non-finite value (${m.data[i]})`);
    }
  }
}
