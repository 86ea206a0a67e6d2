// Every mode and format the decoder handles, against Pillow 9.4 + torchvision 0.14.1 (hashes made
// by tools/image/make_pil_goldens.py): decode, CLIP's transform at 224 and 288 (and 288/384/448 for
// the shared fixture images, the RN50x* resolutions), and crop-then-resize to odd sizes (the
// operations of RandomResizedCrop).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeImage, resizeCenterCropRgb, resizeLikePillow, toRgb8, type DecodedImage } from '../../src/image/index.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { imageTestDataDir } from './test-data.js';

interface GoldenCase {
  input: string;
  mode: string;
  size_wh: [number, number];
  op: 'decode' | 'transform' | 'crop_resize' | 'transform_exif';
  n?: number;
  box?: [number, number, number, number];
  out_wh?: [number, number];
  sha256: string;
}

const goldenDir = path.join(imageTestDataDir(), 'golden');
const golden = JSON.parse(readFileSync(path.join(goldenDir, 'pil-golden.json'), 'utf8')) as { cases: GoldenCase[] };

function inputPath(input: string): string {
  return input.startsWith('shared:') ? path.join(fixturesDir(), input.slice('shared:'.length)) : path.join(goldenDir, 'inputs', input);
}

function sha(rgb: Uint8Array): string {
  return createHash('sha256').update(rgb).digest('hex');
}

const cache = new Map<string, Promise<DecodedImage>>();
function decodeCached(input: string, exif: boolean): Promise<DecodedImage> {
  const key = `${input}|${exif}`;
  let p = cache.get(key);
  if (p === undefined) {
    p = decodeImage(inputPath(input), { applyExifOrientation: exif });
    cache.set(key, p);
  }
  return p;
}


describe('Pillow goldens (modes, formats, resolutions, crops)', () => {
  for (const c of golden.cases) {
    const what = c.op === 'crop_resize' ? `crop ${c.box?.join(',')} -> ${c.out_wh?.join('x')}` : c.n !== undefined ? `${c.op} ${c.n}` : c.op;
    it(`${c.input} (${c.mode}) ${what}`, async () => {
      const img = await decodeCached(c.input, c.op === 'transform_exif');
      assert.equal(img.mode, c.mode);
      if (c.op !== 'transform_exif') assert.deepEqual([img.width, img.height], c.size_wh);
      let rgb: Uint8Array;
      if (c.op === 'decode') {
        rgb = toRgb8(img);
      } else if (c.op === 'crop_resize') {
        const [l, t, r, b] = c.box ?? [0, 0, 0, 0];
        const [w, h] = c.out_wh ?? [0, 0];
        rgb = toRgb8(resizeLikePillow(img, w, h, { region: { left: l, top: t, width: r - l, height: b - t } }));
      } else {
        rgb = resizeCenterCropRgb(img, c.n ?? 0);
      }
      assert.equal(sha(rgb), c.sha256);
    });
  }
});
