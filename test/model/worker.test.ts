// A model in a worker thread keeps the main event loop free during long inference, and gives the
// same features as in-process inference.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ModelWorker, loadModelFile } from '../../src/model/index.js';
import { Tensor, noGrad } from '../../src/tensor/index.js';
import { fixturesDir, readF32 } from '../helpers/fixtures.js';

describe('ModelWorker', () => {
  it('encodes off the main thread while timers keep firing', async () => {
    const file = path.join(fixturesDir(), 'weights', 'tiny-rn.pt');
    const worker = await ModelWorker.start(file);
    try {
      assert.equal(worker.info.imageSize, 224);
      const one = readF32('preprocess/chelsea_rgb.224.f32');
      const n = 24;
      const pixels = new Float32Array(n * one.length);
      for (let i = 0; i < n; i++) pixels.set(one, i * one.length);
      const expected = noGrad(() => loadModelFile(file).encodeImage(new Tensor(one.slice(), [1, 3, 224, 224]))).data;

      // Measure the longest gap between 10 ms timer ticks while the worker computes.
      let last = performance.now();
      let maxGap = 0;
      let ticks = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        maxGap = Math.max(maxGap, now - last);
        last = now;
        ticks++;
      }, 10);
      const t0 = performance.now();
      const features = await worker.encodeImages(pixels);
      const elapsed = performance.now() - t0;
      clearInterval(timer);
      assert.equal(pixels.byteLength, 0, 'the pixel buffer was transferred, not copied');
      assert.equal(features.length, n * 64);
      for (let i = 0; i < 64; i++) assert.ok(Math.abs(features[(n - 1) * 64 + i] - expected[i]) < 1e-5);
      // The event loop kept running: many ticks, and no gap close to the whole inference time.
      assert.ok(ticks >= 3, `only ${ticks} timer ticks during ${elapsed.toFixed(0)} ms of inference`);
      assert.ok(maxGap < Math.max(250, elapsed / 2), `event loop blocked for ${maxGap.toFixed(0)} ms of ${elapsed.toFixed(0)} ms`);
    } finally {
      await worker.close();
    }
  });

  it('reports errors from the worker as rejected promises', async () => {
    const worker = await ModelWorker.start(path.join(fixturesDir(), 'weights', 'tiny-vit.pt'));
    try {
      await assert.rejects(worker.encodeImages(new Float32Array(10)), /not a whole number of \[3, 224, 224\] images/);
      await assert.rejects(worker.encodeTexts(new Int32Array([49406, 60000])), /multiple of the context length|outside the vocabulary/);
    } finally {
      await worker.close();
    }
  });
});
