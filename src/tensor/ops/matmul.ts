// Matrix products: matmul (batched, with transpose flags) and linear (x·Wᵀ + b, PyTorch layout).
// Both go to BLAS through the native gemm; backward is two more GEMMs (and a row sum for the bias).
import { record } from '../autograd.js';
import { recycleArray } from '../buffer-pool.js';
import { native } from '../native.js';
import { Tensor, allocate, allocateUninitialized, allocateUninitializedBf16, checkSameDType, shapeString, shapeSize, type Shape } from '../tensor.js';
import { getMatmulPrecision } from '../precision.js';

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

function mismatch(op: string, a: Tensor, b: Tensor, why: string): RangeError {
  return new RangeError(`${op}: shape mismatch: ${shapeString(a.shape)} vs ${shapeString(b.shape)} (${why})`);
}

/**
 * a: [..., M, K] (or [..., K, M] with transA), b: [K, N] (or [N, K] with transB), or b with the
 * same leading batch dimensions as a. Returns [..., M, N].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  checkSameDType('matmul', a, b);
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  if (a.rank < 2 || b.rank < 2) throw mismatch('matmul', a, b, 'both need at least 2 dimensions');
  const aRows = a.dim(-2);
  const aCols = a.dim(-1);
  const M = transA ? aCols : aRows;
  const K = transA ? aRows : aCols;
  const bRows = b.dim(-2);
  const bCols = b.dim(-1);
  const Kb = transB ? bCols : bRows;
  const N = transB ? bRows : bCols;
  if (K !== Kb) throw mismatch('matmul', a, b, `inner dimensions ${K} and ${Kb} differ`);
  const batchShape = a.shape.slice(0, -2);
  const batch = shapeSize(batchShape);
  const bBatched = b.rank > 2;
  if (bBatched) {
    const bBatch = b.shape.slice(0, -2);
    if (bBatch.length !== batchShape.length || bBatch.some((d, i) => d !== batchShape[i])) {
      throw mismatch('matmul', a, b, 'batch dimensions differ');
    }
  }
  const outShape: Shape = [...batchShape, M, N];
  const out = allocateUninitialized(a.dtype, batch * M * N);
  const nat = native();
  const lda = aCols;
  const ldb = bCols;
  if (!bBatched && !transA) {
    // Fold the batch into M: one large GEMM instead of many small ones.
    nat.gemm(false, transB, batch * M, N, K, 1, a.data, lda, b.data, ldb, 0, out, N);
  } else {
    nat.gemmBatched(transA, transB, M, N, K, 1, a.data, aRows * aCols, lda, b.data, bBatched ? bRows * bCols : 0, ldb, 0, out, M * N, N, batch);
  }
  const result = new Tensor(out, outShape);
  return record(result, 'matmul', [a, b], (g) => {
    let ga = null;
    let gb = null;
    if (a.requiresGrad) {
      // dA = dC·op(B)ᵀ (stored as op(A) orientation)
      ga = allocateUninitialized(a.dtype, a.size);
      if (!transA) {
        if (!bBatched) nat.gemm(false, !transB, batch * M, K, N, 1, g, N, b.data, ldb, 0, ga, K);
        else nat.gemmBatched(false, !transB, M, K, N, 1, g, M * N, N, b.data, bRows * bCols, ldb, 0, ga, M * K, K, batch);
      } else {
        // A stored [K, M]: dA = op(B)·dCᵀ
        nat.gemmBatched(transB, true, K, M, N, 1, b.data, bBatched ? bRows * bCols : 0, ldb, g, M * N, N, 0, ga, K * M, M, batch);
      }
    }
    if (b.requiresGrad) {
      if (!bBatched) {
        gb = allocateUninitialized(b.dtype, b.size);
        if (!transA) {
          // dB = Aᵀ·dC summed over the folded batch (one GEMM)
          if (!transB) nat.gemm(true, false, K, N, batch * M, 1, a.data, lda, g, N, 0, gb, N);
          else nat.gemm(true, false, N, K, batch * M, 1, g, N, a.data, lda, 0, gb, K);
        } else {
          for (let i = 0; i < batch; i++) {
            const ai = a.data.subarray(i * aRows * aCols);
            const gi = g.subarray(i * M * N);
            if (!transB) nat.gemm(false, false, K, N, M, 1, ai, lda, gi, N, i === 0 ? 0 : 1, gb, N);
            else nat.gemm(true, true, N, K, M, 1, gi, N, ai, lda, i === 0 ? 0 : 1, gb, K);
          }
        }
      } else {
        gb = allocateUninitialized(b.dtype, b.size);
        const sB = bRows * bCols;
        if (!transB) nat.gemmBatched(!transA, false, K, N, M, 1, a.data, aRows * aCols, lda, g, M * N, N, 0, gb, sB, N, batch);
        else nat.gemmBatched(true, transA, N, K, M, 1, g, M * N, N, a.data, aRows * aCols, lda, 0, gb, sB, K, batch);
      }
    }
    return [ga, gb];
  });
}

/**
 * W's bfloat16 copy, kept on the tensor. Frozen weights are converted once; weights being trained
 * change at every optimizer step, so theirs is refilled at every forward pass — into the same
 * buffer, because a fresh one per pass costs more in page faults than the conversion itself.
 */
