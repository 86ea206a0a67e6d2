// bf16 matrix multiplies (an opt-in inference precision) stay close to float32.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadModelFile } from '../../src/model/index.js';
import { Tensor, noGrad, withMatmulPrecision } from '../../src/tensor/index.js';
import { fixturesDir, readF32 } from '../helpers/fixtures.js';

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0; let aa = 0; let bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

describe('bf16 inference', () => {
  it('image and text features within bf16 rounding of float32', () => {
    const model = loadModelFile(path.join(fixturesDir(), 'weights', 'tiny-vit.pt'));
    const images = new Tensor(readF32('preprocess/rocket_orig.224.f32'), [1, 3, 224, 224]);
    const tokens = new Int32Array(77);
    tokens.set([49406, 320, 1125, 539, 320, 2368, 49407]);
    const fp32 = noGrad(() => ({ i: model.encodeImage(images).data, t: model.encodeText(tokens).data }));
    const bf16 = withMatmulPrecision('bf16', () => noGrad(() => ({ i: model.encodeImage(images).data, t: model.encodeText(tokens).data })));
    assert.notDeepEqual(bf16.i, fp32.i, 'bf16 path was not taken');
    assert.ok(cosine(bf16.i, fp32.i) > 0.999, `image cosine ${cosine(bf16.i, fp32.i)}`);
    assert.ok(cosine(bf16.t, fp32.t) > 0.999, `text cosine ${cosine(bf16.t, fp32.t)}`);
  });
});
