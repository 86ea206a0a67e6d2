// The zero-shot evaluation runner on a small real labelled set (10 emoji classes x 2 styles at
// 64 px, rendered by the dataset builder): its accuracy figures equal those computed here directly
// from logits obtained through the library, image by image.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildEmojiDataset } from '../../src/datasets/emoji.js';
import { ConfusionMatrix } from '../../src/eval/confusion.js';
import { parseRowFilter, readLabelledSource } from '../../src/eval/labelled-table.js';
import { evaluateZeroShot, formatZeroShotReport, type ZeroShotReport } from '../../src/eval/zeroshot-eval.js';
import { buildZeroShotClassifier } from '../../src/eval/zeroshot.js';
import { preprocessFile } from '../../src/image/index.js';
import { loadModelFile } from '../../src/model/load.js';
import type { ClipModel } from '../../src/model/clip.js';
import { run as zeroshotEvalCli } from '../../src/cli/zeroshot-eval.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { captureOutput } from '../helpers/capture-output.js';

const TEMPLATES = ['an emoji of {}.', 'a {} emoji.'];

/** Top-k hit: the true class's logit is beaten by fewer than k others (ties broken towards lower index). */
function inTopK(row: Float32Array, y: number, k: number): boolean {
  let better = 0;
  for (let c = 0; c < row.length; c++) if (row[c] > row[y] || (row[c] === row[y] && c < y)) better++;
  return better < k;
}

describe('zero-shot evaluation on rendered emoji', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-zs-eval-'));
  const modelFile = path.join(fixturesDir(), 'weights', 'tiny-vit.pt');
  let model: ClipModel;
  after(() => rmSync(dir, { recursive: true, force: true }));
  before(async () => {
    model = loadModelFile(modelFile);
    await buildEmojiDataset(dir, { size: 64, styles: ['noto', 'twemoji'], classesLimit: 10, jobs: 2 });
  });

  it('reproduces top-1, top-5 and mean per-class accuracy computed from raw logits', async () => {
    const data = readLabelledSource(path.join(dir, 'labels.csv'));
    assert.equal(data.classes.length, 10);
    assert.equal(data.items.length, 20);
    // Uneven classes make mean per-class differ from top-1: drop one image of the first two classes.
    const dropped = new Set([data.items.findIndex((it) => it.label === 0), data.items.findIndex((it) => it.label === 1)]);
    const subset = { ...data, items: data.items.filter((_, i) => !dropped.has(i)) };

    const result = await evaluateZeroShot(model, subset, { templates: TEMPLATES, imageBatchSize: 7, workers: 0 });

    // Independently: one image at a time through the library.
    const classifier = buildZeroShotClassifier(model, data.classes, { templates: TEMPLATES });
    const C = data.classes.length;
    const n = subset.items.length;
    const logits = new Float32Array(n * C);
    for (let i = 0; i < n; i++) {
      const pixels = await preprocessFile(subset.items[i].path, model.imageSize);
      logits.set(classifier.scores(model.embedImages(model.imageTensor(pixels, 1))).logits.data, i * C);
    }
    for (let i = 0; i < logits.length; i++) assert.ok(Math.abs(logits[i] - result.logits[i]) < 1e-3, `logit ${i}`);

    let top1 = 0;
    let top5 = 0;
    const hits = new Array<number>(C).fill(0);
    const counts = new Array<number>(C).fill(0);
    subset.items.forEach((it, i) => {
      const row = logits.subarray(i * C, (i + 1) * C);
      counts[it.label]++;
      if (inTopK(row, it.label, 1)) {
        top1++;
        hits[it.label]++;
      }
      if (inTopK(row, it.label, 5)) top5++;
    });
    const expectTop1 = (100 * top1) / n;
    const expectTop5 = (100 * top5) / n;
    const expectMean = (100 * hits.reduce((s, h, c) => s + h / counts[c], 0)) / C;
    const r = result.report;
    assert.equal(r.images, 18);
    assert.equal(r.classes, 10);
    assert.ok(Math.abs(r.top1 - expectTop1) < 1e-9, `top1 ${r.top1} vs ${expectTop1}`);
    assert.ok(Math.abs(r.top5 - expectTop5) < 1e-9, `top5 ${r.top5} vs ${expectTop5}`);
    assert.ok(Math.abs(r.mean_per_class - expectMean) < 1e-9, `mean per class ${r.mean_per_class} vs ${expectMean}`);
    assert.deepEqual(r.per_class.map((c) => c.images), counts);
    r.per_class.forEach((c, i) => assert.ok(Math.abs((c.top1 ?? NaN) - (100 * hits[i]) / counts[i]) < 1e-9, c.label));
    assert.equal(r.templates.count, 2);
    // The confusion summary is consistent with the predictions.
    const offDiagonal = r.most_confused.reduce((s, p) => s + p.images, 0);
    assert.ok(offDiagonal <= n - top1);
    if (n - top1 > 0) assert.ok(r.most_confused.length > 0);
    assert.match(formatZeroShotReport(r), /top-1: +\d+\.\d\d %/);
  });

  it('the CLI filters a style out of labels.csv and writes the JSON report', async () => {
    const out = path.join(dir, 'report.json');
    const templatesFile = path.join(dir, 'templates.txt');
    writeFileSync(templatesFile, '# emoji prompts\nan emoji of {}.\na {c} emoji.\n');
    const { result: code, stdout } = await captureOutput(() => zeroshotEvalCli(['--model', modelFile, '--data', path.join(dir, 'labels.csv'),
      '--filter', 'style=twemoji', '--templates', templatesFile, '--no-cache', '--quiet', '--json', '--out', out, '--confusion-matrix']));
    assert.equal(code, 0);
    const printed = JSON.parse(stdout) as ZeroShotReport;
    const written = JSON.parse(readFileSync(out, 'utf8')) as ZeroShotReport;
    assert.deepEqual({ ...printed, seconds: 0, images_per_second: 0 }, { ...written, seconds: 0, images_per_second: 0 });
    assert.equal(written.images, 10);
    assert.equal(written.classes, 10);
    for (const key of ['top1', 'top5', 'mean_per_class'] as const) assert.ok(written[key] >= 0 && written[key] <= 100, key);
    // One image per class: mean per-class accuracy is top-1.
    assert.ok(Math.abs(written.mean_per_class - written.top1) < 1e-9);
    assert.equal(written.per_class.length, 10);
    assert.ok(written.confusion_matrix !== undefined);
    const m = ConfusionMatrix.from([], [], 10);
    assert.equal(m.rowTotal(0), 0);
    assert.equal(written.confusion_matrix.flat().reduce((a, b) => a + b, 0), 10);
  });
});

