// The emoji dataset builder: the class list, per-style coverage and captions agree with the
// published dataset (README of shared/datasets/emoji) on a metadata-only pass, and a small rendered
// subset has the documented layout (RGB squares on white, index files, attribution).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { buildEmojiDataset, csvField, planEmojiDataset, type EmojiDatasetPlan } from '../../src/datasets/emoji.js';
import { EMOJI_STYLES, emojiClasses, iconNameCandidates, iconSlug, selectStyles } from '../../src/datasets/emoji-sources.js';
import { parseCsv } from '../../src/eval/labelled-images.js';

describe('emoji classes and slugs', () => {
  it('slugs follow the icon sets\' naming', () => {
    assert.equal(iconSlug('grinning face'), 'grinning-face');
    assert.equal(iconSlug('Piñata'), 'pinata');
    assert.equal(iconSlug('man’s shoe'), 'mans-shoe');
    assert.equal(iconSlug('flag: Côte d’Ivoire'), 'flag-cote-divoire');
    assert.equal(iconSlug('flag: Bosnia & Herzegovina'), 'flag-bosnia-herzegovina');
    assert.equal(iconSlug('UP! button'), 'up-button');
    assert.deepEqual(iconNameCandidates('flag: Japan'), ['flag-japan', 'flag-for-japan', 'flag-for-flag-japan']);
  });

  it('classes are base emoji with unique labels and CLDR captions', () => {
    const classes = emojiClasses();
    const labels = new Set(classes.map((c) => c.label));
    assert.equal(labels.size, classes.length);
    const grinning = classes.find((c) => c.label === 'grinning face');
    assert.ok(grinning !== undefined);
    assert.equal(grinning.caption, 'grinning face: cheerful, cheery, face, grin, grinning, happy, laugh, nice, smile, smiling, teeth');
    assert.equal(grinning.group, 'smileys-emotion');
    assert.equal(grinning.hexcode, '1F600');
    // `keycap: #` and `keycap: *` share the slug `keycap` and are dropped; the digits stay.
    assert.ok(!labels.has('keycap: #') && !labels.has('keycap: *'));
    assert.ok(labels.has('keycap: 0'));
    // Components (skin-tone swatches, hair styles) and skin-tone variants are not classes.
    assert.ok(!labels.has('red hair'));
    assert.ok(!classes.some((c) => c.group === 'component'));
    assert.ok(!classes.some((c) => /skin tone/.test(c.label)));
  });

  it('unknown styles are an error that lists the styles', () => {
    assert.throws(() => selectStyles(['noto', 'comic-sans']), /unknown emoji style "comic-sans" \(styles: noto, twemoji/);
  });
});

describe('emoji dataset, metadata only (all styles)', () => {
  let plan: EmojiDatasetPlan;
  before(() => {
    plan = planEmojiDataset();
  });

  it('has the published counts', () => {
    const perStyle = Object.fromEntries(plan.styles.map((s) => [s.style, s.images]));
    assert.equal(plan.classes.length, 1909);
    assert.equal(plan.classesAllStyles.length, 894);
    assert.equal(plan.rows.length, 12496);
    assert.deepEqual(perStyle, {
      noto: 1651, twemoji: 1897, openmoji: 1909, 'fluent-flat': 1562, 'fluent-color': 1562, 'fluent-mono': 1562,
      'noto-v1-blob': 1225, 'emojione-v1': 1128,
    });
    const stylesPerClass = new Map<string, number>();
    for (const r of plan.rows) stylesPerClass.set(r.label, (stylesPerClass.get(r.label) ?? 0) + 1);
    const histogram = new Map<number, number>();
    for (const n of stylesPerClass.values()) histogram.set(n, (histogram.get(n) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries([...histogram].sort((a, b) => b[0] - a[0])), { 8: 894, 7: 277, 6: 391, 5: 22, 4: 36, 3: 239, 2: 38, 1: 12 });
  });

  it('has the published per-group class counts', () => {
    const groupOf = new Map(plan.rows.map((r) => [r.label, r.group]));
    const all = new Set(plan.classesAllStyles);
    const count = (g: string, inAll: boolean): number => plan.classes.filter((l) => groupOf.get(l) === g && (!inAll || all.has(l))).length;
    const groups: [string, number, number][] = [
      ['smileys-emotion', 171, 96], ['people-body', 388, 69], ['animals-nature', 160, 88], ['food-drink', 131, 63],
      ['travel-places', 219, 179], ['activities', 85, 49], ['objects', 266, 176], ['symbols', 222, 174], ['flags', 267, 0],
    ];
    for (const [g, classes, inAll] of groups) {
      assert.equal(count(g, false), classes, `${g} classes`);
      assert.equal(count(g, true), inAll, `${g} classes in all styles`);
    }
  });

  it('orders rows by style, then emoji order, with the licences of the sets', () => {
    assert.deepEqual([...new Set(plan.rows.map((r) => r.style))], EMOJI_STYLES.map((s) => s.style));
    assert.deepEqual(plan.rows[0], {
      filepath: 'images/noto/1f600.png', label: 'grinning face',
      caption: 'grinning face: cheerful, cheery, face, grin, grinning, happy, laugh, nice, smile, smiling, teeth',
      style: 'noto', licence: 'Apache-2.0', hexcode: '1F600', emoji: '😀', group: 'smileys-emotion', subgroup: 'face-smiling',
      tags: ['cheerful', 'cheery', 'face', 'grin', 'grinning', 'happy', 'laugh', 'nice', 'smile', 'smiling', 'teeth'],
    });
    const licences = Object.fromEntries(plan.styles.map((s) => [s.style, s.licence]));
    assert.deepEqual(licences, {
      noto: 'Apache-2.0', twemoji: 'CC-BY-4.0', openmoji: 'CC-BY-SA-4.0', 'fluent-flat': 'MIT', 'fluent-color': 'MIT',
      'fluent-mono': 'MIT', 'noto-v1-blob': 'Apache-2.0', 'emojione-v1': 'CC-BY-SA-4.0',
    });
    // Flags only in twemoji, openmoji and emojione-v1 (country flags: 255, 267, 208 with the few others).
    const flagsIn = (style: string): number => plan.rows.filter((r) => r.style === style && r.group === 'flags').length;
    assert.equal(flagsIn('openmoji'), 267);
  });
});

describe('emoji dataset, rendered subset', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-emoji-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('renders RGB squares on white with the index files', async () => {
    const result = await buildEmojiDataset(out, { size: 32, styles: ['twemoji', 'openmoji'], classesLimit: 4, jobs: 2 });
    assert.equal(result.rows.length, 8);
    assert.deepEqual(result.failures, []);
    assert.deepEqual(readdirSync(path.join(out, 'images')).sort(), ['openmoji', 'twemoji']);
    for (const r of result.rows) {
      const meta = await sharp(path.join(out, r.filepath)).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, 32);
      assert.equal(meta.height, 32);
      assert.equal(meta.channels, 3, `${r.filepath} is RGB`);
    }
    // The corner of a padded emoji is the white background.
    const { data } = await sharp(path.join(out, 'images/twemoji/1f600.png')).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([...data.subarray(0, 3)], [255, 255, 255]);

    const csv = parseCsv(readFileSync(path.join(out, 'labels.csv'), 'utf8'));
    assert.deepEqual(csv[0].fields, ['filepath', 'caption', 'label', 'style', 'group']);
    assert.deepEqual(csv.slice(1).map((r) => r.fields), result.rows.map((r) => [r.filepath, r.caption, r.label, r.style, r.group]));
    const jsonl = readFileSync(path.join(out, 'metadata.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(jsonl.length, 8);
    assert.equal(jsonl[0].licence, 'CC-BY-4.0');
    assert.equal(readFileSync(path.join(out, 'classes.txt'), 'utf8'), 'grinning face\ngrinning face with big eyes\ngrinning face with smiling eyes\nbeaming face with smiling eyes\n');
    assert.equal(readFileSync(path.join(out, 'classes_all_styles.txt'), 'utf8').split('\n').length - 1, 4);
    const attribution = readFileSync(path.join(out, 'ATTRIBUTION.txt'), 'utf8');
    assert.match(attribution, /twemoji: 4 images\. .*licence CC-BY-4\.0/);
    assert.match(attribution, /openmoji: 4 images\. .*licence CC-BY-SA-4\.0/);
    assert.match(attribution, /Unicode License v3/);
    assert.ok(existsSync(path.join(out, 'duplicate_images.tsv')));
    assert.ok(!readdirSync(path.join(out, 'images')).some((n) => n.startsWith('.')), 'no staging folder left');
  });

  it('a rebuild replaces the styles it renders and gives the same files', async () => {
    const before = readFileSync(path.join(out, 'images/openmoji/1f600.png'));
    await buildEmojiDataset(out, { size: 32, styles: ['openmoji'], classesLimit: 2, jobs: 1 });
    assert.deepEqual(readdirSync(path.join(out, 'images', 'openmoji')).sort(), ['1f600.png', '1f603.png']);
    assert.deepEqual(readFileSync(path.join(out, 'images/openmoji/1f600.png')), before);
    assert.equal(readFileSync(path.join(out, 'labels.csv'), 'utf8').trim().split('\n').length, 3);
  });

  it('quotes CSV fields that need it', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a, b'), '"a, b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
  });
});
