// sharp's decode against Pillow's: the SHA-256 of Pillow's decoded pixels (`im.tobytes()`) from the
// fixture manifest, and the PNG copies of Pillow's JPEG decodes. sharp's JPEG decoder (libvips with
// mozjpeg, a libjpeg-turbo fork) turned out bit-identical to Pillow's libjpeg-turbo 2.1.5 on all
// three fixture JPEGs (baseline 4:4:4 with an ICC profile, 4:4:4 q92, progressive 4:2:0), provided
// the embedded ICC profile is ignored as Pillow ignores it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../src/image/index.js';
import { fixturesDir, readJson } from '../helpers/fixtures.js';

interface ManifestImage {
  name: string;
  file: string;
  mode: string;
  decoded_sha256: string;
  decoded_png?: string;
}

const manifest = readJson<{ images: ManifestImage[] }>('preprocess/manifest.json');

function diffStats(a: Uint8Array, b: Uint8Array): { samples: number; max: number } {
  assert.equal(a.length, b.length);
  let samples = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d !== 0) samples++;
    if (d > max) max = d;
  }
  return { samples, max };
}

describe('decodeImage vs Pillow', () => {
  for (const img of manifest.images) {
    if (img.mode === 'P') continue; // Pillow's bytes are palette indices; the expanded colours are checked by the preprocess fixtures
    it(`${img.name}: pixels hash like Pillow's im.tobytes() (${img.mode})`, async () => {
      const d = await decodeImage(path.join(fixturesDir(), img.file));
      assert.equal(d.mode, img.mode);
      assert.equal(createHash('sha256').update(d.data).digest('hex'), img.decoded_sha256);
    });
  }

  for (const img of manifest.images.filter((i) => i.decoded_png !== undefined)) {
    it(`${img.name}.jpg: sharp's JPEG decode equals Pillow's (libjpeg-turbo 2.1.5) bit for bit`, async () => {
      const fromJpeg = await decodeImage(path.join(fixturesDir(), img.file));
      const fromPng = await decodeImage(path.join(fixturesDir(), img.decoded_png ?? ''));
      assert.deepEqual(diffStats(fromJpeg.data as Uint8Array, fromPng.data as Uint8Array), { samples: 0, max: 0 });
    });
  }

  it('why ignoreIcc matters: with colour management rocket_orig.jpg differs by up to 55 levels', async () => {
    const file = path.join(fixturesDir(), 'images', 'rocket_orig.jpg');
    const managed = await sharp(file).raw().toBuffer();
    const ours = await decodeImage(file);
    const stats = diffStats(new Uint8Array(managed.buffer, managed.byteOffset, managed.byteLength), ours.data as Uint8Array);
    assert.ok(stats.max > 10, `expected a visible difference, got ${JSON.stringify(stats)}`);
  });
});
