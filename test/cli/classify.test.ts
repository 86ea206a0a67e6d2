// `clip-ts classify`: the JSON and table outputs agree with the library, and bad input (duplicate
// or empty labels, a template without a placeholder, a missing image) fails with a clear message
// before any model is loaded.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { run as classify, type ImageClassification } from '../../src/cli/classify.js';
import { UsageError } from '../../src/cli/args.js';
import { loadLabelsFile, parseLabelList } from '../../src/eval/class-names.js';
import { fillTemplate, loadTemplatesFile, parseTemplatesText, resolveTemplates } from '../../src/eval/templates.js';
import { buildZeroShotClassifier } from '../../src/eval/zeroshot.js';
import { preprocessFile } from '../../src/image/index.js';
import { loadModelFile } from '../../src/model/load.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { captureOutput } from '../helpers/capture-output.js';

const MODEL = path.join(fixturesDir(), 'weights', 'tiny-vit.pt');
const IMAGES = ['chelsea_rgb.png', 'rocket_orig.jpg', 'coffee_tiny_50x30.png'].map((f) => path.join(fixturesDir(), 'images', f));
const LABELS = 'tabby cat,espresso,space shuttle,coffee mug';

/** Runs the command with its stdout captured. */
async function runClassify(argv: string[]): Promise<{ code: number; stdout: string }> {
  const { result, stdout } = await captureOutput(() => classify(argv));
  return { code: result, stdout };
}

describe('clip-ts classify', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-classify-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const file = (name: string, text: string): string => {
    const p = path.join(tmp, name);
    writeFileSync(p, text);
    return p;
  };

  it('--json: one object per image, top-K labels best first, as the library computes them', async () => {
    const { code, stdout } = await runClassify(['--model', MODEL, '--labels', LABELS, '--top', '3', '--json',
      '--cache-dir', tmp, '--quiet', ...IMAGES]);
    assert.equal(code, 0);
    const results = JSON.parse(stdout) as ImageClassification[];
    assert.deepEqual(results.map((r) => r.image), IMAGES);
    const model = loadModelFile(MODEL);
    const classifier = buildZeroShotClassifier(model, LABELS.split(','));
    for (const r of results) {
      assert.equal(r.predictions.length, 3);
      assert.deepEqual(Object.keys(r.predictions[0]), ['label', 'probability']);
      for (let i = 1; i < 3; i++) assert.ok(r.predictions[i - 1].probability >= r.predictions[i].probability);
      const expected = classifier.classify(model.embedImages(model.imageTensor(await preprocessFile(r.image, 224), 1)), 3)[0];
      assert.deepEqual(r.predictions.map((p) => p.label), expected.map((p) => p.label));
      r.predictions.forEach((p, i) => assert.ok(Math.abs(p.probability - expected[i].probability) < 1e-5));
    }
  });

  it('prints a table; a second run reads the prompts from the cache', async () => {
    const labels = file('labels.txt', 'tabby cat\nespresso\n');
    const { code, stdout } = await runClassify(['--model', MODEL, '--labels-file', labels, '--templates', 'simple',
      '--cache-dir', tmp, '--quiet', IMAGES[0]]);
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines[0], IMAGES[0]);
    assert.match(lines[1], /^ {3}1\. (tabby cat|espresso) +\d+\.\d\d %$/);
    assert.equal(lines.length, 3);
    const again = await runClassify(['--model', MODEL, '--labels-file', labels, '--templates', 'simple', '--cache-dir', tmp, '--quiet', IMAGES[0]]);
    assert.equal(again.stdout, stdout);
  });

  it('rejects duplicate and empty labels, naming them', async () => {
    await assert.rejects(runClassify(['--model', MODEL, '--labels', 'cat,dog,cat', IMAGES[0]]), /--labels item 3 of "cat,dog,cat": duplicate label "cat" \(first at --labels item 1/);
    await assert.rejects(runClassify(['--model', MODEL, '--labels', 'cat,,dog', IMAGES[0]]), /--labels item 2 of "cat,,dog": empty label/);
    const dup = file('dup.txt', 'cat\ndog\ncat\n');
    await assert.rejects(runClassify(['--model', MODEL, '--labels-file', dup, IMAGES[0]]), new RegExp(`${dup}:3: duplicate label "cat" \\(first at ${dup}:1\\)`));
    const blank = file('blank.txt', 'cat\n\ndog\n');
    await assert.rejects(runClassify(['--model', MODEL, '--labels-file', blank, IMAGES[0]]), new RegExp(`${blank}:2: empty label`));
    await assert.rejects(runClassify(['--model', MODEL, '--labels-file', path.join(tmp, 'nope.txt'), IMAGES[0]]), /cannot read labels file .*nope\.txt/);
    await assert.rejects(runClassify(['--model', MODEL, IMAGES[0]]), UsageError);
    await assert.rejects(runClassify(['--model', MODEL, '--labels', 'a,b', '--labels-file', dup, IMAGES[0]]), /only one of --labels, --labels-file and --classes/);
  });

  it('rejects a template without a placeholder, naming the file and line', async () => {
    const bad = file('templates.txt', '# prompts\na photo of a {}.\na photo of a cat.\n');
    await assert.rejects(runClassify(['--model', MODEL, '--labels', 'cat,dog', '--templates', bad, IMAGES[0]]),
      new RegExp(`${bad}:3: template "a photo of a cat\\." has no placeholder for the class name`));
    assert.throws(() => parseTemplatesText('["a {x} photo"]', 't.json'), /t\.json \(template 1\): template "a \{x\} photo" has an unknown placeholder "\{x\}"/);
    await assert.rejects(runClassify(['--model', MODEL, '--labels', 'cat', '--templates', 'no-such-set', IMAGES[0]]),
      /templates "no-such-set" is neither a file nor a built-in set \(imagenet, simple, emoji, Birdsnap/);
  });

  it('rejects a missing image by name', async () => {
    const missing = path.join(tmp, 'missing.jpg');
    await assert.rejects(runClassify(['--model', MODEL, '--labels', 'cat,dog', IMAGES[0], missing]), new RegExp(`image not found: ${missing}`));
    await assert.rejects(runClassify(['--model', MODEL, '--labels', 'cat,dog']), /give at least one IMAGE/);
  });
});

