// conv2dBatchNorm, the inference fusion of the ResNet towers: without gradients it equals the
// composition conv2d → batchNorm (running statistics) → add → relu; when a gradient is recorded it
// is that composition (same values, same gradients); a ResNet tower gives the same features fused
// and unfused, and its training path (batch statistics) is untouched; bad shapes are named.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Tensor, add, backward, batchNorm, conv2d, conv2dBatchNorm, noGrad, relu, sum, type BatchNormState,
} from '../../src/tensor/index.js';
import { createModel } from '../../src/model/index.js';
import { TINY_RN } from '../train/tiny-configs.js';
import { gradcheck, randn } from './gradcheck.js';

function state(C: number, seed: number, dtype: 'float32' | 'float64' = 'float64'): BatchNormState {
  const pos = (t: Tensor) => {
    for (let i = 0; i < t.size; i++) t.data[i] = 0.5 + Math.abs(t.data[i]);
    return t;
  };
  const conv = (t: Tensor) => (dtype === 'float64' ? t : new Tensor(Float32Array.from(t.data), t.shape, t.requiresGrad));
  return {
    weight: conv(pos(randn([C], seed, 1, false))),
    bias: conv(randn([C], seed + 1, 1, false)),
    runningMean: conv(randn([C], seed + 2, 0.3, false)),
    runningVar: conv(pos(randn([C], seed + 3, 1, false))),
  };
}

function f32(t: Tensor): Tensor {
  return new Tensor(Float32Array.from(t.data), t.shape, t.requiresGrad);
}

function composition(x: Tensor, w: Tensor, bias: Tensor | null, bn: BatchNormState, stride: number, padding: number,
  residual: Tensor | null, doRelu: boolean): Tensor {
  let y = batchNorm(conv2d(x, w, bias, { stride, padding }), bn, false);
  if (residual !== null) y = add(y, residual);
  return doRelu ? relu(y) : y;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return worst;
}

