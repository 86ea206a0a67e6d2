// Architectures the shared fixtures do not cover (patch 14 on a 3x3 grid; a ResNet with an
// identity-shortcut block) against outputs of our PyTorch definition (tools/make_checkpoints.py),
// and a round trip of a model through our safetensors checkpoints.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createModel, loadModelFile, saveModel, type ClipModel } from '../../src/model/index.js';
import { Tensor, noGrad } from '../../src/tensor/index.js';
import { dataFile, gunzipToTemp, tempDir, testManifest } from '../weights/helpers.js';
import { readFileSync } from 'node:fs';

function f32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Relative L2 error and cosine, the fixtures' measures. */
function close(actual: ArrayLike<number>, ref: ArrayLike<number>, rtol: number): string | null {
  let d2 = 0; let r2 = 0; let dot = 0; let c2 = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = actual[i] - ref[i];
    d2 += d * d; r2 += ref[i] * ref[i]; dot += actual[i] * ref[i]; c2 += actual[i] * actual[i];
  }
  const rel = Math.sqrt(d2 / r2);
  const cos = dot / Math.sqrt(r2 * c2);
  return rel <= rtol && cos >= 0.99999 ? null : `rel_l2 ${rel.toExponential(3)}, cos ${cos}`;
}

const manifest = testManifest();

for (const name of ['arch-vit-p14', 'arch-rn-2111']) {
  describe(`${name}: an architecture beyond the fixtures`, () => {
    const m = manifest.models[name];
    const tokens = new Int32Array(3 * 77);
    const texts = (m.inputs as unknown as { texts: { tokens: number[] }[] }).texts;
    texts.forEach((t, i) => tokens.set(t.tokens, i * 77));
    let model: ClipModel;
    const run = (mod: ClipModel): { image: Tensor; text: Tensor } => noGrad(() => {
      const S = mod.imageSize;
      const image = mod.encodeImage(new Tensor(f32(dataFile(`${name}.images.f32`)), [2, 3, S, S]));
      return { image, text: mod.encodeText(tokens) };
    });

    it('loads with the right configuration and reproduces the reference features', () => {
      model = loadModelFile(gunzipToTemp(`${name}.openai.pt.gz`));
      assert.equal(model.imageSize, m.config.image_resolution);
      const { image, text } = run(model);
      for (const [what, t] of [['image_features', image], ['text_features', text]] as const) {
        const err = close(t.data, f32(dataFile(`${name}.${what}.f32`)), 1e-4);
        assert.equal(err, null, `${name} ${what}: ${err}`);
      }
    });

    it('round-trips through our safetensors checkpoint (float32 exactly, float16 closely)', () => {
      const dir = tempDir('clip-ts-model-');
      const before = run(model);
      for (const dtype of ['float32', 'float16'] as const) {
        const file = path.join(dir, `${name}.${dtype}.safetensors`);
        saveModel(model, file, { dtype });
        const again = loadModelFile(file);
        assert.deepEqual(again.config, model.config);
        const after = run(again);
        if (dtype === 'float32') {
          assert.deepEqual(after.image.data, before.image.data);
          assert.deepEqual(after.text.data, before.text.data);
        } else {
          // The weights were fp16 values already, so a float16 file is lossless too.
          assert.equal(close(after.image.data, before.image.data, 1e-6), null);
        }
      }
    });
  });
}

describe('saved checkpoints keep what shapes cannot tell', () => {
  it('head counts other than width / 64 survive a save and load', () => {
    const model = createModel({
      embedDim: 64, activation: 'quickGelu',
      vision: { kind: 'vit', imageSize: 32, patchSize: 8, width: 64, layers: 1, heads: 2 },
      text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 1, heads: 2 },
    }, 1);
    const file = path.join(tempDir('clip-ts-model-'), 'heads.safetensors');
    saveModel(model, file);
    const again = loadModelFile(file);
    assert.equal(again.config.vision.heads, 2);
    assert.equal(again.config.text.heads, 2);
  });

  it('a GELU model reloads as GELU', () => {
    const model = createModel({
      embedDim: 16, activation: 'gelu',
      vision: { kind: 'vit', imageSize: 32, patchSize: 16, width: 64, layers: 1, heads: 1 },
      text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 1, heads: 1 },
    }, 3);
    const file = path.join(tempDir('clip-ts-model-'), 'gelu.safetensors');
    saveModel(model, file);
    assert.equal(loadModelFile(file).config.activation, 'gelu');
  });
});
