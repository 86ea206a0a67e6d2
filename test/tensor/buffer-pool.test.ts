// The tensor buffer pool: what is recycled and reused, what never is, and that the recycling done
// by the backward pass and by inference code leaves every result unchanged.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  Tensor, add, backward, clearBufferPool, fromArray, linear, noGrad, pooledBufferBytes, quickGelu, recycle, recycleArray, sum,
} from '../../src/tensor/index.js';
import { allocateUninitialized } from '../../src/tensor/tensor.js';

const N = 1 << 15; // 128 KiB of float32: above the pool's 64 KiB floor

function ramp(n: number, scale = 1e-3): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i) * scale);
}

describe('buffer pool', () => {
  afterEach(() => clearBufferPool());

  it('hands a recycled buffer to the next allocation of the same size, once', () => {
    const t = noGrad(() => add(new Tensor(ramp(N), [N]), new Tensor(ramp(N), [N])));
    const buffer = t.data.buffer;
    noGrad(() => recycle(t));
    assert.equal(pooledBufferBytes(), N * 4);
    recycle(t); // outside noGrad: ignored
    assert.equal(allocateUninitialized('float32', N).buffer, buffer);
    assert.equal(pooledBufferBytes(), 0);
    assert.notEqual(allocateUninitialized('float32', N).buffer, buffer);
  });

  it('never takes views, small arrays, or the same buffer twice', () => {
    const whole = new Float32Array(2 * N);
    recycleArray(whole.subarray(N)); // a view
    recycleArray(new Float32Array(100)); // below the floor
    assert.equal(pooledBufferBytes(), 0);
    recycleArray(whole);
    recycleArray(whole);
    assert.equal(pooledBufferBytes(), 2 * N * 4);
    // A different size is not served from it.
    assert.notEqual(allocateUninitialized('float32', N).buffer, whole.buffer);
    // float64 of the same byte size is.
    assert.equal(allocateUninitialized('float64', N).buffer, whole.buffer);
  });

  it('is a no-op while gradients are recorded', () => {
    const w = fromArray(ramp(64), [8, 8], 'float32', true);
    const y = linear(new Tensor(ramp(N * 8 / 8), [N / 8, 8]), w);
    recycle(y);
    assert.equal(pooledBufferBytes(), 0);
  });

  it('backward recycles consumed gradients and the gradients stay exact', () => {
    // A two-layer MLP on 4096 rows: large enough for its gradient buffers to be pooled.
    const rows = 4096;
    const run = (): Float32Array[] => {
      const x = new Tensor(ramp(rows * 16, 1), [rows, 16]);
      const w1 = fromArray(ramp(32 * 16, 0.1), [32, 16], 'float32', true);
      const w2 = fromArray(ramp(16 * 32, 0.2), [16, 32], 'float32', true);
      const h = quickGelu(linear(x, w1));
      const loss = sum(add(linear(h, w2), x));
      backward(loss);
      return [Float32Array.from(w1.grad!.data), Float32Array.from(w2.grad!.data)];
    };
    clearBufferPool();
    const first = run();
    assert.ok(pooledBufferBytes() > 0, 'consumed gradient buffers went back to the pool');
    // A second run takes its buffers from the pool (stale contents) and must give the same result.
    const second = run();
    assert.deepEqual(second, first);
  });
});
