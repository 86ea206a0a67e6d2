// The global gradient norm and clipping by it (PyTorch's clip_grad_norm_ with the 2-norm): when
// ‖g‖ over all parameters exceeds the limit, every gradient is scaled by limit / (‖g‖ + 1e-6),
// which keeps the update's direction and bounds its size after a bad batch.
import { native, type Tensor } from '../tensor/index.js';

/** √(Σ g²) over every gradient present, accumulated in float64. */
export function globalGradNorm(params: Iterable<[string, Tensor]>): number {
  const nat = native();
  let sq = 0;
  for (const [, t] of params) if (t.grad !== null) sq += nat.sumSquares(t.grad.data);
  return Math.sqrt(sq);
}

/**
 * Scales the gradients so that their global norm is at most `maxNorm`; returns the norm before
 * clipping (what training logs report). Non-finite norms are returned without touching anything,
 * so the caller can skip the step.
 */
export function clipGradNorm(params: Iterable<[string, Tensor]>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new RangeError(`gradient clipping norm must be positive, got ${maxNorm}`);
  const list = [...params];
  const norm = globalGradNorm(list);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    const nat = native();
    for (const [, t] of list) if (t.grad !== null) nat.scale(t.grad.data, coef, t.grad.data);
  }
  return norm;
}
