// clip-ts index / search / dedup end to end on rendered emoji (2 styles x 12 classes, 32 px) with a
// small random model saved here: build, search by image and text, incremental updates, bad files,
// model mismatches, duplicates within an index and across two, and usage errors.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageIndex } from '../../src/index/image-index.js';
import { indexDirectory } from '../../src/index/indexer.js';
import { runCliCaptured } from '../helpers/capture-output.js';
import { emojiFolder, noisePng, saveRandomModel } from './helpers.js';

const root = mkdtempSync(path.join(tmpdir(), 'clip-ts-index-cli-'));
const photos = path.join(root, 'photos');
const db = path.join(root, 'photos.db');
let model: string;
let otherModel: string;
let files: string[];

// Untrained embeddings of different emoji reach cosine 0.9998 (see helpers.ts): identical images
// are told apart from merely similar ones with a threshold just below 1.
const IDENTICAL = '0.99999';

interface JsonHit { path: string; score: number }

before(async () => {
  model = saveRandomModel(path.join(root, 'model.safetensors'), 1);
  otherModel = saveRandomModel(path.join(root, 'other.safetensors'), 2);
  files = await emojiFolder(photos, path.join(root, 'render'), ['twemoji', 'openmoji'], 12);
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('clip-ts index and search', () => {
  it('indexes a folder and finds an indexed image first by its own file', async () => {
    assert.equal(files.length, 24);
    const r = await runCliCaptured(['index', photos, '--db', db, '--model', model, '--workers', '0', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added 24, updated 0, unchanged 0, removed 0, skipped 0/);
    assert.equal(r.stderr, '');

    const query = files[5];
    const s = await runCliCaptured(['search', '--db', db, '--image', query, '--top', '3']);
    assert.equal(s.code, 0, s.stderr);
    const lines = s.stdout.trim().split('\n');
    assert.match(lines[0], /rank\s+score\s+path/);
    assert.equal(lines.length, 4);
    assert.match(lines[1], new RegExp(`^\\s+1\\s+1\\.0000\\s+${query.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });

  it('prints JSON hits best first, by image and by text, with the model the index records', async () => {
    const s = await runCliCaptured(['search', '--db', db, '--image', files[17], '--json']);
    assert.equal(s.code, 0, s.stderr);
    const hits = JSON.parse(s.stdout) as JsonHit[];
    assert.equal(hits.length, 10);
    assert.deepEqual(Object.keys(hits[0]).sort(), ['path', 'score']);
    assert.equal(hits[0].path, files[17]);
    assert.ok(Math.abs(hits[0].score - 1) < 1e-5);
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1].score >= hits[i].score);

    const t = await runCliCaptured(['search', '--db', db, 'a smiling face', '--top', '30', '--json', '--model', model]);
    assert.equal(t.code, 0, t.stderr);
    const textHits = JSON.parse(t.stdout) as JsonHit[];
    assert.equal(textHits.length, 24);
    assert.ok(textHits.every((h) => files.includes(h.path) && h.score >= -1 && h.score <= 1));
  });

  it('updates incrementally: new, deleted, touched and bad files', async () => {
    mkdirSync(path.join(photos, 'sub'));
    const added = [await noisePng(path.join(photos, 'noise-1.png'), 1), await noisePng(path.join(photos, 'sub', 'noise-2.PNG'), 2)];
    const deleted = [files[0], files[13]];
    for (const f of deleted) unlinkSync(f);
    const corrupt = path.join(photos, 'twemoji', 'corrupt.jpg');
    writeFileSync(corrupt, 'this is not a jpeg at all, just text pretending');
    const empty = path.join(photos, 'empty.png');
    writeFileSync(empty, new Uint8Array(0));
    copyFileSync(files[1], path.join(photos, '.hidden.png'));
    writeFileSync(path.join(photos, 'notes.txt'), 'not an image');
    // Same bytes, new modification time: hashed, found unchanged, not embedded again.
    const touched = files[2];
    utimesSync(touched, new Date(), new Date(Date.now() + 5000));

    const report = await indexDirectory(photos, db, { workers: 0 });
    assert.equal(report.added, 2);
    assert.equal(report.removed, 2);
    assert.equal(report.updated, 0);
    assert.equal(report.unchanged, 22);
    assert.equal(report.embedded, 2, 'only the two new images go through the model');
    assert.deepEqual(report.skipped.map((s) => s.path), [empty, corrupt].sort());
    assert.ok(report.skipped.every((s) => s.reason.length > 0));
    assert.equal(report.total, 24);
    assert.equal(report.model.model, path.resolve(model), 'the model recorded at creation is used again');

    const index = await ImageIndex.open(db);
    try {
      const paths = (await index.all()).map((r) => r.path);
      for (const f of added) assert.ok(paths.includes(f));
      for (const f of [...deleted, corrupt, empty]) assert.ok(!paths.includes(f));
      assert.ok(!paths.some((p) => p.includes('.hidden')));
    } finally {
      await index.close();
    }

    // Through the CLI: nothing to do now but the bad files, which are listed, and exit 0.
    const r = await runCliCaptured(['index', photos, '--db', db, '--workers', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /added 0, updated 0, unchanged 24, removed 0, skipped 2/);
    assert.match(r.stdout, /skipped 2 unreadable files:\n {2}\S*empty\.png: .+\n {2}\S*corrupt\.jpg: .+/);
    unlinkSync(corrupt);
    unlinkSync(empty);
  });

  it('re-embeds a file whose content changed, keeping its id', async () => {
    const index = await ImageIndex.open(db);
    const target = files[3];
    const before = (await index.all()).find((r) => r.path === target);
    await index.close();
    copyFileSync(files[20], target);
    const report = await indexDirectory(photos, db, { workers: 0 });
    assert.equal(report.updated, 1);
    assert.equal(report.embedded, 0, 'the new bytes are those of another indexed file: its embedding is reused');
    const reopened = await ImageIndex.open(db);
    try {
      const row = (await reopened.all()).find((r) => r.path === target);
      assert.equal(row?.id, before?.id);
      assert.notEqual(row?.sha256, before?.sha256);
    } finally {
      await reopened.close();
    }
  });

  it('refuses a model with other weights, on indexing and on search', async () => {
    const r = await runCliCaptured(['index', photos, '--db', db, '--model', otherModel, '--quiet']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /was built with model .*model\.safetensors.*other weights.*another --db/s);
    const s = await runCliCaptured(['search', '--db', db, 'a cat', '--model', otherModel]);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /cannot be compared/);
  });

  it('names the missing index', async () => {
    const missing = path.join(root, 'nowhere.db');
    const s = await runCliCaptured(['search', '--db', missing, 'a cat']);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /nowhere\.db: no image index there/);
    assert.ok(!existsSync(missing), 'searching must not create the folder');
    const d = await runCliCaptured(['dedup', '--db', missing]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /no image index there/);
  });
});

describe('clip-ts dedup', () => {
  it('groups a byte-identical copy with its original', async () => {
    const original = files[7];
    const copy = path.join(photos, 'copy-of-an-emoji.png');
    copyFileSync(original, copy);
    const ix = await runCliCaptured(['index', photos, '--db', db, '--quiet']);
    assert.equal(ix.code, 0, ix.stderr);
    assert.match(ix.stdout, /added 1,/);

    const out = path.join(root, 'dedup.json');
    const d = await runCliCaptured(['dedup', '--db', db, '--threshold', IDENTICAL, '--json', '--out', out]);
    assert.equal(d.code, 0, d.stderr);
    const report = JSON.parse(d.stdout) as { groups: { images: string[]; maxSimilarity: number; identical: boolean }[]; redundant: number };
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), report);
    const group = report.groups.find((g) => g.images.includes(copy));
    assert.ok(group !== undefined, d.stdout);
    assert.deepEqual(group.images, [copy, original].sort());
    assert.ok(group.identical);
    assert.ok(Math.abs(group.maxSimilarity - 1) < 1e-5);

    const text = await runCliCaptured(['dedup', '--db', db, '--threshold', IDENTICAL]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, /group 1: 2 images, similarity 1\.0000 \(identical files\)/);
  });

  it('finds the overlap between two indexes', async () => {
    const second = path.join(root, 'second');
    mkdirSync(second);
    const shared = path.join(second, 'seen-before.png');
    copyFileSync(files[9], shared);
    await noisePng(path.join(second, 'unseen.png'), 99);
    const secondDb = path.join(root, 'second.db');
    const ix = await runCliCaptured(['index', second, '--db', secondDb, '--model', model, '--quiet']);
    assert.equal(ix.code, 0, ix.stderr);

    const d = await runCliCaptured(['dedup', '--db', secondDb, '--against', db, '--threshold', IDENTICAL, '--json']);
    assert.equal(d.code, 0, d.stderr);
    const report = JSON.parse(d.stdout) as { images: number; overlapping: number; pairs: { a: string; b: string; similarity: number; identical: boolean }[] };
    assert.equal(report.images, 2);
    assert.equal(report.overlapping, 1);
    assert.equal(report.pairs.length, 1);
    assert.equal(report.pairs[0].a, shared);
    assert.equal(report.pairs[0].b, files[9]);
    assert.ok(report.pairs[0].identical);
    assert.ok(Math.abs(report.pairs[0].similarity - 1) < 1e-5);

    const text = await runCliCaptured(['dedup', '--db', secondDb, '--against', db, '--threshold', IDENTICAL]);
    assert.match(text.stdout, /^1 of 2 images .* \(50\.0%\) have a near-duplicate among the 25 images/);

    // Indexes of different models cannot be compared.
    const foreignDb = path.join(root, 'foreign.db');
    assert.equal((await runCliCaptured(['index', second, '--db', foreignDb, '--model', otherModel, '--quiet'])).code, 0);
    const mismatch = await runCliCaptured(['dedup', '--db', foreignDb, '--against', db]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /cannot be compared/);
  });
});

describe('usage errors', () => {
  const cases: [string[], RegExp][] = [
    [['index', photos], /--db PATH is required/],
    [['index', '--db', db], /give the folder/],
    [['index', photos, photos, '--db', db], /one folder at a time/],
    [['index', photos, '--db', db, '--batch-size', '0'], /--batch-size must be at least 1/],
    [['search', '--db', db], /give a text query or --image FILE/],
    [['search', '--db', db, 'a cat', '--image', 'x.png'], /either a text query or --image/],
    [['search', 'a cat'], /--db PATH is required/],
    [['search', '--db', db, 'a cat', '--top', '0'], /--top must be at least 1/],
    [['search', '--db', db, 'a', 'cat'], /quote the text query/],
    [['dedup', '--db', db, '--threshold', '1.5'], /--threshold must be at most 1/],
    [['dedup'], /--db PATH is required/],
    [['dedup', '--db', db, '--bogus'], /unknown option --bogus/],
  ];
  for (const [argv, message] of cases) {
    it(argv.join(' ').replaceAll(root, '…'), async () => {
      const r = await runCliCaptured(argv);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, new RegExp(`usage: clip-ts ${argv[0]}`));
    });
  }

  it('--help prints the usage', async () => {
    for (const cmd of ['index', 'search', 'dedup']) {
      const r = await runCliCaptured([cmd, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`^usage: clip-ts ${cmd} `));
    }
  });
});
