// The shared fixture archives (OpenAI's TorchScript format): every key, dtype, shape and SHA-256 of
// the stored bytes matches the fixtures' manifest, fp16 converts exactly, and the configuration
// inferred from the shapes is the one the fixtures were built with.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fixturesDir } from '../helpers/fixtures.js';
import { convertToOpenAI, halfBitsToNumber, openCheckpoint } from '../../src/weights/index.js';
import { sha256Hex } from './helpers.js';

interface ModelManifest {
  config: {
    embed_dim: number; image_resolution: number; vision_layers: number | number[]; vision_width: number;
    vision_patch_size: number | null; context_length: number; vocab_size: number;
    transformer_width: number; transformer_heads: number; transformer_layers: number;
  };
  derived_heads: { vision_heads: number; text_heads: number };
  tensors: Record<string, { dtype: string; shape: number[]; sha256: string }>;
  fp16_keys: string[];
  weights: { file: string; bytes: number; sha256: string; zip_roots: string[] };
}

function manifest(name: string): ModelManifest {
  return JSON.parse(readFileSync(path.join(fixturesDir(), 'models', name, 'manifest.json'), 'utf8')) as ModelManifest;
}

for (const name of ['tiny-vit', 'tiny-rn']) {
  describe(`fixture ${name}.pt`, () => {
    const man = manifest(name);
    const file = path.join(fixturesDir(), man.weights.file);

    it('is recognised as a TorchScript archive with the manifest\'s keys, in order', () => {
      const ckpt = openCheckpoint(file);
      try {
        assert.equal(ckpt.format, 'torchscript');
        assert.deepEqual([...ckpt.entries.keys()], Object.keys(man.tensors));
      } finally {
        ckpt.close();
      }
    });

    it('matches every dtype, shape and SHA-256 of the raw bytes', () => {
      const ckpt = openCheckpoint(file, { verifyCrc: true });
      try {
        const bad: string[] = [];
        for (const [key, want] of Object.entries(man.tensors)) {
          const e = ckpt.entries.get(key);
          if (e === undefined) {
            bad.push(`${key} missing`);
            continue;
          }
          if (e.dtype !== want.dtype) bad.push(`${key}: dtype ${e.dtype} != ${want.dtype}`);
          if (JSON.stringify(e.shape) !== JSON.stringify(want.shape)) bad.push(`${key}: shape ${JSON.stringify(e.shape)}`);
          if (sha256Hex(e.rawBytes()) !== want.sha256) bad.push(`${key}: sha256 differs`);
        }
        assert.deepEqual(bad, []);
        const fp16 = [...ckpt.entries.values()].filter((e) => e.dtype === 'float16').map((e) => e.name).sort();
        assert.deepEqual(fp16, [...man.fp16_keys].sort());
      } finally {
        ckpt.close();
      }
    });

    it('converts fp16 to float32 exactly, through toFloat32 and readInto alike', () => {
      const ckpt = openCheckpoint(file);
      try {
        for (const key of man.fp16_keys.slice(0, 12)) {
          const e = ckpt.entries.get(key);
          assert.ok(e !== undefined);
          const raw = e.rawBytes();
          const bits = new Uint16Array(raw.buffer, raw.byteOffset, e.numel);
          const values = e.toFloat32();
          for (let i = 0; i < e.numel; i++) assert.equal(values[i], halfBitsToNumber(bits[i]), `${key}[${i}]`);
          const into = new Float32Array(e.numel);
          e.readInto(into);
          assert.deepEqual(into, values);
        }
        const scale = ckpt.entries.get('logit_scale');
        assert.ok(scale !== undefined);
        assert.deepEqual(scale.shape, []);
        assert.equal(scale.numel, 1);
        assert.equal(ckpt.entries.get('context_length')?.toFloat32()[0], 77);
        assert.equal(ckpt.entries.get('vocab_size')?.toFloat32()[0], 49408);
      } finally {
        ckpt.close();
      }
    });

    it('infers the configuration it was built with (OpenAI\'s build_model rules)', () => {
      const ckpt = openCheckpoint(file);
      try {
        const { config, scheme, tensors } = convertToOpenAI(ckpt);
        const c = man.config;
        assert.equal(scheme, 'openai');
        assert.equal(tensors.size, Object.keys(man.tensors).length);
        assert.equal(config.embedDim, c.embed_dim);
        assert.equal(config.vision.imageResolution, c.image_resolution);
        assert.equal(config.text.contextLength, c.context_length);
        assert.equal(config.text.vocabSize, c.vocab_size);
        assert.equal(config.text.width, c.transformer_width);
        assert.equal(config.text.layers, c.transformer_layers);
        assert.equal(config.text.heads, man.derived_heads.text_heads);
        assert.equal(config.vision.heads, man.derived_heads.vision_heads);
        if (config.vision.kind === 'vit') {
          assert.equal(config.vision.layers, c.vision_layers);
          assert.equal(config.vision.width, c.vision_width);
          assert.equal(config.vision.patchSize, c.vision_patch_size);
        } else {
          assert.deepEqual(config.vision.layers, c.vision_layers);
          assert.equal(config.vision.width, c.vision_width);
        }
      } finally {
        ckpt.close();
      }
    });

    it('refuses reads after close', () => {
      const ckpt = openCheckpoint(file);
      const e = ckpt.entries.get('logit_scale');
      ckpt.close();
      assert.throws(() => e?.toFloat32(), /closed/);
    });
  });
}
