// clip-ts features / linear-probe / few-shot end to end on a tiny ImageFolder made here, with the
// tiny fixture model; and the errors for bad inputs. Commands run in-process, output captured.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { UsageError } from '../../src/cli/args.js';
import * as featuresCli from '../../src/cli/features.js';
import * as fewShotCli from '../../src/cli/few-shot.js';
import * as linearProbeCli from '../../src/cli/linear-probe.js';
import { extractFeatures, readFeatureFile } from '../../src/eval/features.js';
import { readLabelledImages } from '../../src/eval/labelled-images.js';
import { SeededRandom } from '../../src/image/index.js';
import { loadModelFile } from '../../src/model/index.js';
import { captureOutput, type CliResult } from '../helpers/capture-output.js';
import { fixturesDir } from '../helpers/fixtures.js';

interface CommandModule { run(argv: string[]): Promise<number> }

/**
 * Runs a command module as the dispatcher does (UsageError → 2, other errors → 1 with the message
 * on stderr).
 */
async function cli(mod: CommandModule, ...argv: string[]): Promise<CliResult> {
  const { result, stdout, stderr } = await captureOutput(async () => {
    try {
      return await mod.run(argv);
    } catch (e) {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      return e instanceof UsageError ? 2 : 1;
    }
  });
  return { code: result, stdout, stderr };
}

const dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-probe-cli-'));
const MODEL = path.join(fixturesDir(), 'weights', 'tiny-vit.pt');
const CLASSES: Record<string, [number, number, number]> = { red_apple: [200, 40, 40], green_leaf: [40, 180, 60], blue_sky: [50, 80, 210] };

/** Noisy flat-colour PNGs: `n` per class under root/CLASS/. */
async function makeImageFolder(root: string, n: number, seed: number): Promise<void> {
  const rng = new SeededRandom(seed);
  for (const [name, rgb] of Object.entries(CLASSES)) {
    mkdirSync(path.join(root, name), { recursive: true });
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(24 * 24 * 3);
      for (let j = 0; j < px.length; j++) px[j] = Math.max(0, Math.min(255, Math.round(rgb[j % 3] + (rng.next() - 0.5) * 120)));
      await sharp(px, { raw: { width: 24, height: 24, channels: 3 } }).png().toFile(path.join(root, name, `${i}.png`));
    }
  }
}

before(async () => {
  await makeImageFolder(path.join(dir, 'train'), 4, 1);
  await makeImageFolder(path.join(dir, 'test'), 2, 2);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('clip-ts features', () => {
  it('writes a feature file, then reuses it', async () => {
    const out = path.join(dir, 'train.feats');
    const r = await cli(featuresCli, '--model', MODEL, '--data', path.join(dir, 'train'), '--out', out, '--batch-size', '5');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote .*train\.feats: 12 × 64 features, 3 classes/);
    const set = readFeatureFile(out);
    assert.deepEqual(set.header.classes, ['blue_sky', 'green_leaf', 'red_apple']);
    assert.deepEqual(Array.from(set.labels), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    assert.equal(set.header.paths.length, 12);
    assert.ok(set.features.data.every(Number.isFinite));
    assert.ok(!existsSync(out + '.partial'));
    const mtime = statSync(out).mtimeMs;
    const again = await cli(featuresCli, '--model', MODEL, '--data', path.join(dir, 'train'), '--out', out);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /reused/);
    assert.equal(statSync(out).mtimeMs, mtime);
  });

  it('resumes an interrupted extraction from the partial file', async () => {
    const model = loadModelFile(MODEL);
    const data = readLabelledImages(path.join(dir, 'train'));
    const out = path.join(dir, 'resume.feats');
    await assert.rejects(extractFeatures({
      model, modelFile: MODEL, data, out, batchSize: 5, workers: 0,
      onProgress: (done) => { if (done >= 5) throw new Error('interrupted'); },
    }), /interrupted/);
    assert.ok(existsSync(out + '.partial') && !existsSync(out));
    const r = await extractFeatures({ model, modelFile: MODEL, data, out, batchSize: 5, workers: 0 });
    assert.equal(r.resumedRows, 5);
    assert.ok(!existsSync(out + '.partial'));
    const fresh = readFeatureFile(path.join(dir, 'train.feats'));
    const resumed = readFeatureFile(out);
    assert.deepEqual(Array.from(resumed.labels), Array.from(fresh.labels));
    assert.deepEqual(Array.from(resumed.features.data), Array.from(fresh.features.data));
  });

  it('refuses a truncated feature file with a clear error', () => {
    const bytes = readFileSync(path.join(dir, 'train.feats'));
    const bad = path.join(dir, 'truncated.feats');
    writeFileSync(bad, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length - 10));
    assert.throws(() => readFeatureFile(bad), /truncated\.feats: \d+ bytes, but a header of 12 rows × 64 needs \d+/);
    const notOne = path.join(dir, 'not.feats');
    writeFileSync(notOne, 'hello world, not features');
    assert.throws(() => readFeatureFile(notOne), /not a clip-ts feature file/);
  });
});