function weightBf16(weight: Tensor): Uint16Array {
  if (weight.bf16 !== null && !weight.requiresGrad) return weight.bf16;
  weight.bf16 ??= new Uint16Array(weight.size);
  native().toBf16(weight.data as Float32Array, weight.bf16);
  return weight.bf16;
}

/**
 * y = x·Wᵀ + b with x: [..., in], W: [out, in] (PyTorch's nn.Linear layout), b: [out] or null.
 * Under the bf16 matmul precision the three products (forward, input gradient, weight gradient)
 * take bfloat16 operands with float32 accumulation; weights, gradients and the optimizer stay in
 * float32 (mixed precision with fp32 master weights). The input is kept as bf16 for the backward
 * pass, which also halves the activation memory of these layers.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  checkSameDType('linear', x, weight);
  if (weight.rank !== 2) throw new RangeError(`linear: weight must be [out, in], got ${shapeString(weight.shape)}`);
  const [outF, inF] = weight.shape;
  if (x.rank < 1 || x.dim(-1) !== inF) {
    throw new RangeError(`linear: shape mismatch: input ${shapeString(x.shape)} vs weight ${shapeString(weight.shape)} (last input dimension must be ${inF})`);
  }
  if (bias !== null) {
    checkSameDType('linear', x, bias);
    if (bias.size !== outF) throw new RangeError(`linear: shape mismatch: bias ${shapeString(bias.shape)} vs weight ${shapeString(weight.shape)}`);
  }
  const rows = x.size / inF;
  const out = allocateUninitialized(x.dtype, rows * outF);
  const nat = native();
  const useBf16 = getMatmulPrecision() === 'bf16' && x.dtype === 'float32';
  let wBf16: Uint16Array | null = null;
  let xBf16: Uint16Array | null = null;
  if (useBf16) {
    wBf16 = weightBf16(weight);
    nat.gemmBf16(false, true, rows, outF, inF, 1, x.data as Float32Array, inF, wBf16, inF, 0, out as Float32Array, outF);
    if (weight.requiresGrad) {
      xBf16 = allocateUninitializedBf16(x.size);
      nat.toBf16(x.data as Float32Array, xBf16);
    }
  } else {
    nat.gemm(false, true, rows, outF, inF, 1, x.data, inF, weight.data, inF, 0, out, outF);
  }
  if (bias !== null) nat.addBias(out, bias.data, rows, outF);
  const result = new Tensor(out, [...x.shape.slice(0, -1), outF]);
  return record(result, 'linear', [x, weight, bias], (g, lastUse) => {
    let gx = null;
    let gw = null;
    let gbias = null;
    if (x.requiresGrad) {
      gx = allocateUninitialized(x.dtype, x.size);
      if (wBf16 !== null) nat.gemmBf16(false, false, rows, inF, outF, 1, g as Float32Array, outF, wBf16, inF, 0, gx as Float32Array, inF);
      else nat.gemm(false, false, rows, inF, outF, 1, g, outF, weight.data, inF, 0, gx, inF);
    }
    if (weight.requiresGrad) {
      gw = allocateUninitialized(x.dtype, weight.size);
      if (xBf16 !== null) nat.gemmBf16(true, false, outF, inF, rows, 1, g as Float32Array, outF, xBf16, inF, 0, gw as Float32Array, inF);
      else nat.gemm(true, false, outF, inF, rows, 1, g, outF, x.data, inF, 0, gw, inF);
    }
    if (lastUse && xBf16 !== null) recycleArray(xBf16); // only this closure held it
    if (bias !== null && bias.requiresGrad) {
      gbias = allocate(x.dtype, outF);
      nat.sumRows(g, rows, outF, gbias, false);
    }
    return [gx, gw, gbias];
  });
}
