// Several captions per image: JSONL caption lists, the per-epoch choice of one, filters read from
// a file, and the emoji set's caption variants and prompt templates.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CAPTION_VARIANTS, emojiCaptionVariants } from '../../src/datasets/emoji-captions.js';
import { EMOJI_TEMPLATES, resolveTemplates } from '../../src/eval/templates.js';
import { readCaptionTable } from '../../src/train/caption-table.js';
import { captionFor, datasetFingerprint, parseSampleFilter } from '../../src/train/pair-dataset.js';
import { parseRowFilter } from '../../src/eval/labelled-table.js';
import { tempDir } from './helpers.js';

const dir = tempDir('clip-ts-captions-');

describe('caption lists', () => {
  it('reads a JSONL list as several captions and names bad entries', () => {
    const file = path.join(dir, 'pairs.jsonl');
    writeFileSync(file, [
      JSON.stringify({ filepath: 'a.png', captions: ['first a', 'second a', 'third a'] }),
      JSON.stringify({ filepath: 'b.png', captions: 'only b' }),
    ].join('\n') + '\n');
    const pairs = readCaptionTable(file, { captionColumn: 'captions' });
    assert.equal(pairs.length, 2);
    assert.equal(pairs[0].caption, 'first a');
    assert.deepEqual(pairs[0].captions, ['first a', 'second a', 'third a']);
    assert.equal(pairs[1].caption, 'only b');
    assert.equal(pairs[1].captions, undefined);
    writeFileSync(file, JSON.stringify({ filepath: 'a.png', captions: ['ok', 7] }) + '\n');
    assert.throws(() => readCaptionTable(file, { captionColumn: 'captions' }), /pairs\.jsonl line 1: missing or empty "captions"\[1\] for a\.png \(not a string\)/);
    writeFileSync(file, JSON.stringify({ filepath: 'a.png', captions: [] }) + '\n');
    assert.throws(() => readCaptionTable(file, { captionColumn: 'captions' }), /line 1: "captions" is an empty list for a\.png/);
  });

  it('draws one caption per (seed, epoch, index), the same on every call, using all of them over epochs', () => {
    const sample = { image: { kind: 'file' as const, path: 'a.png' }, caption: 'c0', captions: ['c0', 'c1', 'c2', 'c3'], key: 'a.png', where: 'x' };
    const seen = new Set<string>();
    for (let epoch = 0; epoch < 64; epoch++) {
      const c = captionFor(sample, 0, epoch, 5);
      assert.equal(captionFor(sample, 0, epoch, 5), c);
      seen.add(c);
    }
    assert.equal(seen.size, 4);
    assert.equal(captionFor({ ...sample, captions: undefined }, 0, 3, 5), 'c0');
    // The fingerprint sees every caption, so resuming on changed variants is caught.
    assert.notEqual(datasetFingerprint([sample]), datasetFingerprint([{ ...sample, captions: ['c0', 'c1', 'c2', 'cX'] }]));
    assert.equal(datasetFingerprint([{ ...sample, captions: undefined }]), datasetFingerprint([{ ...sample, captions: undefined }]));
  });

  it('takes filter values from a file, one per line (values may contain commas)', () => {
    const list = path.join(dir, 'labels.txt');
    writeFileSync(list, 'family: man, woman, boy\nred apple\n\n');
    assert.deepEqual(parseRowFilter(`label=@${list}`).values, ['family: man, woman, boy', 'red apple']);
    const f = parseSampleFilter(`label!=@${list}`);
    assert.equal(f.negate, true);
    assert.deepEqual(f.values, ['family: man, woman, boy', 'red apple']);
    assert.throws(() => parseRowFilter(`label=@${path.join(dir, 'missing.txt')}`), /cannot read .*missing\.txt/);
    writeFileSync(list, '\n');
    assert.throws(() => parseRowFilter(`label=@${list}`), /lists no values/);
  });
});

describe('emoji caption variants', () => {
  const row = { filepath: 'images/noto/1f34e.png', label: 'red apple', caption: 'red apple: apple, fruit, red', tags: ['apple', 'fruit', 'red'] };

  it('starts with the published caption and the name, wraps the name in every emoji template, and is deterministic', () => {
    const v = emojiCaptionVariants(row);
    assert.equal(v.length, CAPTION_VARIANTS);
    assert.equal(v[0], row.caption);
    assert.equal(v[1], 'red apple');
    for (const t of EMOJI_TEMPLATES) assert.ok(v.includes(t.replace('{}', 'red apple')), t);
    assert.deepEqual(emojiCaptionVariants(row), v);
    for (const c of v.slice(2 + EMOJI_TEMPLATES.length - 1)) {
      const words = c.replace(/^red apple: /, '').split(', ');
      for (const w of words) assert.ok(row.tags.includes(w), `${c}: ${w} is a keyword`);
    }
    // An emoji without keywords still gets CAPTION_VARIANTS captions.
    assert.equal(emojiCaptionVariants({ ...row, tags: [], caption: 'red apple' }).length, CAPTION_VARIANTS);
  });

  it('is a built-in template set', () => {
    assert.deepEqual(resolveTemplates('emoji').templates, [...EMOJI_TEMPLATES]);
  });
});
