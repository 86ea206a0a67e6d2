// The autograd engine: recording, noGrad, accumulation, freeing, and errors on bad input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Tensor, add, backward, fromArray, linear, matmul, mul, noGrad, sum, layerNorm, conv2d, zeros,
} from '../../src/tensor/index.js';

describe('autograd', () => {
  it('records nothing under noGrad', () => {
    const w = fromArray([1, 2, 3, 4], [2, 2], 'float32', true);
    const x = fromArray([1, 1], [1, 2]);
    const y = noGrad(() => linear(x, w));
    assert.equal(y.node, null);
    assert.equal(y.requiresGrad, false);
    const z = linear(x, w);
    assert.notEqual(z.node, null);
  });

  it('accumulates leaf gradients over backward calls and frees the graph', () => {
    const x = fromArray([1, 2, 3], [3], 'float64', true);
    const loss1 = sum(mul(x, x));
    backward(loss1);
    assert.deepEqual([...(x.grad as Tensor).data], [2, 4, 6]);
    const loss2 = sum(x);
    backward(loss2);
    assert.deepEqual([...(x.grad as Tensor).data], [3, 5, 7]);
    assert.throws(() => backward(loss1), /already freed/);
  });

  it('retainGraph allows a second backward', () => {
    const x = fromArray([2], [1], 'float64', true);
    const y = mul(x, x);
    backward(y, undefined, { retainGraph: true });
    backward(y);
    assert.equal((x.grad as Tensor).data[0], 8);
  });

  it('backward of a non-scalar needs a gradient of the right size', () => {
    const x = fromArray([1, 2], [2], 'float64', true);
    const y = mul(x, x);
    assert.throws(() => backward(y), /one-element/);
    assert.throws(() => backward(y, new Float64Array(3)), /3 values/);
    backward(y, new Float64Array([1, 1]));
    assert.deepEqual([...(x.grad as Tensor).data], [2, 4]);
  });

  it('shape mismatches name both shapes', () => {
    const a = zeros([2, 3]);
    const b = zeros([4, 5]);
    assert.throws(() => matmul(a, b), /\[2, 3\] vs \[4, 5\]/);
    assert.throws(() => add(a, zeros([2])), /\[2, 3\] vs \[2\]/);
    assert.throws(() => mul(a, zeros([3, 2])), /\[2, 3\] vs \[3, 2\]/);
    assert.throws(() => linear(zeros([2, 3]), zeros([4, 5])), /\[2, 3\] vs weight \[4, 5\]/);
    assert.throws(() => layerNorm(zeros([2, 3]), zeros([4]), zeros([4])), /\[2, 3\] vs weight \[4\]/);
    assert.throws(() => conv2d(zeros([1, 3, 8, 8]), zeros([4, 2, 3, 3])), /\[1, 3, 8, 8\] vs weight \[4, 2, 3, 3\]/);
  });

  it('dtype mismatches name both dtypes and shapes', () => {
    const a = zeros([2, 3], 'float32');
    const b = zeros([3, 2], 'float64');
    assert.throws(() => matmul(a, b), /float32 \[2, 3\] vs float64 \[3, 2\]/);
    assert.throws(() => add(a, zeros([2, 3], 'float64')), /dtype mismatch/);
  });

  it('a tensor rejects data of the wrong size', () => {
    assert.throws(() => new Tensor(new Float32Array(5), [2, 3]), /5 values but shape \[2, 3\] needs 6/);
  });
});
