// The image index store (ImageIndex on LanceDB) and the exact search and pair-finding kernels, on
// random unit vectors: ids, upserts, removal, both search engines, errors for missing and foreign
// folders; top-k and blockwise similarity against plain loops.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { forEachSimilarPair } from '../../src/index/dedup.js';
import { ImageIndex, ImageIndexError, type IndexModelInfo } from '../../src/index/image-index.js';
import { topK } from '../../src/index/top-k.js';
import { SeededRandom } from '../../src/image/index.js';

const root = mkdtempSync(path.join(tmpdir(), 'clip-ts-index-store-'));
after(() => rmSync(root, { recursive: true, force: true }));

const DIM = 16;
const INFO: IndexModelInfo = { model: '/models/m.safetensors', modelSha256: 'ab'.repeat(32), dim: DIM, imageSize: 32 };

function randomUnit(rng: SeededRandom, dim = DIM): Float32Array {
  const v = new Float32Array(dim);
  let sq = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = rng.next() * 2 - 1;
    sq += v[i] * v[i];
  }
  for (let i = 0; i < dim; i++) v[i] /= Math.sqrt(sq);
  return v;
}

function row(name: string, vector: Float32Array, size = 100): { path: string; size: number; mtimeMs: number; sha256: string; vector: Float32Array } {
  return { path: path.join(root, 'imgs', name), size, mtimeMs: 1_700_000_000_000 + size, sha256: 'cd'.repeat(32), vector };
}

describe('ImageIndex', () => {
  it('stores rows with stable ids, replaces by path, removes, and finds by vector with both engines', async () => {
    const rng = new SeededRandom(7);
    const vectors = Array.from({ length: 40 }, () => randomUnit(rng));
    const db = path.join(root, 'db1');
    const index = await ImageIndex.create(db, INFO);
    try {
      assert.deepEqual(index.info, INFO);
      assert.equal(index.dbPath, path.resolve(db));
      const stored = await index.upsert(vectors.map((v, i) => row(`it's ${i}.png`, v, i)));
      assert.deepEqual(stored.map((s) => s.id), vectors.map((_, i) => i));
      assert.equal(await index.count(), 40);

      // Replacing a path keeps its id; a new path gets the next id.
      const again = await index.upsert([row("it's 3.png", vectors[0], 999), row('new.png', vectors[1])]);
      assert.deepEqual(again.map((s) => s.id), [3, 40]);
      assert.equal((await index.get(3))?.size, 999);
      assert.equal(await index.count(), 41);

      await index.remove([path.join(root, 'imgs', "it's 5.png"), path.join(root, 'imgs', 'absent.png')]);
      assert.equal(await index.get(5), undefined);
      assert.equal(await index.count(), 40);
      // A removed id is not reused.
      assert.deepEqual((await index.upsert([row('later.png', vectors[2])])).map((s) => s.id), [41]);

      const all = await index.all();
      assert.deepEqual(all.map((r) => r.id), [...all.map((r) => r.id)].sort((a, b) => a - b));
      const { ids, vectors: matrix } = await index.vectors();
      assert.equal(matrix.length, ids.length * DIM);
      const at = Array.from(ids).indexOf(3);
      assert.ok(Math.abs(matrix[at * DIM] - vectors[0][0]) < 1e-6);

      const hits = await index.searchVector(vectors[10], 5);
      assert.equal(hits[0].id, 10);
      assert.ok(Math.abs(hits[0].score - 1) < 1e-5);
      for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);

      // LanceDB's own scan ranks the same way with the same scores.
      const viaLance = await ImageIndex.open(db, { search: 'lancedb' });
      try {
        const lanceHits = await viaLance.searchVector(vectors[10], 5);
        assert.deepEqual(lanceHits.map((h) => h.id), hits.map((h) => h.id));
        lanceHits.forEach((h, i) => assert.ok(Math.abs(h.score - hits[i].score) < 1e-5));
        // A write through one handle is seen by the other's next search.
        await viaLance.upsert([row('fresh.png', vectors[20].map((x) => -x))]);
      } finally {
        await viaLance.close();
      }
      const after = await index.searchVector(vectors[20].map((x) => -x), 1);
      assert.equal(path.basename(after[0].path), 'fresh.png');
    } finally {
      await index.close();
    }
  });

  it('rejects vectors of the wrong length', async () => {
    const index = await ImageIndex.create(path.join(root, 'db2'), INFO);
    try {
      await assert.rejects(index.upsert([row('a.png', new Float32Array(DIM + 1).fill(1))]), /17 dimensions, the index 16/);
      await assert.rejects(index.searchVector(new Float32Array(3).fill(1), 1), /3 dimensions/);
    } finally {
      await index.close();
    }
  });

  it('names the folder when there is no index there', async () => {
    const missing = path.join(root, 'no-such-db');
    await assert.rejects(ImageIndex.open(missing), (err: unknown) => err instanceof ImageIndexError && err.reason === 'not-found' && err.message.includes(missing));
    const plain = path.join(root, 'plain-folder');
    mkdirSync(plain);
    writeFileSync(path.join(plain, 'notes.txt'), 'hello');
    await assert.rejects(ImageIndex.open(plain), /is not a clip-ts image index/);
    await assert.rejects(ImageIndex.create(plain, INFO), /not empty/);
    await assert.rejects(ImageIndex.create(path.join(root, 'db2'), INFO), /already holds an image index/);
  });
});

describe('exact search kernels', () => {
  it('topK returns the k largest, best first, ties by position', () => {
    const rng = new SeededRandom(3);
    const scores = Array.from({ length: 1000 }, () => Math.round(rng.next() * 100) / 100);
    const expected = scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score || a.index - b.index).slice(0, 17);
    assert.deepEqual(topK(scores, 17), expected);
    assert.deepEqual(topK([1, 2], 5).map((r) => r.index), [1, 0]);
    assert.deepEqual(topK([], 3), []);
  });

  it('blockwise similar pairs equal the plain double loop, within one set and between two', () => {
    const rng = new SeededRandom(11);
    const n = 70;
    const m = 45;
    const a = new Float32Array(n * DIM);
    const b = new Float32Array(m * DIM);
    for (let i = 0; i < n; i++) a.set(randomUnit(rng), i * DIM);
    for (let i = 0; i < m; i++) b.set(randomUnit(rng), i * DIM);
    const dot = (x: Float32Array, i: number, y: Float32Array, j: number): number => {
      let s = 0;
      for (let d = 0; d < DIM; d++) s += x[i * DIM + d] * y[j * DIM + d];
      return s;
    };
    const threshold = 0.5;
    const within: string[] = [];
    forEachSimilarPair({ vectors: a, count: n, dim: DIM }, null, threshold, 16, (i, j) => within.push(`${i}-${j}`));
    const expectedWithin: string[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (dot(a, i, a, j) >= threshold) expectedWithin.push(`${i}-${j}`);
    assert.ok(expectedWithin.length > 10);
    assert.deepEqual(within.sort(), expectedWithin.sort());

    const between: string[] = [];
    forEachSimilarPair({ vectors: a, count: n, dim: DIM }, { vectors: b, count: m, dim: DIM }, threshold, 32, (i, j) => between.push(`${i}-${j}`));
    const expectedBetween: string[] = [];
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) if (dot(a, i, b, j) >= threshold) expectedBetween.push(`${i}-${j}`);
    assert.deepEqual(between.sort(), expectedBetween.sort());
  });
});
