// clip-ts embed end to end: files in, OpenAI-identical vectors out.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCliCaptured } from '../helpers/capture-output.js';
import { fixtureEntry, fixturesDir, readFixture } from '../helpers/fixtures.js';

async function quietly(argv: string[]): Promise<{ code: number; stderr: string }> {
  const r = await runCliCaptured(argv);
  return { code: r.code, stderr: r.stderr };
}

describe('clip-ts embed', () => {
  const model = path.join(fixturesDir(), 'weights', 'tiny-vit.pt');
  const image = path.join(fixturesDir(), 'images', 'chelsea_rgb.png');
  const dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-embed-'));

  it('writes encode_image / encode_text vectors that match the reference', async () => {
    const out = path.join(dir, 'e.json');
    const r = await quietly(['embed', '--model', model, '--image', image, '--text', 'a photo of a cat', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const got = JSON.parse(readFileSync(out, 'utf8')) as { image: number[][]; text: number[][] };
    const tol = (name: string): number => fixtureEntry(name).tolerance.atol;
    const refImage = readFixture('models/tiny-vit/image_features').subarray(0, 64);
    const refText = readFixture('models/tiny-vit/text_features').subarray(0, 64);
    assert.equal(got.image[0].length, 64);
    got.image[0].forEach((v, i) => assert.ok(Math.abs(v - refImage[i]) <= tol('models/tiny-vit/image_features')));
    got.text[0].forEach((v, i) => assert.ok(Math.abs(v - refText[i]) <= tol('models/tiny-vit/text_features')));
  });

  it('--normalize gives unit vectors', async () => {
    const out = path.join(dir, 'n.json');
    assert.equal((await quietly(['embed', '--model', model, '--text', 'a dog', '--text', 'a cat', '--normalize', '--out', out])).code, 0);
    const got = JSON.parse(readFileSync(out, 'utf8')) as { image: number[][]; text: number[][] };
    assert.equal(got.image.length, 0);
    for (const v of got.text) assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
  });

  it('bad input: a clear error, exit non-zero, no output file', async () => {
    const out = path.join(dir, 'bad.json');
    const missing = await quietly(['embed', '--model', model, '--image', path.join(dir, 'nope.png'), '--out', out]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.png/);
    assert.equal(existsSync(out), false);
    const usage = await quietly(['embed', '--model', model, '--out', out]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /at least one --image or --text/);
    const noModel = await quietly(['embed', '--model', path.join(dir, 'none.pt'), '--text', 'x', '--out', out]);
    assert.equal(noModel.code, 1);
    assert.match(noModel.stderr, /none\.pt: no such file, and not a known model name/);
  });
});
