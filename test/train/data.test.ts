// Training data: caption tables, tar shards, the epoch order, batches with skipped samples and
// resumable cursors, the held-out split, and retrieval recall.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Tensor } from '../../src/tensor/index.js';
import { readCaptionTable } from '../../src/train/caption-table.js';
import { trainingBatches, epochOrder, type TrainingBatch } from '../../src/train/data.js';
import { loadPairDataset } from '../../src/train/data-sources.js';
import { parseSampleFilter, splitHeldOut, type PairSample } from '../../src/train/pair-dataset.js';
import { retrievalRecall } from '../../src/train/retrieval.js';
import { SampleDecoder } from '../../src/train/sample-decoder.js';
import { scanTar } from '../../src/train/tar-reader.js';
import { expandShardSpec, indexShard } from '../../src/train/webdataset.js';
import { makeTar } from './tar-writer.js';
import { tempDir } from './helpers.js';

const dir = tempDir();
const pngs: Uint8Array[] = [];

before(async () => {
  for (let i = 0; i < 12; i++) {
    const png = await sharp({ create: { width: 40 + i, height: 36, channels: 3, background: { r: 20 * i, g: 255 - 20 * i, b: (60 * i) % 255 } } }).png().toBuffer();
    pngs.push(new Uint8Array(png));
    writeFileSync(path.join(dir, `img${i}.png`), png);
  }
});

describe('caption tables', () => {
  it('reads CSV (quoted captions, extra columns), TSV and JSONL, resolving paths against the table', () => {
    writeFileSync(path.join(dir, 'a.csv'), 'filepath,caption,style\nimg0.png,"a red, round thing",x\nimg1.png,plain,y\n');
    writeFileSync(path.join(dir, 'a.tsv'), 'caption\tfilepath\nfirst\timg2.png\nsecond\timg3.png\n');
    writeFileSync(path.join(dir, 'a.jsonl'), '{"image": "img4.png", "text": "json one"}\n\n{"image": "img5.png", "text": "json two", "n": 3}\n');
    const csv = readCaptionTable(path.join(dir, 'a.csv'));
    assert.deepEqual(csv.map((s) => s.caption), ['a red, round thing', 'plain']);
    assert.deepEqual(csv[0].image, { kind: 'file', path: path.join(dir, 'img0.png') });
    assert.equal(csv[1].where, `${path.join(dir, 'a.csv')} row 3`);
    assert.deepEqual(readCaptionTable(path.join(dir, 'a.tsv')).map((s) => s.caption), ['first', 'second']);
    const jl = readCaptionTable(path.join(dir, 'a.jsonl'), { imageColumn: 'image', captionColumn: 'text' });
    assert.deepEqual(jl.map((s) => [path.basename((s.image as { path: string }).path), s.caption, s.where.split(' ').pop()]), [['img4.png', 'json one', '1'], ['img5.png', 'json two', '3']]);
    const filtered = readCaptionTable(path.join(dir, 'a.csv'), { filters: [parseSampleFilter('style!=x')] });
    assert.deepEqual(filtered.map((s) => s.caption), ['plain']);
  });

  it('names the file and row of bad input', () => {
    writeFileSync(path.join(dir, 'bad.csv'), 'filepath,caption\nimg0.png,\n');
    assert.throws(() => readCaptionTable(path.join(dir, 'bad.csv')), /bad\.csv row 2: missing or empty "caption"/);
    writeFileSync(path.join(dir, 'nocol.csv'), 'path,caption\nimg0.png,x\n');
    assert.throws(() => readCaptionTable(path.join(dir, 'nocol.csv')), /no column "filepath"/);
    writeFileSync(path.join(dir, 'bad.jsonl'), '{"filepath": "a.png", "caption": "x"}\n{oops\n');
    assert.throws(() => readCaptionTable(path.join(dir, 'bad.jsonl')), /bad\.jsonl line 2: not valid JSON/);
    assert.throws(() => loadPairDataset([path.join(dir, 'a.txt')]), /not a caption table/);
    assert.throws(() => loadPairDataset([path.join(dir, 'a.csv')], { filters: [parseSampleFilter('style=z')] }), /no image-caption pairs match the filters/);
    assert.throws(() => parseSampleFilter('style'), /COLUMN=VALUE/);
  });
});

