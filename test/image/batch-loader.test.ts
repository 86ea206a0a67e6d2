// The batch loader gives exactly `preprocess` of every file, in order, whatever the workers, and
// augmentation that depends only on (seed, epoch, index).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage, ImageBatchLoader, preprocess, randomResizedCrop, SeededRandom } from '../../src/image/index.js';
import { compareFixture, describeFailures, fixturesDir } from '../helpers/fixtures.js';

const names = ['chelsea_rgb.png', 'rocket_orig.jpg', 'retina_1000x700.jpg', 'astronaut_portrait.jpg',
  'astronaut_alpha_rgba.png', 'coins_gray.png', 'chelsea_palette.png', 'coffee_tiny_50x30.png'];
const files = names.map((n) => path.join(fixturesDir(), 'images', n));

async function collect(loader: ImageBatchLoader): Promise<{ data: Float32Array; paths: string[]; counts: number[] }> {
  const parts: Float32Array[] = [];
  const paths: string[] = [];
  const counts: number[] = [];
  for await (const b of loader) {
    parts.push(b.batch);
    paths.push(...b.paths);
    counts.push(b.count);
    assert.deepEqual(b.skipped, []);
  }
  await loader.close();
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, paths, counts };
}

describe('ImageBatchLoader', () => {
  for (const workers of [0, 2]) {
    it(`yields the fixture tensors in order, NCHW (workers ${workers})`, async () => {
      const { data, paths, counts } = await collect(new ImageBatchLoader(files, { size: 224, batchSize: 3, workers }));
      assert.deepEqual(paths, files);
      assert.deepEqual(counts, [3, 3, 2]);
      const per = 3 * 224 * 224;
      names.forEach((n, i) => {
        const rep = compareFixture(`preprocess/${n.replace(/\.(png|jpg)$/, '')}.224`, data.subarray(i * per, (i + 1) * per));
        assert.ok(rep.pass, describeFailures(rep));
      });
    });
  }

  // Square images: random crops of wide or tall ones mostly hit torchvision's deterministic fallback.
  let squares: string[] = [];
  let tmp = '';
  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'clip-ts-loader-'));
    squares = await Promise.all(files.slice(0, 4).map(async (f, i) => {
      const out = path.join(tmp, `square${i}.png`);
      await sharp(f).extract({ left: 0, top: 0, width: 200, height: 200 }).png().toFile(out);
      return out;
    }));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('augmentation depends on (seed, epoch, index) only, not on the workers', async () => {
    const subset = squares;
    const opts = { size: 64, batchSize: 4, augment: { seed: 5, epoch: 2 } };
    const a = await collect(new ImageBatchLoader(subset, { ...opts, workers: 0 }));
    const b = await collect(new ImageBatchLoader(subset, { ...opts, workers: 2, queuePerWorker: 1 }));
    assert.deepEqual(a.data, b.data);
    const img = await decodeImage(subset[3]);
    assert.deepEqual(a.data.subarray(3 * 3 * 64 * 64), randomResizedCrop(img, 64, new SeededRandom(5, 2, 3)));
    const c = await collect(new ImageBatchLoader(subset, { ...opts, augment: { seed: 5, epoch: 3 }, workers: 0 }));
    assert.notDeepEqual(a.data, c.data);
  });

  it('can be iterated again (epochs), also after a break, with the same workers', async () => {
    const loader = new ImageBatchLoader([...files, ...files], { size: 32, batchSize: 2, workers: 2 });
    let seen = 0;
    for await (const b of loader) {
      seen += b.count;
      if (seen >= 4) break;
    }
    assert.equal(seen, 4);
    const epochs: Float32Array[][] = [[], []];
    for (const e of epochs) for await (const b of loader) e.push(b.batch);
    await loader.close();
    assert.equal(epochs[0].length, 8);
    assert.deepEqual(epochs[0], epochs[1]);
    const img = await decodeImage(files[1]);
    assert.deepEqual(epochs[1][0].subarray(3 * 32 * 32), preprocess(img, 32));
  });

  it('rejects bad options', () => {
    assert.throws(() => new ImageBatchLoader(files, { size: 0 }), RangeError);
    assert.throws(() => new ImageBatchLoader(files, { size: 224, batchSize: 0 }), RangeError);
    assert.throws(() => new ImageBatchLoader(files, { size: 224, workers: -1 }), RangeError);
  });
});
