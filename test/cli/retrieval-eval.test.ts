// clip-ts retrieval-eval: several captions per image (repeated rows, JSONL lists), recall figures
// equal to ranking the features by hand, bad images skipped and reported, bad tables named.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { createModel, saveModel } from '../../src/model/index.js';
import { preprocessFile } from '../../src/image/index.js';
import { Tensor } from '../../src/tensor/index.js';
import { tokenize } from '../../src/text/index.js';
import { retrievalRecall } from '../../src/train/retrieval.js';
import { runCliCaptured } from '../helpers/capture-output.js';
import { E2E_CONFIG, tempDir } from '../train/helpers.js';

const dir = tempDir('clip-ts-retrieval-');
const modelPath = path.join(dir, 'model.safetensors');
const colours: [string, [number, number, number]][] = [['red', [220, 30, 30]], ['green', [30, 200, 40]], ['blue', [20, 40, 230]], ['yellow', [240, 230, 20]]];

async function setUp(): Promise<void> {
  saveModel(createModel(E2E_CONFIG, 3), modelPath);
  for (const [name, rgb] of colours) {
    await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toFile(path.join(dir, `${name}.png`));
  }
  writeFileSync(path.join(dir, 'broken.png'), 'not a png');
}

describe('clip-ts retrieval-eval', () => {
  it('scores every caption of every image as the hand-computed ranking does', async () => {
    await setUp();
    const table = colours.map(([n]) => JSON.stringify({ filepath: `${n}.png`, captions: [`a ${n} square`, `${n}`] })).join('\n') + '\n';
    writeFileSync(path.join(dir, 'pairs.jsonl'), table);
    const r = await runCliCaptured(['retrieval-eval', '--model', modelPath, '--data', path.join(dir, 'pairs.jsonl'), '--caption-column', 'captions', '--json', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { images: number; captions: number; pairs: number; imageToText: Record<string, number>; textToImage: Record<string, number> };
    assert.equal(report.images, 4);
    assert.equal(report.captions, 8);
    assert.equal(report.pairs, 8);
    // Recall@10 covers every candidate here.
    assert.equal(report.imageToText['10'], 100);
    assert.equal(report.textToImage['10'], 100);

    // The same figures from features computed directly.
    const { loadModelFile } = await import('../../src/model/index.js');
    const model = loadModelFile(modelPath);
    const pixels = new Float32Array(4 * 3 * 32 * 32);
    for (let i = 0; i < 4; i++) pixels.set(await preprocessFile(path.join(dir, `${colours[i][0]}.png`), 32), i * 3 * 32 * 32);
    const img = model.embedImages(new Tensor(pixels, [4, 3, 32, 32]));
    const texts = colours.flatMap(([n]) => [`a ${n} square`, n]);
    const txt = model.embedTexts(tokenize(texts, { contextLength: 77 }).ids);
    const links = texts.map((_, t) => [Math.floor(t / 2), t] as [number, number]);
    const expected = retrievalRecall(img, txt, links, [1, 5, 10]);
    for (const k of [1, 5, 10]) {
      assert.ok(Math.abs(report.imageToText[k] - expected.imageToText[k]) < 1e-9, `i2t@${k}`);
      assert.ok(Math.abs(report.textToImage[k] - expected.textToImage[k]) < 1e-9, `t2i@${k}`);
    }

    // --first-caption keeps one caption per image.
    const first = await runCliCaptured(['retrieval-eval', '--model', modelPath, '--data', path.join(dir, 'pairs.jsonl'), '--caption-column', 'captions', '--json', '--quiet', '--first-caption']);
    assert.equal((JSON.parse(first.stdout) as { captions: number }).captions, 4);
  });

  it('groups repeated CSV rows into one image, skips undecodable images and names bad tables', async () => {
    const csv = ['filepath,caption,kind', 'red.png,a red square,a', 'red.png,red,a', 'green.png,a green square,b', 'broken.png,garbage,a', 'blue.png,a blue square,a'].join('\n') + '\n';
    writeFileSync(path.join(dir, 'pairs.csv'), csv);
    const r = await runCliCaptured(['retrieval-eval', '--model', modelPath, '--data', path.join(dir, 'pairs.csv'), '--filter', 'kind=a', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^2 images, 3 captions, 3 pairs/);
    assert.match(r.stdout, /image -> text/);
    assert.match(r.stdout, /1 images skipped: .*broken\.png/);

    writeFileSync(path.join(dir, 'bad.csv'), 'filepath,text\nred.png,x\n');
    const bad = await runCliCaptured(['retrieval-eval', '--model', modelPath, '--data', path.join(dir, 'bad.csv')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.csv: no column "caption"/);
    const usage = await runCliCaptured(['retrieval-eval', '--model', modelPath]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--data TABLE is required/);
  });
});
