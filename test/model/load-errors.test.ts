// Loading mistakes give errors that say what is wrong and where.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { modelFromStateDict, loadModel, resolveModelFile } from '../../src/model/index.js';
import { openCheckpoint, toOpenAIStateDict, type TensorEntry } from '../../src/weights/index.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { tempDir } from '../weights/helpers.js';

function fixtureState(): Map<string, TensorEntry> {
  return toOpenAIStateDict(openCheckpoint(path.join(fixturesDir(), 'weights', 'tiny-vit.pt')));
}

describe('model loading errors', () => {
  it('a missing tensor is named', () => {
    const s = fixtureState();
    s.delete('visual.transformer.resblocks.1.mlp.c_fc.bias');
    assert.throws(() => modelFromStateDict(s), /missing keys: .*visual\.transformer\.resblocks\.1\.mlp\.c_fc\.bias/);
  });
  it('a tensor of the wrong shape is named with both shapes', () => {
    const s = fixtureState();
    const e = s.get('ln_final.bias') as TensorEntry;
    const wrong: TensorEntry = {
      name: e.name, dtype: e.dtype, shape: [127], numel: 127,
      toFloat32: () => new Float32Array(127), readInto: () => undefined, rawBytes: () => new Uint8Array(4 * 127),
    };
    s.set('ln_final.bias', wrong);
    assert.throws(() => modelFromStateDict(s), /shape mismatches: ln_final\.bias is \[127\], expected \[128\]/);
  });
  it('an unexpected tensor is named', () => {
    const s = fixtureState();
    s.set('visual.extra.weight', s.get('ln_final.bias') as TensorEntry);
    assert.throws(() => modelFromStateDict(s), /unknown keys: .*visual\.extra\.weight/);
  });
  it('unknown model names and models not yet downloaded say what to do', async () => {
    const cacheDir = tempDir('clip-ts-cache-');
    assert.throws(() => resolveModelFile('ViT-Z/99', { cacheDir }), /ViT-Z\/99: no such file, and not a known model name \(known: RN50, /);
    await assert.rejects(loadModel('ViT-B/32', { cacheDir }), /not in the cache folder .* \(run `clip-ts download ViT-B\/32`/);
  });
});
