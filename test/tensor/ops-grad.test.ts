// Every tensor op's backward against central finite differences in float64.
import { describe, it } from 'node:test';
import {
  add, attention, avgPool2d, batchNorm, cat, conv2d, crossEntropy, embedding, exp, expand, fromArray, gelu, l2Normalize,
  layerNorm, linear, matmul, mean, meanSpatial, mul, mulScalar, narrow, quickGelu, relu, reshape, scale, selectRows,
  selfAttention, softmax, sum, transpose, zeros,
} from '../../src/tensor/index.js';
import { gradcheck, randn } from './gradcheck.js';

describe('backward matches finite differences (float64)', () => {
  it('matmul, all transpose combinations, plain and batched', () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = randn(transA ? [2, 4, 3] : [2, 3, 4], 1);
        const b = randn(transB ? [5, 4] : [4, 5], 2);
        gradcheck(`matmul tA=${transA} tB=${transB}`, (x, y) => matmul(x, y, { transA, transB }), [a, b]);
        const bb = randn(transB ? [2, 5, 4] : [2, 4, 5], 3);
        gradcheck(`batched matmul tA=${transA} tB=${transB}`, (x, y) => matmul(x, y, { transA, transB }), [a, bb]);
      }
    }
  });
  it('linear with and without bias', () => {
    gradcheck('linear', linear, [randn([2, 3, 4], 4), randn([5, 4], 5), randn([5], 6)]);
    gradcheck('linear no bias', (x, w) => linear(x, w), [randn([3, 4], 7), randn([2, 4], 8)]);
  });
  it('add (same shape and broadcast suffix), mul, scale, mulScalar, exp', () => {
    gradcheck('add', add, [randn([2, 3], 9), randn([2, 3], 10)]);
    gradcheck('add broadcast', add, [randn([2, 3, 4], 11), randn([3, 4], 12)]);
    gradcheck('mul', mul, [randn([2, 3], 13), randn([2, 3], 14)]);
    gradcheck('scale', (x) => scale(x, -1.7), [randn([5], 15)]);
    gradcheck('mulScalar', mulScalar, [randn([2, 3], 16), randn([1], 17)]);
    gradcheck('exp', exp, [randn([4], 18)]);
  });
  it('activations', () => {
    gradcheck('quickGelu', quickGelu, [randn([3, 7], 19, 3)]);
    gradcheck('gelu', gelu, [randn([3, 7], 20, 3)]);
    // ReLU away from its kink at 0, where the derivative is undefined.
    const x = randn([20], 21, 2);
    for (let i = 0; i < x.size; i++) if (Math.abs(x.data[i]) < 0.05) x.data[i] = 0.5;
    gradcheck('relu', relu, [x]);
  });
  it('layerNorm, l2Normalize, softmax', () => {
    gradcheck('layerNorm', (x, w, b) => layerNorm(x, w, b), [randn([2, 3, 6], 22), randn([6], 23), randn([6], 24)]);
    gradcheck('l2Normalize', l2Normalize, [randn([3, 5], 25)]);
    gradcheck('softmax', softmax, [randn([3, 5], 26, 2)]);
  });
  it('self-attention, causal and not, and separate q/k/v attention', () => {
    for (const causal of [false, true]) {
      gradcheck(`selfAttention causal=${causal}`, (x) => selfAttention(x, 2, causal), [randn([2, 4, 3 * 6], 27)]);
    }
    gradcheck('attention Tq=1', (q, k, v) => attention(q, k, v, 2), [randn([2, 1, 8], 28), randn([2, 5, 8], 29), randn([2, 5, 8], 30)]);
  });
  it('shape ops: reshape, transpose, narrow, cat, expand, selectRows, embedding', () => {
    gradcheck('reshape', (x) => reshape(x, [3, -1]), [randn([2, 3, 2], 31)]);
    gradcheck('transpose', transpose, [randn([2, 3, 4], 32)]);
    gradcheck('narrow', (x) => narrow(x, 1, 1, 2), [randn([2, 4, 3], 33)]);
    gradcheck('cat', (a, b) => cat([a, b], 1), [randn([2, 1, 3], 34), randn([2, 4, 3], 35)]);
    gradcheck('expand', (x) => expand(x, [3]), [randn([2, 2], 36)]);
    gradcheck('selectRows', (x) => selectRows(x, new Int32Array([3, 0, 3])), [randn([2, 2, 5], 37)]);
    gradcheck('embedding', (w) => embedding(w, new Int32Array([1, 4, 1, 0]), [2, 2]), [randn([5, 3], 38)]);
  });
  it('conv2d: stride 1 and 2, padding 0 and 1, with bias', () => {
    for (const stride of [1, 2]) {
      for (const padding of [0, 1]) {
        gradcheck(`conv2d s=${stride} p=${padding}`, (x, w, b) => conv2d(x, w, b, { stride, padding }),
          [randn([2, 3, 5, 6], 39), randn([4, 3, 3, 3], 40), randn([4], 41)]);
      }
    }
  });
  it('avgPool2d and meanSpatial', () => {
    gradcheck('avgPool2d', (x) => avgPool2d(x, 2), [randn([2, 3, 4, 6], 42)]);
    gradcheck('meanSpatial', meanSpatial, [randn([2, 3, 4, 5], 43)]);
  });
  it('batchNorm in training and inference modes', () => {
    for (const training of [true, false]) {
      const runningMean = randn([3], 44, 0.5, false);
      const runningVar = fromArray([0.5, 1.5, 2.0], [3], 'float64');
      gradcheck(`batchNorm training=${training}`, (x, w, b) => {
        // Fresh running statistics each call: training mode updates them in place.
        const bn = { weight: w, bias: b, runningMean: runningMean.clone(), runningVar: runningVar.clone() };
        return batchNorm(x, bn, training);
      }, [randn([3, 3, 2, 2], 45), randn([3], 46), randn([3], 47)]);
    }
  });
  it('sum, mean, crossEntropy', () => {
    gradcheck('sum', sum, [randn([2, 3], 48)]);
    gradcheck('mean', mean, [randn([2, 3], 49)]);
    gradcheck('crossEntropy', (x) => crossEntropy(x, new Int32Array([2, 0, 1])), [randn([3, 4], 50, 2)]);
  });
  it('gradients accumulate over two uses of one input', () => {
    gradcheck('x*x + x', (x) => add(mul(x, x), x), [randn([4], 51)]);
    void zeros;
  });
});
