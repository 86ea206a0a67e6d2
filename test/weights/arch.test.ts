// The reference-architecture checkpoints committed for the model code (gzipped TorchScript
// archives): they unpack to the recorded bytes, load, and imply the recorded configuration; the
// reference inputs and outputs have the recorded sizes.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { convertToOpenAI, openCheckpoint } from '../../src/weights/index.js';
import { dataFile, gunzipToTemp, readBytes, sha256Hex, testManifest } from './helpers.js';

const manifest = testManifest();

for (const name of ['arch-vit-p14', 'arch-rn-2111']) {
  describe(`reference model ${name}`, () => {
    const m = manifest.models[name];

    it('unpacks to the recorded archive and loads with the recorded configuration', () => {
      assert.ok(m.checkpoint !== undefined);
      const file = gunzipToTemp(m.checkpoint.file);
      assert.equal(sha256Hex(readBytes(file)), m.checkpoint.sha256_uncompressed);
      const ckpt = openCheckpoint(file);
      try {
        assert.equal(ckpt.format, 'torchscript');
        const { config } = convertToOpenAI(ckpt);
        const c = m.config;
        assert.equal(config.embedDim, c.embed_dim);
        assert.equal(config.vision.imageResolution, c.image_resolution);
        assert.equal(config.text.width, c.transformer_width);
        assert.equal(config.text.heads, 1);
        assert.equal(config.text.vocabSize, 49408);
        if (config.vision.kind === 'vit') {
          assert.equal(config.vision.patchSize, c.vision_patch_size);
          assert.equal(config.vision.layers, c.vision_layers);
          assert.equal(config.vision.heads, 1);
        } else {
          assert.deepEqual(config.vision.layers, c.vision_layers);
          assert.equal(config.vision.heads, 2);
        }
        // OpenAI's convert_weights split: projections and conv/linear/attention in fp16, the rest fp32.
        const dtypeOf = (k: string): string | undefined => ckpt.entries.get(k)?.dtype;
        assert.equal(dtypeOf('text_projection'), 'float16');
        assert.equal(dtypeOf('token_embedding.weight'), 'float32');
        assert.equal(dtypeOf('ln_final.weight'), 'float32');
        assert.equal(dtypeOf('transformer.resblocks.0.attn.in_proj_bias'), 'float16');
        assert.equal(dtypeOf('input_resolution'), 'int64');
      } finally {
        ckpt.close();
      }
    });

    it('has reference inputs and outputs of the recorded shapes', () => {
      assert.ok(m.inputs !== undefined && m.outputs !== undefined);
      const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
      assert.equal(statSync(dataFile(m.inputs.images.file)).size, 4 * count(m.inputs.images.shape));
      for (const out of Object.values(m.outputs)) assert.equal(statSync(dataFile(out.file)).size, 4 * count(out.shape));
    });
  });
}
