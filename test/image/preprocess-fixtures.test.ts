// Every image of shared/fixtures at 224 and 336 against OpenAI's `_transform` outputs, with the
// tolerances of index.json (which demand identical uint8 pixels). The PNG copies of Pillow's JPEG
// decodes check the resize alone; the JPEGs themselves check sharp's decode as well.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeImage, preprocess, resizeCropGeometry } from '../../src/image/index.js';
import { compareFixture, describeFailures, fixturesDir, readJson } from '../helpers/fixtures.js';

interface ManifestImage {
  name: string;
  file: string;
  mode: string;
  size_wh: [number, number];
  decoded_png?: string;
  outputs: Record<string, { resized_wh: [number, number]; crop_top_left: [number, number] }>;
}

const manifest = readJson<{ images: ManifestImage[]; resolutions: number[] }>('preprocess/manifest.json');

describe('preprocess fixtures (OpenAI _transform)', () => {
  for (const img of manifest.images) {
    for (const n of manifest.resolutions) {
      const sources = [img.file, ...(img.decoded_png !== undefined ? [img.decoded_png] : [])];
      for (const source of sources) {
        it(`${img.name} at ${n} from ${path.basename(source)}`, async () => {
          const decoded = await decodeImage(path.join(fixturesDir(), source));
          const expectedMode = source.endsWith('.png') && img.decoded_png === source ? 'RGB' : img.mode;
          assert.equal(decoded.mode, expectedMode);
          assert.deepEqual([decoded.width, decoded.height], img.size_wh);
          const g = resizeCropGeometry(decoded.width, decoded.height, n);
          const want = img.outputs[String(n)];
          assert.deepEqual([g.resizedWidth, g.resizedHeight], want.resized_wh);
          assert.deepEqual([g.crop.top, g.crop.left], want.crop_top_left);
          // Both bicubic implementations (WebAssembly SIMD where available, and TypeScript).
          for (const engine of ['auto', 'typescript'] as const) {
            const rep = compareFixture(`preprocess/${img.name}.${n}`, preprocess(decoded, n, { engine }));
            assert.ok(rep.pass, `${engine}: ${describeFailures(rep)}`);
          }
        });
      }
    }
  }
});