describe('templates and labels', () => {
  it('fills {} and {c}, keeps doubled braces literal', () => {
    assert.equal(fillTemplate('a photo of a {}.', 'cat'), 'a photo of a cat.');
    assert.equal(fillTemplate('{c} and {}', 'dog'), 'dog and dog');
    assert.equal(fillTemplate('{{{}}}', 'x'), '{x}');
  });

  it('knows the built-in sets', () => {
    assert.equal(resolveTemplates('imagenet').templates.length, 80);
    assert.deepEqual(resolveTemplates('simple').templates, ['a photo of a {}.']);
    assert.equal(resolveTemplates('cifar10').name, 'CIFAR10');
    assert.equal(resolveTemplates('cifar10').templates.length, 18);
  });

  it('reads template and label files as lines or JSON', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-templates-'));
    try {
      const t = path.join(tmp, 't.json');
      writeFileSync(t, '["a {} photo", "art of {c}"]');
      assert.deepEqual(loadTemplatesFile(t), ['a {} photo', 'art of {c}']);
      const l = path.join(tmp, 'l.json');
      writeFileSync(l, '["cat", ["happy", "smiling"]]');
      assert.deepEqual(loadLabelsFile(l), [{ label: 'cat', names: ['cat'] }, { label: 'happy', names: ['happy', 'smiling'] }]);
      assert.throws(() => parseTemplatesText('a {}\na {}\n', 'x.txt'), /x\.txt:2: template "a \{\}" repeats line 1/);
      assert.deepEqual(parseLabelList(' cat , dog '), [{ label: 'cat', names: ['cat'] }, { label: 'dog', names: ['dog'] }]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
