// Reductions to a scalar and the classification loss.
import { record } from '../autograd.js';
import { native } from '../native.js';
import { Tensor, allocate, shapeString } from '../tensor.js';

/** Σx as a one-element tensor. */
export function sum(x: Tensor): Tensor {
  const out = allocate(x.dtype, 1);
  out[0] = native().sumAll(x.data);
  return record(new Tensor(out, [1]), 'sum', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    gx.fill(g[0]);
    return [gx];
  });
}

/** Mean of all values as a one-element tensor. */
export function mean(x: Tensor): Tensor {
  const n = x.size;
  const out = allocate(x.dtype, 1);
  out[0] = native().sumAll(x.data) / n;
  return record(new Tensor(out, [1]), 'mean', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    gx.fill(g[0] / n);
    return [gx];
  });
}

/** Mean cross-entropy of logits [rows, classes] against integer targets, as a one-element tensor. */
export function crossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  if (logits.rank !== 2 || targets.length !== logits.dim(0)) {
    throw new RangeError(`crossEntropy: shape mismatch: logits ${shapeString(logits.shape)} vs ${targets.length} targets`);
  }
  const [rows, n] = logits.shape;
  for (let i = 0; i < rows; i++) {
    if (!(targets[i] >= 0 && targets[i] < n)) throw new RangeError(`crossEntropy: target ${targets[i]} at row ${i} is not a class index in [0, ${n})`);
  }
  const nat = native();
  const probs = allocate(logits.dtype, logits.size);
  const out = allocate(logits.dtype, 1);
  out[0] = nat.crossEntropy(logits.data, targets, rows, n, probs);
  return record(new Tensor(out, [1]), 'crossEntropy', [logits], (g) => {
    const gl = allocate(logits.dtype, logits.size);
    nat.crossEntropyBackward(probs, targets, rows, n, g[0] / rows, gl);
    return [gl];
  });
}
