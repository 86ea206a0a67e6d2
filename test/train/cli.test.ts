// The command's option handling, presets and configs, and a fine-tune of part of a saved model on
// WebDataset shards with gradient caching and a held-out fraction.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { UsageError } from '../../src/cli/args.js';
import { run } from '../../src/cli/train.js';
import { createModel, loadModelFile, saveModel } from '../../src/model/index.js';
import { presetConfig, presetNames, resolveConfig, validateConfig } from '../../src/train/presets.js';
import { E2E_CONFIG, tempDir } from './helpers.js';
import { makeTar, type TarEntry } from './tar-writer.js';

const dir = tempDir();

describe('clip-ts train options', () => {
  it('rejects incomplete or contradictory options before reading anything', async () => {
    await assert.rejects(() => run(['--data', 'x.csv', '--preset', 'tiny-vit-32']), (e: Error) => e instanceof UsageError && /--out DIR is required/.test(e.message));
    await assert.rejects(() => run(['--out', dir, '--preset', 'tiny-vit-32']), /--data SRC is required/);
    await assert.rejects(() => run(['--out', dir, '--data', 'x.csv', '--preset', 'tiny-vit-32', '--init', 'm']), /exactly one of --preset/);
    await assert.rejects(() => run(['--out', dir, '--data', 'x.csv', '--preset', 'tiny-vit-32', '--steps', '3', '--epochs', '2']), /--steps or --epochs/);
    await assert.rejects(() => run(['--out', dir, '--data', 'x.csv', '--preset', 'tiny-vit-32', '--batch-size', '1']), /--batch-size must be at least 2/);
    await assert.rejects(() => run(['--out', dir, '--data', 'x.csv', '--preset', 'tiny-vit-32', '--filter', 'style']), /--filter: .*COLUMN=VALUE/);
  });

  it('knows the paper\'s architectures and small ones, and checks JSON configs field by field', () => {
    for (const name of ['ViT-B/32', 'vit-b/16', 'ViT-L/14', 'RN50', 'RN101', 'RN50x4', 'tiny-vit-32', 'tiny-vit-64', 'tiny-rn-64']) {
      assert.ok(presetConfig(name) !== undefined, name);
    }
    assert.equal(presetNames().length, 9);
    // Small presets build, with heads = width / 64 so saved models read back the same.
    for (const name of ['tiny-vit-32', 'tiny-vit-64', 'tiny-rn-64']) {
      const c = presetConfig(name);
      assert.ok(c !== undefined);
      if (c.vision.kind === 'vit') assert.equal(c.vision.heads, c.vision.width / 64);
      assert.equal(c.text.heads, c.text.width / 64);
    }
    assert.throws(() => resolveConfig('no-such-preset'), /neither a preset .* nor a readable JSON config/);
    const bad = { ...E2E_CONFIG, vision: { ...E2E_CONFIG.vision, patchSize: 7 } };
    assert.throws(() => validateConfig(bad, 'c.json'), /c\.json: vision\.imageSize 32 is not a multiple of vision\.patchSize 7/);
    assert.throws(() => validateConfig({ ...E2E_CONFIG, embedDim: 0 }, 'c.json'), /c\.json: embedDim must be a positive integer/);
    assert.deepEqual(validateConfig(JSON.parse(JSON.stringify(E2E_CONFIG)), 'c.json'), E2E_CONFIG);
  });
});

describe('clip-ts train: fine-tuning the image tower on tar shards', () => {
  it('updates only the selected parameters and keeps the rest bit for bit', async () => {
    // 20 plain-colour images with their colour as caption, in two shards.
    const colours = ['red', 'green', 'blue', 'yellow', 'black', 'white', 'purple', 'orange', 'pink', 'grey'];
    const entries: TarEntry[][] = [[], []];
    for (let i = 0; i < 20; i++) {
      const c = colours[i % 10];
      const png = await sharp({ create: { width: 30 + i, height: 30, channels: 3, background: c === 'grey' ? '#888888' : c } }).png().toBuffer();
      entries[i % 2].push({ name: `s/${String(i).padStart(6, '0')}.png`, data: new Uint8Array(png) }, { name: `s/${String(i).padStart(6, '0')}.txt`, data: `a ${c} square` });
    }
    writeFileSync(path.join(dir, 'colours-0.tar'), makeTar(entries[0]));
    writeFileSync(path.join(dir, 'colours-1.tar'), makeTar(entries[1]));
    const init = path.join(dir, 'init.safetensors');
    saveModel(createModel(E2E_CONFIG, 1), init);
    const out = path.join(dir, 'ft');
    const code = await run([
      '--out', out, '--init', init, '--data', path.join(dir, 'colours-{0..1}.tar'), '--train-only', 'visual.',
      '--val-fraction', '0.2', '--batch-size', '8', '--chunk', '3', '--steps', '2', '--lr', '1e-3',
      '--workers', '0', '--quiet',
    ]);
    assert.equal(code, 0);
    const before = loadModelFile(init).params;
    const after = loadModelFile(path.join(out, 'model.safetensors')).params;
    let changedVisual = 0;
    for (const [name, t] of after.entries()) {
      const same = t.data.every((v, i) => v === before.get(name).data[i]);
      if (name.startsWith('visual.')) changedVisual += same ? 0 : 1;
      else assert.ok(same, `${name} changed although only visual.* is trained`);
    }
    assert.ok(changedVisual > 10, `${changedVisual} image-tower tensors changed`);
    const evalRows = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; step: number; image_to_text_r1?: number });
    const last = evalRows.filter((r) => r.kind === 'eval').pop();
    assert.equal(last?.step, 2);
    assert.equal(typeof last?.image_to_text_r1, 'number');
  });
});