describe('tar shards', () => {
  it('lists members with GNU long names and pax paths, and reads captions', () => {
    const long = 'deep/' + 'x'.repeat(120) + '/000001.txt';
    writeFileSync(path.join(dir, 'names.tar'), makeTar([
      { name: 'a/000000.txt', data: 'hello' },
      { name: long, data: 'gnu', longName: 'gnu' },
      { name: long.replace('000001', '000002'), data: 'pax', longName: 'pax' },
    ]));
    const seen = new Map<string, string>();
    const scan = scanTar(path.join(dir, 'names.tar'), () => true, (m, b) => seen.set(m.name, new TextDecoder().decode(b)));
    assert.deepEqual(scan.members.map((m) => m.name), ['a/000000.txt', long, long.replace('000001', '000002')]);
    assert.deepEqual([...seen.values()], ['hello', 'gnu', 'pax']);
    assert.equal(scan.truncatedAt, undefined);
  });

  it('indexes WebDataset samples, drops incomplete ones, and survives truncation', () => {
    const bytes = makeTar([
      { name: 's/000000.png', data: pngs[0] }, { name: 's/000000.txt', data: 'zero\n' },
      { name: 's/000001.txt', data: 'no image' },
      { name: 's/000002.jpg', data: pngs[2] }, { name: 's/000002.json', data: '{}' },
      { name: 's/000003.png', data: pngs[3] }, { name: 's/000003.txt', data: 'three' },
    ]);
    writeFileSync(path.join(dir, 'shard-0.tar'), bytes);
    const idx = indexShard(path.join(dir, 'shard-0.tar'));
    assert.deepEqual(idx.samples.map((s) => s.caption), ['zero', 'three']);
    assert.deepEqual(idx.dropped.map((d) => d.why), ['no image member (jpg/jpeg/png/webp)', 'no caption member (txt/caption/text)']);
    // Cut inside the last image: the samples before it remain.
    writeFileSync(path.join(dir, 'shard-1.tar'), bytes.subarray(0, bytes.length - 1024 - 600));
    const cut = indexShard(path.join(dir, 'shard-1.tar'));
    assert.deepEqual(cut.samples.map((s) => s.caption), ['zero']);
    assert.match(cut.dropped[cut.dropped.length - 1].why, /truncated/);
    assert.deepEqual(expandShardSpec(path.join(dir, 'shard-{0..1}.tar')).map((f) => path.basename(f)), ['shard-0.tar', 'shard-1.tar']);
    writeFileSync(path.join(dir, 'not.tar'), 'hello world, not a tar file'.repeat(40));
    assert.throws(() => indexShard(path.join(dir, 'not.tar')), /not a valid tar archive at byte 0/);
  });

  it('decodes a tar member exactly as the same image from a file, crops included', async () => {
    const shard = loadPairDataset([path.join(dir, 'shard-0.tar')]).samples[1];
    const file: PairSample = { image: { kind: 'file', path: path.join(dir, 'img3.png') }, caption: 'three', key: 'img3.png', where: 'x' };
    for (const workers of [0, 1]) {
      const dec = new SampleDecoder({ size: 24, augment: { seed: 5 }, workers });
      const [a, b] = await Promise.all([dec.decode(shard, 7, 2), dec.decode(file, 7, 2)]);
      await dec.close();
      assert.ok(a.ok && b.ok);
      if (a.ok && b.ok) assert.deepEqual(a.tensor, b.tensor);
    }
  });
});