describe('conv2dBatchNorm', () => {
  it('without gradients equals the separate ops (float32: stride 2, 1x1, C = 3 stem, batch 1 and 4)', () => {
    const shapes: [number[], number[], number, number][] = [
      [[1, 3, 20, 18], [8, 3, 3, 3], 2, 1],
      [[4, 6, 9, 9], [10, 6, 1, 1], 1, 0],
      [[4, 5, 11, 7], [9, 5, 3, 3], 1, 1],
      [[2, 4, 9, 9], [6, 4, 3, 3], 2, 1],
    ];
    shapes.forEach(([xs, ws, stride, padding], i) => {
      const x = f32(randn(xs, 10 * i, 1, false));
      const w = f32(randn(ws, 10 * i + 1, 0.3, false));
      const bn = state(ws[0], 10 * i + 2, 'float32');
      const y0 = conv2d(x, w, null, { stride, padding });
      const residual = f32(randn(y0.shape as number[], 10 * i + 7, 1, false));
      for (const [res, doRelu] of [[null, true], [residual, true], [residual, false], [null, false]] as const) {
        const got = noGrad(() => conv2dBatchNorm(x, w, null, bn, { stride, padding, residual: res, relu: doRelu }));
        const want = noGrad(() => composition(x, w, null, bn, stride, padding, res, doRelu));
        assert.deepEqual(got.shape, want.shape);
        assert.ok(maxRel(got.data, want.data) <= 1e-5, `shape ${i}: ${maxRel(got.data, want.data)}`);
        assert.equal(got.node, null);
      }
    });
  });

  it('with gradients recorded is the composition: same values and gradients', () => {
    const x = randn([2, 3, 6, 5], 1);
    const w = randn([4, 3, 3, 3], 2, 0.5);
    const b = randn([4], 3);
    const bn = state(4, 4);
    bn.weight.requiresGrad = true;
    bn.bias.requiresGrad = true;
    const res = randn([2, 4, 3, 3], 5);
    const run = (fused: boolean) => {
      for (const t of [x, w, b, bn.weight, bn.bias, res]) t.grad = null;
      const y = fused
        ? conv2dBatchNorm(x, w, b, bn, { stride: 2, padding: 1, residual: res, relu: true })
        : composition(x, w, b, bn, 2, 1, res, true);
      backward(sum(y));
      return { y: Float64Array.from(y.data), grads: [x, w, b, bn.weight, bn.bias, res].map((t) => Float64Array.from(t.grad!.data)) };
    };
    const a = run(true);
    const r = run(false);
    assert.deepEqual(a.y, r.y);
    a.grads.forEach((g, i) => assert.deepEqual(g, r.grads[i], `gradient ${i}`));
    // And those gradients are right.
    gradcheck('conv2dBatchNorm', (xx, ww, rr) => conv2dBatchNorm(xx, ww, null, state(4, 4), { padding: 1, residual: rr, relu: true }),
      [randn([2, 3, 5, 4], 6), randn([4, 3, 3, 3], 7, 0.5), randn([2, 4, 5, 4], 8)]);
  });

  it('names the mismatched shape', () => {
    const x = f32(randn([1, 3, 8, 8], 1, 1, false));
    const w = f32(randn([4, 3, 3, 3], 2, 1, false));
    const bn = state(4, 3, 'float32');
    noGrad(() => {
      assert.throws(() => conv2dBatchNorm(x, f32(randn([4, 2, 3, 3], 2, 1, false)), null, bn),
        (e: Error) => e instanceof RangeError && /shape mismatch/.test(e.message));
      assert.throws(() => conv2dBatchNorm(x, w, null, state(5, 3, 'float32')),
        (e: Error) => e instanceof RangeError && /batch norm weight \[5\]/.test(e.message));
      assert.throws(() => conv2dBatchNorm(x, w, null, bn, { residual: f32(randn([1, 4, 8, 8], 4, 1, false)) }),
        (e: Error) => e instanceof RangeError && /residual \[1, 4, 8, 8\] does not match the output \[1, 4, 6, 6\]/.test(e.message));
      assert.throws(() => conv2dBatchNorm(x, w, f32(randn([3], 5, 1, false)), bn),
        (e: Error) => e instanceof RangeError && /bias \[3\]/.test(e.message));
      assert.throws(() => conv2dBatchNorm(f32(randn([1, 3, 2, 2], 1, 1, false)), w, null, bn),
        (e: Error) => e instanceof RangeError && /does not fit/.test(e.message));
      assert.throws(() => conv2dBatchNorm(randn([1, 3, 8, 8], 1, 1, false), w, null, bn),
        (e: Error) => e instanceof TypeError && /dtype mismatch/.test(e.message));
    });
  });
});

describe('ResNet tower with the fused inference path', () => {
  it('gives the features of the unfused ops', () => {
    const model = createModel(TINY_RN, 3);
    const images = new Tensor(Float32Array.from({ length: 3 * 3 * 32 * 32 }, (_, i) => Math.sin(0.37 * i)), [3, 3, 32, 32]);
    const fused = noGrad(() => model.encodeImage(images));
    // A gradient-requiring input takes every conv through the separate ops.
    const tracked = new Tensor(Float32Array.from(images.data), images.shape, true);
    const unfused = model.encodeImage(tracked);
    assert.ok(unfused.requiresGrad);
    assert.ok(maxRel(fused.data, unfused.data) <= 1e-5, `${maxRel(fused.data, unfused.data)}`);
  });

  it('keeps training mode on batch statistics with gradients', () => {
    const model = createModel(TINY_RN, 4);
    model.training = true;
    model.params.setRequiresGrad(true);
    const before = Float32Array.from(model.params.get('visual.layer1.0.bn1.running_mean').data);
    const images = new Tensor(Float32Array.from({ length: 4 * 3 * 32 * 32 }, (_, i) => Math.cos(0.11 * i)), [4, 3, 32, 32]);
    const out = model.encodeImage(images);
    backward(sum(out));
    const after = model.params.get('visual.layer1.0.bn1.running_mean').data;
    assert.ok(maxRel(after, before) > 1e-4, 'running statistics moved');
    assert.ok(model.params.get('visual.layer1.0.conv3.weight').grad !== null);
    assert.ok(model.params.get('visual.layer1.0.bn3.weight').grad !== null);
  });
});