describe('labelled tables', () => {
  it('name the row of a missing image, an unknown column and a bad filter', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-zs-table-'));
    try {
      const image = path.join(fixturesDir(), 'images', 'chelsea_rgb.png');
      const csv = path.join(dir, 'set.csv');
      writeFileSync(csv, `filepath,caption,label,style\n${image},"a cat, sitting",cat,photo\n${path.join(dir, 'gone.png')},x,dog,photo\n`);
      assert.throws(() => readLabelledSource(csv), new RegExp(`${csv} row 3: image file not found: .*gone\\.png`));
      const one = readLabelledSource(csv, { filters: [{ column: 'label', values: ['cat'] }] });
      assert.deepEqual(one.classes, ['cat']);
      assert.deepEqual(one.items, [{ path: image, label: 0 }]);
      assert.throws(() => readLabelledSource(csv, { filters: [{ column: 'colour', values: ['red'] }] }), /no column "colour" in the header \(filepath,caption,label,style\)/);
      assert.throws(() => readLabelledSource(csv, { filters: [{ column: 'style', values: ['drawing'] }] }), /no rows match the filters/);
      assert.throws(() => parseRowFilter('style'), /expected COLUMN=VALUE/);
      const names = path.join(dir, 'names.txt');
      writeFileSync(names, 'cat\n');
      const ok = path.join(dir, 'ok.csv');
      writeFileSync(ok, `${image},cat\n${image},dog\n`);
      await assert.rejects(zeroshotEvalCli(['--data', ok, '--class-names', names]), /--class-names .*names\.txt: 1 names, but .*ok\.csv has 2 classes/);
      await assert.rejects(zeroshotEvalCli(['--data', path.join(dir, 'none')]), /none: no such folder or file/);
      await assert.rejects(zeroshotEvalCli(['--data', ok, '--filter', 'oops']), /--filter: filter "oops": expected COLUMN=VALUE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('confusion matrix', () => {
  it('lists the most confused pairs, most first', () => {
    const m = ConfusionMatrix.from([0, 0, 0, 1, 1, 2, 2, 2], [0, 1, 1, 0, 1, 1, 1, 0], 3);
    assert.deepEqual(m.toArray(), [[1, 2, 0], [1, 1, 0], [1, 2, 0]]);
    assert.deepEqual(m.mostConfused(2).map((p) => [p.trueIndex, p.predictedIndex, p.count]), [[0, 1, 2], [2, 1, 2]]);
    assert.deepEqual(m.mostConfusedWith(1), { predictedIndex: 0, count: 1 });
    assert.throws(() => m.add(3, 0), /true class 3 outside \[0, 3\)/);
  });
});
