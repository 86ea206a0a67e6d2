// Gradient caching must give the full batch's loss and gradients: batch 16 in chunks of 4 (and of
// 5, which leaves a short last chunk) against one pass over the 16 pairs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createModel, type ClipConfig } from '../../src/model/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { fullBatchBackward, gradCacheBackward } from '../../src/train/grad-cache.js';
import { TINY_RN, TINY_VIT, gradients, randomImages, randomTokens, relL2 } from './helpers.js';

function compare(config: ClipConfig, chunk: number, training: boolean): void {
  const model = createModel(config, 7);
  model.training = training;
  model.params.setRequiresGrad(true);
  const batch = {
    images: randomImages(16, config.vision.imageSize, 3),
    tokens: randomTokens(16, config.text.contextLength, config.text.vocabSize, 4),
  };
  const full = fullBatchBackward(model, batch);
  const reference = gradients(model.params.parameters());
  model.params.setRequiresGrad(true);
  for (const [, t] of model.params.parameters()) t.grad = null;
  const cached = gradCacheBackward(model, batch, chunk);
  const got = gradients(model.params.parameters());
  assert.ok(Math.abs(cached.loss - full.loss) <= 1e-6 * Math.abs(full.loss), `loss ${cached.loss} vs ${full.loss}`);
  assert.ok(relL2(cached.logitsPerImage.data, full.logitsPerImage.data) < 1e-6);
  assert.equal(got.size, reference.size);
  let total = 0;
  for (const g of reference.values()) for (const x of g) total += x * x;
  total = Math.sqrt(total);
  for (const [name, g] of reference) {
    const c = got.get(name);
    assert.ok(c !== undefined, `${name}: no gradient with gradient caching`);
    const err = relL2(c, g);
    // Some gradients are zero in exact arithmetic (the attention pool's key bias shifts every
    // logit of a row equally) and hold only rounding noise; those are compared absolutely.
    let diff = 0;
    for (let i = 0; i < g.length; i++) diff += (c[i] - g[i]) ** 2;
    assert.ok(err < 1e-5 || Math.sqrt(diff) < 1e-8 * total, `${name}: relative L2 difference ${err.toExponential(3)}`);
  }
}

describe('gradient caching', () => {
  it('ViT: chunks of 4 give the full batch of 16', () => compare(TINY_VIT, 4, true));
  it('ViT: chunks of 5 (a short last chunk) give the full batch', () => compare(TINY_VIT, 5, true));
  it('ResNet with BatchNorm in inference mode: chunks of 4 give the full batch', () => compare(TINY_RN, 4, false));

  it('updates BatchNorm running statistics once per chunk, not twice', () => {
    const name = 'visual.bn1.running_mean';
    const model = createModel(TINY_RN, 1);
    model.training = true;
    model.params.setRequiresGrad(true);
    const images = randomImages(8, 32, 5);
    gradCacheBackward(model, { images, tokens: randomTokens(8, 16, 300, 6) }, 4);
    // The same statistics from plain forward passes over the two chunks.
    const replay = createModel(TINY_RN, 1);
    replay.training = true;
    const per = images.size / 8;
    for (let s = 0; s < 8; s += 4) replay.encodeImage(new Tensor(images.data.subarray(s * per, (s + 4) * per), [4, 3, 32, 32]));
    const before = createModel(TINY_RN, 1).params.get(name).data;
    assert.ok(relL2(replay.params.get(name).data, before) > 1e-3, 'the statistics did not move at all');
    assert.ok(relL2(model.params.get(name).data, replay.params.get(name).data) < 1e-6, 'running statistics were updated more than once per chunk');
  });
});
