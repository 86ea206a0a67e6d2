// Exact nearest-neighbour search in memory: all vectors of an index as one row-major float32
// matrix, ranked against a query by one matrix-vector product on the native core. For unit
// vectors the product is the cosine similarity. Brute force is exact and, for up to a few hundred
// thousand CLIP vectors, fast enough that an approximate index would only cost recall.
import { native } from '../tensor/index.js';
import { topK, type Ranked } from './top-k.js';

export class VectorMatrix {
  /** The id of each row. */
  readonly ids: Int32Array;
  /** count x dim, row-major. */
  readonly vectors: Float32Array;
  readonly dim: number;

  constructor(ids: Int32Array, vectors: Float32Array, dim: number) {
    if (vectors.length !== ids.length * dim) {
      throw new RangeError(`VectorMatrix: ${vectors.length} values for ${ids.length} ids of dimension ${dim}`);
    }
    this.ids = ids;
    this.vectors = vectors;
    this.dim = dim;
  }

  get count(): number {
    return this.ids.length;
  }

  /** The dot product of every row with `query` (length dim). */
  scores(query: Float32Array): Float32Array {
    if (query.length !== this.dim) throw new RangeError(`query has ${query.length} dimensions, the index ${this.dim}`);
    const out = new Float32Array(this.count);
    // As a 1 x count row (query · matrixᵀ): measured a little faster than the count x 1 column form
    // with both of the core's GEMMs; either way the time is that of reading the matrix once.
    if (this.count > 0) native().gemm(false, true, 1, this.count, this.dim, 1, query, this.dim, this.vectors, this.dim, 0, out, this.count);
    return out;
  }

  /** The `k` best rows for `query`: row positions and scores, best first. */
  nearest(query: Float32Array, k: number): Ranked[] {
    return topK(this.scores(query), k);
  }
}
