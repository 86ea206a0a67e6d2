// Both tiny reference models load from OpenAI's archive format and reproduce OpenAI's outputs:
// image and text features, logits, and intermediate activations, within index.json's tolerances.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadModelFile } from '../../src/model/load.js';
import type { ClipModel } from '../../src/model/clip.js';
import { Tensor, noGrad } from '../../src/tensor/index.js';
import { compareFixture, describeFailures, fixturesDir, readF32, readJson } from '../helpers/fixtures.js';

interface ModelManifest {
  images: string[];
  texts: { label: string; text: string; tokens: number[]; eot_index: number }[];
}

function images(names: string[]): Tensor {
  const per = 3 * 224 * 224;
  const data = new Float32Array(names.length * per);
  names.forEach((n, i) => data.set(readF32(`preprocess/${n}.224.f32`), i * per));
  return new Tensor(data, [names.length, 3, 224, 224]);
}

function tokens(texts: { tokens: number[] }[], ctx: number): Int32Array {
  const out = new Int32Array(texts.length * ctx);
  texts.forEach((t, i) => out.set(t.tokens, i * ctx));
  return out;
}

function check(name: string, values: ArrayLike<number>): void {
  const rep = compareFixture(name, values);
  assert.ok(rep.pass, describeFailures(rep));
}

function channelMean(x: Tensor): Float32Array {
  const [, C, H, W] = x.shape;
  const out = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = 0; i < H * W; i++) s += x.data[c * H * W + i];
    out[c] = s / (H * W);
  }
  return out;
}

for (const name of ['tiny-vit', 'tiny-rn']) {
  describe(`${name} against OpenAI's reference`, () => {
    const manifest = readJson<ModelManifest>(`models/${name}/manifest.json`);
    let model: ClipModel;
    it('loads from the TorchScript archive with the architecture read off the shapes', () => {
      model = loadModelFile(path.join(fixturesDir(), 'weights', `${name}.pt`));
      assert.equal(model.config.embedDim, 64);
      assert.equal(model.config.text.heads, 2);
      assert.equal(model.config.vision.kind, name === 'tiny-vit' ? 'vit' : 'resnet');
    });
    it('image features, text features and logits match', () => {
      noGrad(() => {
        const imageFeatures = model.encodeImage(images(manifest.images));
        check(`models/${name}/image_features`, imageFeatures.data);
        const textFeatures = model.encodeText(tokens(manifest.texts, 77));
        check(`models/${name}/text_features`, textFeatures.data);
        const { logitsPerImage, logitsPerText } = model.similarity(imageFeatures, textFeatures);
        check(`models/${name}/logits_per_image`, logitsPerImage.data);
        check(`models/${name}/logits_per_text`, logitsPerText.data);
      });
    });
    it('the end-token shortcut gives the same text features as the full context', () => {
      noGrad(() => {
        const t = tokens(manifest.texts, 77);
        const short = model.encodeText(t);
        const full = model.encodeText(t, { fullContext: true });
        for (let i = 0; i < short.size; i++) assert.ok(Math.abs(short.data[i] - full.data[i]) < 1e-5);
      });
    });
    it('intermediate activations match', () => {
      const seen = new Map<string, Tensor>();
      noGrad(() => {
        model.encodeImage(images([manifest.images[0]]), (n, v) => seen.set(n, v));
        model.encodeText(tokens([manifest.texts[0]], 77), { fullContext: true, hook: (n, v) => seen.set(n, v) });
      });
      const fixtures = Object.keys(readJson<{ fixtures: Record<string, unknown> }>('index.json').fixtures)
        .filter((k) => k.startsWith(`models/${name}/activations/`));
      assert.ok(fixtures.length >= 4);
      for (const f of fixtures) {
        const act = f.slice(`models/${name}/activations/`.length);
        const base = act.replace(/\.channel_mean$/, '');
        const v = seen.get(base);
        assert.ok(v !== undefined, `no activation ${base} recorded`);
        check(f, act.endsWith('.channel_mean') ? channelMean(v) : v.data);
      }
    });
  });
}
