// Small pieces whose exact rules matter: Python's rounding, torchvision's resize/crop geometry,
// Pillow's kernel, weight normalisation and nearest-neighbour accumulation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resizeCropGeometry, roundHalfEven } from '../../src/image/index.js';
import { bicubicAxisWeights, bicubicKernel, nearestAxisIndices, PRECISION_BITS } from '../../src/image/resample-weights.js';

describe('roundHalfEven (Python round)', () => {
  it('rounds halves to even, other values to nearest', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 74.5, 75.5, 2.4999, 2.5001, 0, 7].map(roundHalfEven), [0, 2, 2, 74, 76, 2, 3, 0, 7]);
    assert.deepEqual([-0.5, -1.5, -2.6].map(roundHalfEven), [0, -2, -3]);
  });
});

describe('resizeCropGeometry (torchvision Resize + CenterCrop)', () => {
  it('matches the fixture table', () => {
    const g = resizeCropGeometry(50, 30, 224);
    assert.deepEqual([g.resizedWidth, g.resizedHeight, g.crop.top, g.crop.left], [373, 224, 0, 74]);
    const p = resizeCropGeometry(288, 512, 336);
    assert.deepEqual([p.resizedWidth, p.resizedHeight, p.crop.top, p.crop.left], [336, 597, 130, 0]);
  });
  it('keeps squares square and never crops outside the resized image', () => {
    for (const size of [224, 288, 336, 384, 448]) {
      assert.deepEqual(resizeCropGeometry(1000, 1000, size).crop, { left: 0, top: 0, width: size, height: size });
      for (const [w, h] of [[1, 1000], [1000, 1], [640, 427], [427, 640], [size, size + 1], [3, 2]]) {
        const g = resizeCropGeometry(w, h, size);
        assert.equal(Math.min(g.resizedWidth, g.resizedHeight), size);
        assert.ok(g.crop.left + size <= g.resizedWidth && g.crop.top + size <= g.resizedHeight);
        // the long side is trunc(size * long / short) with one float division
        assert.equal(Math.max(g.resizedWidth, g.resizedHeight), Math.trunc((size * Math.max(w, h)) / Math.min(w, h)));
      }
    }
  });
  it('rejects a non-integer size', () => {
    assert.throws(() => resizeCropGeometry(10, 10, 0), RangeError);
    assert.throws(() => resizeCropGeometry(10, 10, 22.5), RangeError);
  });
});

describe('bicubic weights', () => {
  it('kernel has Pillow values (a = -0.5)', () => {
    assert.equal(bicubicKernel(0), 1);
    assert.ok(bicubicKernel(1) === 0); // (-0 from the formula; === ignores the sign of zero)
    assert.ok(bicubicKernel(2) === 0);
    assert.equal(bicubicKernel(0.5), 0.5625);
    assert.equal(bicubicKernel(-1.5), -0.0625);
  });
  it('normalised fixed-point weights sum to one within rounding, window inside the source', () => {
    for (const [inSize, outSize] of [[1000, 320], [50, 373], [427, 224], [7, 3], [3, 700]]) {
      const w = bicubicAxisWeights(inSize, outSize);
      for (let j = 0; j < outSize; j++) {
        let sum = 0;
        for (let t = 0; t < w.taps[j]; t++) sum += w.fixed[j * w.stride + t];
        assert.ok(Math.abs(sum - 2 ** PRECISION_BITS) <= w.taps[j], `${inSize}->${outSize} [${j}] sum ${sum}`);
        assert.ok(w.start[j] >= 0 && w.start[j] + w.taps[j] <= inSize && w.taps[j] <= w.stride);
      }
    }
  });
  it('a window of outputs has the same weights as the full axis', () => {
    const full = bicubicAxisWeights(640, 335);
    const part = bicubicAxisWeights(640, 335, 56, 224);
    for (let j = 0; j < 224; j++) {
      assert.equal(part.start[j], full.start[j + 56]);
      assert.deepEqual(part.fixed.subarray(j * part.stride, j * part.stride + part.taps[j]),
        full.fixed.subarray((j + 56) * full.stride, (j + 56) * full.stride + full.taps[j + 56]));
    }
  });
});

describe('nearest indices', () => {
  it('accumulate the position in float64 like Pillow', () => {
    // 2/3 accumulated: 1/3 + 2/3 = 0.9999999999999999 in float64, so output 1 reads source 0,
    // where floor((1 + 0.5) * 2/3) would give 1.
    const idx = nearestAxisIndices(200, 300);
    let pos = 0.5 * (200 / 300);
    for (let i = 0; i < 300; i++, pos += 200 / 300) assert.equal(idx[i], Math.trunc(pos));
    const differs = Array.from(idx).some((v, i) => v !== Math.floor((i + 0.5) * (200 / 300)));
    assert.ok(differs, 'this case is meant to exercise the accumulation');
    assert.deepEqual(nearestAxisIndices(200, 300, 100, 5), idx.subarray(100, 105));
  });
});