describe('epoch order and batches', () => {
  it('draws a fresh permutation per epoch, the same for the same seed', () => {
    const a = epochOrder(50, 1, 0);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(a, epochOrder(50, 1, 0));
    assert.notDeepEqual(a, epochOrder(50, 1, 1));
    assert.notDeepEqual(a, epochOrder(50, 2, 0));
  });

  it('skips corrupt samples, drops epoch tails, and continues identically from any cursor', async () => {
    writeFileSync(path.join(dir, 'broken.png'), 'not an image');
    const samples: PairSample[] = pngs.map((_, i) => ({ image: { kind: 'file', path: path.join(dir, `img${i}.png`) }, caption: `colour ${i}`, key: `img${i}.png`, where: `row ${i}` }));
    samples.splice(4, 0, { image: { kind: 'file', path: path.join(dir, 'broken.png') }, caption: 'broken', key: 'broken.png', where: 'row broken' });
    samples.push({ image: { kind: 'file', path: path.join(dir, 'missing.png') }, caption: 'missing', key: 'missing.png', where: 'row missing' });
    const dec = new SampleDecoder({ size: 16, augment: { seed: 3 }, workers: 0 });
    const opts = { batchSize: 4, contextLength: 77, seed: 9 };
    const take = async (from: { epoch: number; position: number }, n: number): Promise<TrainingBatch[]> => {
      const out: TrainingBatch[] = [];
      for await (const b of trainingBatches(samples, dec, from, opts)) { out.push(b); if (out.length === n) break; }
      return out;
    };
    const run = await take({ epoch: 0, position: 0 }, 9);
    await dec.close();
    // 14 samples, 2 bad: 3 full batches per epoch (12 good), no tail left when both bad ones are met.
    assert.deepEqual(run.map((b) => b.start.epoch), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
    const skippedPerEpoch = [0, 1, 2].map((e) => run.filter((b) => b.start.epoch === e).flatMap((b) => b.skipped.map((s) => s.where)).sort());
    for (const s of skippedPerEpoch) assert.deepEqual(s, ['row broken', 'row missing']);
    for (const b of run) assert.ok(b.indices.every((i) => i !== 4 && i !== 13));
    for (const e of [0, 1, 2]) assert.equal(new Set(run.filter((b) => b.start.epoch === e).flatMap((b) => b.indices)).size, 12);
    // From the cursor after batch 4, the stream goes on exactly as before.
    const dec2 = new SampleDecoder({ size: 16, augment: { seed: 3 }, workers: 0 });
    const resumed: TrainingBatch[] = [];
    for await (const b of trainingBatches(samples, dec2, run[4].next, opts)) { resumed.push(b); if (resumed.length === 4) break; }
    await dec2.close();
    resumed.forEach((b, i) => {
      assert.deepEqual(b.indices, run[5 + i].indices);
      assert.deepEqual(b.images, run[5 + i].images);
      assert.deepEqual(b.tokens, run[5 + i].tokens);
    });
  });

  it('refuses data smaller than one batch, and names the failures of an epoch without a batch', async () => {
    const bad: PairSample[] = Array.from({ length: 4 }, (_, i) => ({ image: { kind: 'file', path: path.join(dir, 'missing.png') }, caption: `x${i}`, key: `m${i}`, where: `row ${i}` }));
    const dec = new SampleDecoder({ size: 16, workers: 0 });
    const first = async (s: PairSample[]): Promise<void> => { for await (const b of trainingBatches(s, dec, { epoch: 0, position: 0 }, { batchSize: 4, contextLength: 77, seed: 0 })) { void b; break; } };
    await assert.rejects(() => first(bad.slice(0, 3)), /fewer than one batch/);
    await assert.rejects(() => first(bad), /no batch of 4 could be formed .* row \d: .*missing\.png/);
    await dec.close();
  });
});

describe('held-out split', () => {
  it('is stable and about the asked fraction', () => {
    const s: PairSample[] = Array.from({ length: 1000 }, (_, i) => ({ image: { kind: 'file', path: `/x/${i}.png` }, caption: `c${i}`, key: `${i}.png`, where: '' }));
    const a = splitHeldOut(s, 0.1, 1);
    assert.ok(a.heldOut.length > 60 && a.heldOut.length < 140, `${a.heldOut.length}`);
    assert.equal(a.train.length + a.heldOut.length, 1000);
    const b = splitHeldOut([...s].reverse(), 0.1, 1);
    assert.deepEqual(new Set(b.heldOut.map((x) => x.caption)), new Set(a.heldOut.map((x) => x.caption)));
    // The same data in another folder: the same split.
    const moved = splitHeldOut(s.map((x) => ({ ...x, image: { kind: 'file' as const, path: `/elsewhere/${x.key}` } })), 0.1, 1);
    assert.deepEqual(moved.heldOut.map((x) => x.key), a.heldOut.map((x) => x.key));
  });
});

describe('retrieval recall', () => {
  it('counts any partner as correct (a caption shared by several images)', () => {
    // 3 images, 2 captions: images 0 and 1 share caption 0. Features on the unit circle.
    const img = new Tensor(Float32Array.from([1, 0, 0.9, 0.1, 0, 1]), [3, 2]);
    const txt = new Tensor(Float32Array.from([0, 1, 1, 0]), [2, 2]); // caption 0 points the wrong way
    const r = retrievalRecall(img, txt, [[0, 0], [1, 0], [2, 1]], [1, 2]);
    assert.deepEqual(r.imageToText, { 1: 0, 2: 100 });
    assert.deepEqual(r.textToImage, { 1: 0, 2: 50 });
    assert.throws(() => retrievalRecall(img, txt, [[0, 0], [2, 1]]), /image 1 has no caption/);
  });
});

