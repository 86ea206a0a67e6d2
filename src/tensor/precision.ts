// The precision of the linear layers' matrix multiplies: 'fp32' (default, exact to the reference
// within summation order) or 'bf16' (operands rounded to bfloat16, float32 accumulation: about 2x
// faster on CPUs with AVX512_BF16, with ~3 significant digits). In training, 'bf16' is mixed
// precision: the products of the forward and backward passes in bf16, weights, gradients and
// optimizer state in float32.
export type MatmulPrecision = 'fp32' | 'bf16';

let precision: MatmulPrecision = 'fp32';

export function getMatmulPrecision(): MatmulPrecision {
  return precision;
}

export function setMatmulPrecision(p: MatmulPrecision): void {
  if (p !== 'fp32' && p !== 'bf16') throw new TypeError(`matmul precision must be 'fp32' or 'bf16', got ${String(p)}`);
  precision = p;
}

/** Runs fn with the given matmul precision, restoring the previous one afterwards. */
export function withMatmulPrecision<T>(p: MatmulPrecision, fn: () => T): T {
  const prev = precision;
  setMatmulPrecision(p);
  try {
    return fn();
  } finally {
    precision = prev;
  }
}
