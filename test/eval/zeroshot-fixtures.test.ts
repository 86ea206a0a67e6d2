// The zero-shot classifier of OpenAI's notebook (fixtures/zeroshot, tiny-vit, 10 ImageNet classes x
// the 80 templates): per-prompt embeddings, class weights, normalised image features, logits and
// probabilities all match the reference within index.json's tolerances; so does the top-5.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadModelFile } from '../../src/model/load.js';
import type { ClipModel } from '../../src/model/clip.js';
import { Tensor, l2Normalize, noGrad, withMatmulPrecision } from '../../src/tensor/index.js';
import { TextEmbeddingCache } from '../../src/eval/text-embedding-cache.js';
import { imagenetTemplates } from '../../src/eval/templates.js';
import { buildZeroShotClassifier, type ZeroShotClassifier } from '../../src/eval/zeroshot.js';
import { compareFixture, describeFailures, fixturesDir, readF32, readJson } from '../helpers/fixtures.js';

interface ZeroShotManifest {
  classnames: string[];
  templates: string[];
  images: string[];
  logit_multiplier: number;
  top5: { image: string; top5_index: number[]; top5_prob: number[] }[];
}

function check(name: string, values: ArrayLike<number>): void {
  const rep = compareFixture(name, values);
  assert.ok(rep.pass, describeFailures(rep));
}

describe('zero-shot classifier against the reference (tiny-vit)', () => {
  const manifest = readJson<ZeroShotManifest>('zeroshot/manifest.json');
  let model: ClipModel;
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-zs-cache-'));
  after(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('ships the notebook\'s 80 templates in its order', () => {
    assert.deepEqual(imagenetTemplates(), manifest.templates);
  });

  let classifier: ZeroShotClassifier;
  before(() => {
    model = loadModelFile(path.join(fixturesDir(), 'weights', 'tiny-vit.pt'));
    classifier = buildZeroShotClassifier(model, manifest.classnames, { keepPromptEmbeddings: true });
  });

  it('prompt embeddings and class weights match', () => {
    assert.ok(classifier.promptEmbeddings !== undefined);
    assert.deepEqual(classifier.promptEmbeddings.shape, [10, 80, 64]);
    check('zeroshot/template_embeddings', classifier.promptEmbeddings.data);
    check('zeroshot/weights', classifier.weightMatrix());
  });

  it('normalised image features, logits, probabilities and the top 5 match', () => {
    const per = 3 * 224 * 224;
    const pixels = new Float32Array(manifest.images.length * per);
    manifest.images.forEach((n, i) => pixels.set(readF32(`preprocess/${n}.224.f32`), i * per));
    const features = model.embedImages(new Tensor(pixels, [manifest.images.length, 3, 224, 224]));
    check('zeroshot/image_features_normalized', noGrad(() => l2Normalize(features)).data);
    assert.equal(classifier.logitScale, manifest.logit_multiplier);
    const scores = classifier.scores(features);
    check('zeroshot/logits', scores.logits.data);
    check('zeroshot/probs', scores.probabilities.data);
    const top = classifier.topK(scores, 5);
    manifest.top5.forEach((ref, i) => {
      assert.deepEqual(top[i].map((p) => p.index), ref.top5_index, `top 5 of ${ref.image}`);
      top[i].forEach((p, j) => assert.ok(Math.abs(p.probability - ref.top5_prob[j]) < 1e-4, `${ref.image} #${j}`));
    });
  });

  it('the embedding cache gives the same classifier without encoding again', () => {
    const cache = TextEmbeddingCache.forModel(model, { dir: cacheDir });
    const first = buildZeroShotClassifier(model, manifest.classnames, { cache });
    assert.equal(cache.stats.misses, 800);
    assert.equal(cache.stats.writes, 10);
    let encoded = -1;
    const again = TextEmbeddingCache.forModel(model, { dir: cacheDir });
    const second = buildZeroShotClassifier(model, manifest.classnames, { cache: again, onProgress: (_done, total) => { encoded = total; } });
    assert.equal(again.stats.hits, 800);
    assert.equal(encoded, 0);
    assert.deepEqual(second.classEmbeddings.data, first.classEmbeddings.data);
    check('zeroshot/weights', second.weightMatrix());
    // A new template only encodes the 10 new prompts; the rest comes from the cache.
    const third = TextEmbeddingCache.forModel(model, { dir: cacheDir });
    buildZeroShotClassifier(model, manifest.classnames, { cache: third, templates: [...manifest.templates, 'a {} emoji.'],
      onProgress: (_done, total) => { encoded = total; } });
    assert.equal(encoded, 10);
    assert.equal(third.stats.hits, 800);
  });

  it('the cache key is the text tower, remembered per model file', () => {
    const modelFile = path.join(fixturesDir(), 'weights', 'tiny-vit.pt');
    const byWeights = TextEmbeddingCache.forModel(model, { dir: cacheDir }).modelKey;
    const byFile = TextEmbeddingCache.forModel(model, { dir: cacheDir, modelFile }).modelKey;
    assert.equal(byFile, byWeights);
    const memo = JSON.parse(readFileSync(path.join(cacheDir, 'model-files.json'), 'utf8')) as { files: Record<string, { tower: string }> };
    assert.equal(Object.keys(memo.files).length, 1);
    // A fresh model object from the same file finds the remembered hash.
    assert.equal(TextEmbeddingCache.forModel(loadModelFile(modelFile), { dir: cacheDir, modelFile }).modelKey, byWeights);
    // A different precision or truncation is a different key.
    assert.notEqual(TextEmbeddingCache.forModel(model, { dir: cacheDir, truncate: true }).modelKey, byWeights);
    assert.notEqual(withMatmulPrecision('bf16', () => TextEmbeddingCache.forModel(model, { dir: cacheDir }).modelKey), byWeights);
  });
});
