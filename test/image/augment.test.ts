// The seeded RNG and open_clip's RandomResizedCrop (scale 0.9-1, ratio 3/4-4/3).
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  decodeImage, randomResizedCrop, randomResizedCropBox, resizeLikePillow, SeededRandom, toRgb8, normalizeRgbInto,
} from '../../src/image/index.js';
import { fixturesDir } from '../helpers/fixtures.js';

describe('SeededRandom', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
    assert.notDeepEqual(new SeededRandom(1, 2).next(), new SeededRandom(2, 1).next());
  });
  it('next() is uniform in [0, 1), int() stays in range and covers it', () => {
    const r = new SeededRandom(7);
    let sum = 0;
    const counts = new Array<number>(6).fill(0);
    const n = 60000;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      assert.ok(x >= 0 && x < 1);
      sum += x;
      counts[r.int(0, 6)]++;
    }
    assert.ok(Math.abs(sum / n - 0.5) < 0.01, `mean ${sum / n}`);
    for (const c of counts) assert.ok(Math.abs(c - n / 6) < 0.05 * (n / 6), `counts ${counts.join(',')}`);
    assert.throws(() => r.int(3, 3), RangeError);
  });
});

describe('randomResizedCropBox', () => {
  it('stays inside the image with area and ratio in range', () => {
    const rng = new SeededRandom(3);
    for (let i = 0; i < 2000; i++) {
      const [w, h] = [[640, 427], [288, 512], [50, 30], [1000, 1000]][i % 4];
      const b = randomResizedCropBox(w, h, rng);
      assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= w && b.top + b.height <= h, JSON.stringify(b));
      const area = (b.width * b.height) / (w * h);
      // Images wider than 4/3 (or taller than 3/4) often fail all 10 tries and fall back to the
      // largest centred crop within the ratio range, whose area can be well below 90 %.
      const ratio = b.width / b.height;
      assert.ok(ratio > 0.74 && ratio < 1.34, `ratio ${ratio}`);
      if (w === h) assert.ok(area > 0.88 && area <= 1, `area ${area}`);
    }
  });
  it('falls back to a centred crop clamped to the ratio range (torchvision)', () => {
    // A 1000x100 strip: no crop of area >= 90 % has a ratio <= 4/3, so every try fails.
    const b = randomResizedCropBox(1000, 100, new SeededRandom(1));
    assert.deepEqual(b, { left: 433, top: 0, width: 133, height: 100 });
    const t = randomResizedCropBox(100, 1000, new SeededRandom(1));
    assert.deepEqual(t, { left: 0, top: 433, width: 100, height: 133 });
  });
});

describe('randomResizedCrop', () => {
  it('is the Pillow resize of the chosen box, reproducible from the seed', async () => {
    const img = await decodeImage(path.join(fixturesDir(), 'images', 'astronaut_alpha_rgba.png'));
    // (11, 2, 5) and (11, 3, 5) are seeds whose boxes come from a successful try, not the fallback.
    const t1 = randomResizedCrop(img, 224, new SeededRandom(11, 2, 5));
    const t2 = randomResizedCrop(img, 224, new SeededRandom(11, 2, 5));
    assert.deepEqual(t1, t2);
    const box = randomResizedCropBox(img.width, img.height, new SeededRandom(11, 2, 5));
    assert.notDeepEqual(box, { left: 0, top: 0, width: 320, height: 240 });
    const expected = new Float32Array(3 * 224 * 224);
    normalizeRgbInto(toRgb8(resizeLikePillow(img, 224, 224, { region: box })), expected);
    assert.deepEqual(t1, expected);
    assert.notDeepEqual(t1, randomResizedCrop(img, 224, new SeededRandom(11, 3, 5)));
  });
});
