// Normalisations over the last dimension: layer norm, L2 normalisation, softmax.
import { record } from '../autograd.js';
import { native } from '../native.js';
import { Tensor, allocate, allocateUninitialized, checkSameDType, shapeString } from '../tensor.js';

/** LayerNorm over the last dimension with weight and bias (biased variance, eps inside the sqrt). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  checkSameDType('layerNorm', x, weight);
  checkSameDType('layerNorm', x, bias);
  const n = x.dim(-1);
  if (weight.size !== n || bias.size !== n) {
    throw new RangeError(`layerNorm: shape mismatch: input ${shapeString(x.shape)} vs weight ${shapeString(weight.shape)} / bias ${shapeString(bias.shape)}`);
  }
  const rows = x.size / n;
  const nat = native();
  const out = allocateUninitialized(x.dtype, x.size);
  const mean = allocate(x.dtype, rows);
  const rstd = allocate(x.dtype, rows);
  nat.layerNorm(x.data, weight.data, bias.data, rows, n, eps, out, mean, rstd);
  return record(new Tensor(out, x.shape), 'layerNorm', [x, weight, bias], (g) => {
    const gx = allocateUninitialized(x.dtype, x.size);
    const gw = allocate(x.dtype, n);
    const gb = allocate(x.dtype, n);
    nat.layerNormBackward(x.data, weight.data, mean, rstd, g, rows, n, gx, gw, gb);
    return [gx, weight.requiresGrad ? gw : null, bias.requiresGrad ? gb : null];
  });
}

/** x / ‖x‖₂ over the last dimension. */
export function l2Normalize(x: Tensor): Tensor {
  const n = x.dim(-1);
  const rows = x.size / n;
  const nat = native();
  const out = allocateUninitialized(x.dtype, x.size);
  const norms = allocate(x.dtype, rows);
  nat.l2Normalize(x.data, rows, n, out, norms);
  return record(new Tensor(out, x.shape), 'l2Normalize', [x], (g) => {
    const gx = allocateUninitialized(x.dtype, x.size);
    nat.l2NormalizeBackward(out, norms, g, rows, n, gx);
    return [gx];
  });
}

/** Softmax over the last dimension. */
export function softmax(x: Tensor): Tensor {
  const n = x.dim(-1);
  const rows = x.size / n;
  const nat = native();
  const out = allocateUninitialized(x.dtype, x.size);
  nat.softmax(x.data, rows, n, out);
  return record(new Tensor(out, x.shape), 'softmax', [x], (g) => {
    const gx = allocateUninitialized(x.dtype, x.size);
    nat.softmaxBackward(out, g, rows, n, gx);
    return [gx];
  });
}
