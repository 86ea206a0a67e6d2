// The bundled model (assets/models/default.safetensors, trained by clip-ts on the emoji set):
// within the size budget, stored as float16, shipped with its attribution, and doing its job —
// the demo's golden predictions, and "red apple" finding an apple in a freshly built and indexed
// emoji folder, with incremental re-indexing on real images (issue #9's acceptance test).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runDemo } from '../../src/cli/demo.js';
import { buildEmojiDataset } from '../../src/datasets/emoji.js';
import { indexDirectory } from '../../src/index/indexer.js';
import { searchByText } from '../../src/index/search.js';
import { ImageIndex } from '../../src/index/image-index.js';
import { DEFAULT_MODEL_FILE, loadModel } from '../../src/model/index.js';
import { assetPath } from '../../src/paths.js';
import { IndexedClipService } from '../../src/server/clip-service.js';
import { FileSource } from '../../src/weights/file-source.js';
import { readSafetensors } from '../../src/weights/safetensors.js';
import { tempDir } from '../train/helpers.js';

const file = assetPath(DEFAULT_MODEL_FILE);
const dir = tempDir('clip-ts-default-model-');

describe('the bundled model', () => {
  it('is a float16 safetensors file of at most 30 MB with its config and attribution', () => {
    assert.ok(statSync(file).size <= 30e6, `${statSync(file).size} bytes`);
    const source = new FileSource(file);
    try {
      const st = readSafetensors(source);
      const dtypes = new Set([...st.entries.values()].map((t) => t.dtype));
      assert.deepEqual([...dtypes].sort(), ['float16', 'float32']); // float32: logit_scale only
      assert.match(st.metadata.clip_ts_config, /"imageSize":64/);
    } finally {
      source.close();
    }
    const attribution = readFileSync(assetPath('models', 'ATTRIBUTION.txt'), 'utf8');
    for (const needle of ['CC-BY-4.0', 'Twitter Emoji', 'Noto Emoji', 'Fluent Emoji', 'Unicode']) assert.ok(attribution.includes(needle), needle);
  });

  it('gives the demo\'s recorded predictions on emoji in styles it never saw', async () => {
    const model = await loadModel();
    const results = await runDemo(model, assetPath('samples'));
    const top = Object.fromEntries(results.map((r) => [path.basename(r.image), r.predictions.map((p) => p.label)]));
    // Recorded when the model was shipped (assets/models/README.md): right on the rocket and the
    // dog, the true label second for the apple and the pizza.
    assert.equal(top['rocket.emojione-v1.png'][0], 'rocket');
    assert.equal(top['dog-face.fluent-color.png'][0], 'dog face');
    assert.ok(top['red-apple.openmoji.png'].includes('red apple'));
    assert.ok(top['pizza.noto-v1-blob.png'].includes('pizza'));
  });

  it('finds a red apple by text in an indexed emoji folder, and re-indexes incrementally', async () => {
    const labels = ['red apple', 'green apple', 'banana', 'pizza', 'dog face', 'rocket', 'sun', 'grinning face', 'cat face', 'automobile',
      'airplane', 'hamburger', 'birthday cake', 'red heart', 'crescent moon', 'cherries', 'tomato', 'strawberry'];
    const built = path.join(dir, 'built');
    await buildEmojiDataset(built, { styles: ['noto', 'twemoji', 'openmoji'], labels });
    const images = path.join(built, 'images');
    const db = path.join(dir, 'db');
    const first = await indexDirectory(images, db, {});
    assert.equal(first.added, 54);
    const index = await ImageIndex.open(db);
    const model = await loadModel();
    try {
      const hits = await searchByText(index, model, 'red apple', 5);
      assert.ok(hits.some((h) => path.basename(h.path) === '1f34e.png'), hits.map((h) => h.path).join(', '));
      assert.equal(path.basename(hits[0].path), '1f34e.png');
    } finally {
      await index.close();
    }
    // Add one file, remove two: only the new one is embedded.
    mkdirSync(path.join(images, 'extra'));
    copyFileSync(path.join(images, 'noto', '1f680.png'), path.join(images, 'extra', 'rocket-copy.png'));
    rmSync(path.join(images, 'twemoji', '1f34e.png'));
    rmSync(path.join(images, 'openmoji', '1f34e.png'));
    const second = await indexDirectory(images, db, {});
    assert.deepEqual([second.added, second.removed, second.unchanged], [1, 2, 52]);
    assert.ok(existsSync(db));
    // The server over this index classifies with the bundled model's own prompts by default.
    const service = await IndexedClipService.open({ dbPath: db, maxImagePixels: 1e6 });
    try {
      assert.equal(service.info().templates, 'emoji');
    } finally {
      await service.close();
    }
  });
});