describe('clip-ts linear-probe', () => {
  it('--json prints accuracy, classes and per-image probabilities (features file + image folder)', async () => {
    const r = await cli(linearProbeCli, '--model', MODEL, '--features', path.join(dir, 'train.feats'), '--test', path.join(dir, 'test'),
      '--val-split', '0.25', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      accuracy: number; mean_per_class: number; classes: string[]; C: number;
      predictions: { image: string; label: string; probabilities: number[] }[];
    };
    assert.deepEqual(report.classes, ['blue_sky', 'green_leaf', 'red_apple']);
    assert.equal(report.predictions.length, 6);
    for (const p of report.predictions) {
      assert.ok(existsSync(p.image));
      assert.equal(p.label, path.basename(path.dirname(p.image)));
      assert.equal(p.probabilities.length, 3);
      assert.ok(Math.abs(p.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    }
    assert.ok(report.accuracy >= 0 && report.accuracy <= 100);
    assert.ok(report.C >= 1e-6 && report.C <= 1e6);
    assert.match(r.stderr, /validation accuracy/);
  });

  it('--C skips the sweep and --out writes the report atomically', async () => {
    const out = path.join(dir, 'lp.json');
    const cacheDir = path.join(dir, 'cache');
    const r = await cli(linearProbeCli, '--model', MODEL, '--train', path.join(dir, 'train'), '--test', path.join(dir, 'test'),
      '--C', '0.316', '--out', out, '--features-dir', cacheDir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^top-1 accuracy [\d.]+ %, mean per-class accuracy [\d.]+ %/);
    assert.doesNotMatch(r.stderr, /validation accuracy/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as { C: number; predictions: unknown[] };
    assert.equal(report.C, 0.316);
    assert.equal(report.predictions.length, 6);
    // The second run takes both sets from the cache.
    const again = await cli(linearProbeCli, '--model', MODEL, '--train', path.join(dir, 'train'), '--test', path.join(dir, 'test'),
      '--C', '0.316', '--features-dir', cacheDir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((again.stderr.match(/reused features/g) ?? []).length, 2);
    assert.equal(again.stdout, r.stdout);
  });

  it('bad inputs give clear errors', async () => {
    const base = ['--model', MODEL, '--C', '1'];
    let r = await cli(linearProbeCli, ...base, '--train', path.join(dir, 'missing'), '--test', path.join(dir, 'test'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing: no such folder or file/);

    const emptyClass = path.join(dir, 'empty-class');
    await makeImageFolder(emptyClass, 1, 3);
    mkdirSync(path.join(emptyClass, 'zebra'));
    r = await cli(linearProbeCli, ...base, '--train', emptyClass, '--test', path.join(dir, 'test'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /class folder "zebra" holds no images/);

    const corrupt = path.join(dir, 'corrupt');
    await makeImageFolder(corrupt, 1, 4);
    writeFileSync(path.join(corrupt, 'blue_sky', 'broken.png'), 'this is not a png');
    r = await cli(linearProbeCli, ...base, '--train', corrupt, '--test', path.join(dir, 'test'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /broken\.png/);

    r = await cli(linearProbeCli, ...base, '--train', path.join(dir, 'train.feats'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--test .* is required/);
    r = await cli(linearProbeCli, '--train', path.join(dir, 'train.feats'), '--test', path.join(dir, 'test'), '--val-split', '1');
    assert.equal(r.code, 2);
    r = await cli(linearProbeCli, '--train', path.join(dir, 'train.feats'), '--test', path.join(dir, 'test'), '--C', 'abc');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--C must be a number/);
  });
});

describe('clip-ts few-shot', () => {
  it('writes the report and the plot (SVG + PNG), with zero-shot as the reference', async () => {
    const out = path.join(dir, 'fs.json');
    const plot = path.join(dir, 'fig.svg');
    const r = await cli(fewShotCli, '--model', MODEL, '--train', path.join(dir, 'train.feats'), '--test', path.join(dir, 'test'),
      '--shots', '1,2', '--seeds', '2', '--out', out, '--plot', plot);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\| zero-shot \| [\d.]+ \|/);
    assert.match(r.stdout, /\| 2 \| [\d.]+ ± [\d.]+ \|/);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      zero_shot: { accuracy: number } | null; summary: { shots: number; seeds: number; accuracy_mean: number; accuracy_std: number }[];
      runs: unknown[];
    };
    assert.ok(report.zero_shot !== null && report.zero_shot.accuracy >= 0);
    assert.deepEqual(report.summary.map((s) => [s.shots, s.seeds]), [[1, 2], [2, 2]]);
    assert.equal(report.runs.length, 4);
    assert.match(readFileSync(plot, 'utf8'), /zero-shot/);
    const meta = await sharp(readFileSync(path.join(dir, 'fig.png'))).metadata();
    assert.equal(meta.format, 'png');
  });

  it('refuses shots larger than a class and bad option values', async () => {
    let r = await cli(fewShotCli, '--model', MODEL, '--train', path.join(dir, 'train.feats'), '--test', path.join(dir, 'test'),
      '--shots', '8', '--no-zero-shot');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /class "blue_sky" has 4 training images, fewer than 8 shots/);
    r = await cli(fewShotCli, '--train', path.join(dir, 'train.feats'), '--test', path.join(dir, 'test'), '--shots', '1,x');
    assert.equal(r.code, 2);
    r = await cli(fewShotCli, '--train', path.join(dir, 'train.feats'), '--test', path.join(dir, 'test'), '--plot', 'fig.png');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--plot must name an \.svg file/);
  });
});
