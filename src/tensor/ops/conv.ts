// Convolution, pooling and batch norm on NCHW tensors (the ResNet image towers and the ViT patch
// embedding).
import { isGradEnabled, needsGrad, record } from '../autograd.js';
import { native } from '../native.js';
import { Tensor, allocate, allocateUninitialized, checkSameDType, shapeString } from '../tensor.js';
import { add, relu } from './elementwise.js';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
}

/** A convolution's sizes, checked: the input, the weight, stride and padding, and the output. */
interface ConvGeometry {
  N: number; C: number; H: number; W: number; O: number; kh: number; kw: number;
  stride: number; pad: number; Ho: number; Wo: number;
}

function convGeometry(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions): ConvGeometry {
  checkSameDType(op, x, weight);
  const stride = opts.stride ?? 1;
  const pad = opts.padding ?? 0;
  if (x.rank !== 4 || weight.rank !== 4 || x.dim(1) !== weight.dim(1)) {
    throw new RangeError(`${op}: shape mismatch: input ${shapeString(x.shape)} vs weight ${shapeString(weight.shape)} (need [N, C, H, W] and [O, C, kh, kw])`);
  }
  const [N, C, H, W] = x.shape;
  const [O, , kh, kw] = weight.shape;
  if (bias !== null && bias.size !== O) throw new RangeError(`${op}: shape mismatch: bias ${shapeString(bias.shape)} vs weight ${shapeString(weight.shape)}`);
  const Ho = Math.floor((H + 2 * pad - kh) / stride) + 1;
  const Wo = Math.floor((W + 2 * pad - kw) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new RangeError(`${op}: kernel ${kh}x${kw} does not fit input ${shapeString(x.shape)} with padding ${pad}`);
  return { N, C, H, W, O, kh, kw, stride, pad, Ho, Wo };
}

/** 2-D convolution: x [N, C, H, W], weight [O, C, kh, kw], bias [O] or null → [N, O, Ho, Wo]. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, opts: Conv2dOptions = {}): Tensor {
  const { N, C, H, W, O, kh, kw, stride, pad, Ho, Wo } = convGeometry('conv2d', x, weight, bias, opts);
  const nat = native();
  const out = allocateUninitialized(x.dtype, N * O * Ho * Wo); // every element is written
  nat.conv2d(x.data, weight.data, bias?.data ?? null, out, N, C, H, W, O, kh, kw, stride, pad);
  return record(new Tensor(out, [N, O, Ho, Wo]), 'conv2d', [x, weight, bias], (g) => {
    const gx = x.requiresGrad ? allocate(x.dtype, x.size) : null;
    const gw = weight.requiresGrad ? allocate(x.dtype, weight.size) : null;
    const gb = bias !== null && bias.requiresGrad ? allocate(x.dtype, O) : null;
    nat.conv2dBackward(x.data, weight.data, g, gx, gw, gb, N, C, H, W, O, kh, kw, stride, pad);
    return [gx, gw, gb];
  });
}

/** Average pooling with a k×k window and the given stride, no padding. */
export function avgPool2d(x: Tensor, k: number, stride = k): Tensor {
  if (x.rank !== 4) throw new RangeError(`avgPool2d: expected [N, C, H, W], got ${shapeString(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const Ho = Math.floor((H - k) / stride) + 1;
  const Wo = Math.floor((W - k) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new RangeError(`avgPool2d: window ${k} does not fit ${shapeString(x.shape)}`);
  const nat = native();
  const out = allocateUninitialized(x.dtype, N * C * Ho * Wo);
  nat.avgPool2d(x.data, out, N, C, H, W, k, stride);
  return record(new Tensor(out, [N, C, Ho, Wo]), 'avgPool2d', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    nat.avgPool2dBackward(g, gx, N, C, H, W, k, stride);
    return [gx];
  });
}

/** Mean over the spatial dimensions: [N, C, H, W] → [N, C]. */
export function meanSpatial(x: Tensor): Tensor {
  if (x.rank !== 4) throw new RangeError(`meanSpatial: expected [N, C, H, W], got ${shapeString(x.shape)}`);
  const [N, C, H, W] = x.shape;
  const HW = H * W;
  const out = allocate(x.dtype, N * C);
  native().meanSpatial(x.data, N, C, HW, out);
  return record(new Tensor(out, [N, C]), 'meanSpatial', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    for (let i = 0; i < N * C; i++) gx.fill(g[i] / HW, i * HW, (i + 1) * HW);
    return [gx];
  });
}

export interface BatchNormState {
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
}

/**
 * Batch norm over (N, H, W) per channel. Inference uses the running statistics; training uses the
 * batch statistics and updates the running ones in place (momentum 0.1, unbiased variance).
 */
export function batchNorm(x: Tensor, bn: BatchNormState, training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  if (x.rank !== 4 || bn.weight.size !== x.dim(1)) {
    throw new RangeError(`batchNorm: shape mismatch: input ${shapeString(x.shape)} vs weight ${shapeString(bn.weight.shape)}`);
  }
  checkSameDType('batchNorm', x, bn.weight);
  const [N, C, H, W] = x.shape;
  const HW = H * W;
  const nat = native();
  const out = allocate(x.dtype, x.size);
  const keep = isGradEnabled() && (x.requiresGrad || bn.weight.requiresGrad || bn.bias.requiresGrad);
  const saveMean = keep || training ? allocate(x.dtype, C) : null;
  const saveRstd = keep || training ? allocate(x.dtype, C) : null;
  nat.batchNorm(x.data, bn.weight.data, bn.bias.data, bn.runningMean.data, bn.runningVar.data, out, saveMean, saveRstd,
    N, C, HW, training, momentum, eps);
  return record(new Tensor(out, x.shape), 'batchNorm', [x, bn.weight, bn.bias], (g) => {
    const gx = allocate(x.dtype, x.size);
    const gw = allocate(x.dtype, C);
    const gb = allocate(x.dtype, C);
    nat.batchNormBackward(x.data, bn.weight.data, saveMean ?? allocate(x.dtype, C), saveRstd ?? allocate(x.dtype, C), g, gx, gw, gb, N, C, HW, training);
    return [gx, bn.weight.requiresGrad ? gw : null, bn.bias.requiresGrad ? gb : null];
  });
}

export interface ConvBatchNormOptions extends Conv2dOptions {
  /** Added after the batch norm, before the ReLU (a bottleneck's identity branch); the output's shape. */
  residual?: Tensor | null;
  relu?: boolean;
  eps?: number;
  /** Batch statistics (updating the running ones), as `batchNorm(…, true)`: always the separate ops. */
  training?: boolean;
}

/**
 * conv → batch norm → [+ residual] → [ReLU]:
 * relu((conv2d(x, weight, bias) − mean)·weight_bn/√(var + eps) + bias_bn + residual).
 * In inference (running statistics, no gradient recorded) it is one native kernel: the batch norm,
 * residual and ReLU are applied to each output tile as the convolution produces it, instead of three
 * more passes over memory, with the same arithmetic as the separate ops. In training mode, or when a
 * gradient must be recorded, it runs those separate ops.
 */
export function conv2dBatchNorm(x: Tensor, weight: Tensor, bias: Tensor | null, bn: BatchNormState,
  opts: ConvBatchNormOptions = {}): Tensor {
  const residual = opts.residual ?? null;
  const eps = opts.eps ?? 1e-5;
  const doRelu = opts.relu ?? false;
  const training = opts.training ?? false;
  if (training || needsGrad(x, weight, bias, bn.weight, bn.bias, residual)) {
    let y = batchNorm(conv2d(x, weight, bias, opts), bn, training, 0.1, eps);
    if (residual !== null) y = add(y, residual);
    return doRelu ? relu(y) : y;
  }
  const { N, C, H, W, O, kh, kw, stride, pad, Ho, Wo } = convGeometry('conv2dBatchNorm', x, weight, bias, opts);
  checkSameDType('conv2dBatchNorm', x, bn.weight);
  for (const [name, t] of [['weight', bn.weight], ['bias', bn.bias], ['runningMean', bn.runningMean], ['runningVar', bn.runningVar]] as const) {
    if (t.size !== O) throw new RangeError(`conv2dBatchNorm: batch norm ${name} ${shapeString(t.shape)} does not match ${O} output channels`);
  }
  const shape = [N, O, Ho, Wo];
  if (residual !== null) {
    checkSameDType('conv2dBatchNorm', x, residual);
    if (residual.rank !== 4 || residual.shape.some((d, i) => d !== shape[i])) {
      throw new RangeError(`conv2dBatchNorm: residual ${shapeString(residual.shape)} does not match the output ${shapeString(shape)}`);
    }
  }
  const out = allocateUninitialized(x.dtype, N * O * Ho * Wo);
  native().conv2dBatchNorm(x.data, weight.data, bias?.data ?? null, bn.weight.data, bn.bias.data, bn.runningMean.data,
    bn.runningVar.data, residual?.data ?? null, out, N, C, H, W, O, kh, kw, stride, pad, eps, doRelu);
  return new Tensor(out, shape);
}
