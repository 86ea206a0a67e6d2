// The linear-probe fixture's features themselves: the 200 LFW crops (25×25 grayscale, mode L)
// through the image module's preprocessing and tiny-vit's encode_image, in batches of 100 as the
// reference did, compared with linear_probe/lfw_faces/features.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { preprocess, type DecodedImage } from '../../src/image/index.js';
import { loadModelFile } from '../../src/model/index.js';
import { compareFixture, describeFailures, fixtureEntry, fixturesDir } from '../helpers/fixtures.js';

test('LFW faces: preprocessing (mode L) + tiny-vit encode_image match the fixture features', () => {
  const model = loadModelFile(path.join(fixturesDir(), 'weights', 'tiny-vit.pt'));
  const pixels = readFileSync(path.join(fixturesDir(), 'linear_probe', 'lfw_faces_images.u8'));
  const [count, dim] = fixtureEntry('linear_probe/lfw_faces/features').shape;
  const side = 25;
  assert.equal(pixels.length, count * side * side);
  const S = model.imageSize;
  const batch = 100;
  const features = new Float32Array(count * dim);
  for (let start = 0; start < count; start += batch) {
    const input = new Float32Array(batch * 3 * S * S);
    for (let i = 0; i < batch; i++) {
      const n = start + i;
      const image: DecodedImage = { mode: 'L', width: side, height: side, channels: 1, data: new Uint8Array(pixels.subarray(n * side * side, (n + 1) * side * side)) };
      input.set(preprocess(image, S), i * 3 * S * S);
    }
    const out = model.embedImages(model.imageTensor(input, batch)).data;
    features.set(out, start * dim);
  }
  const r = compareFixture('linear_probe/lfw_faces/features', features);
  assert.ok(r.pass, describeFailures(r));
});
