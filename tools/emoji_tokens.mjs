#!/usr/bin/env node
// Pre-tokenised data for tools/train_emoji_torch.py (tools/README.md, section
// "train_emoji_torch.py (training)"): the PyTorch peer of clip-ts's emoji training run has no ftfy
// and no clip-ts tokenizer, so this script reads the emoji set with clip-ts's own (compiled) readers
// and tokenizer and writes everything the Python side needs as raw little-endian arrays plus an
// index.json that describes them:
//
//   train_tokens.bin  int32 [pairs, variants, 77]  every caption variant of every training row
//                     (captions.jsonl rows whose style is a training style, in file order)
//   epoch_orders.bin  uint32 [epochs, pairs]       clip-ts's epoch permutations (epochOrder)
//   crop_boxes.bin    int32 [epochs, pairs, 4]     clip-ts's random-resized-crop boxes
//                     (left, top, width, height) of sample i in epoch e, from SeededRandom(seed, e, i)
//   prompt_tokens.bin int32 [classes, templates, 77]  zero-shot prompts (template x class name)
//   val_tokens.bin    int32 [val pairs, 77]        first caption of each held-out pair
//
// Usage: node tools/emoji_tokens.mjs --data data/emoji --out DIR [--seed 0] [--epochs 24]
//          [--train-styles noto,twemoji,fluent-flat]
//          [--eval-styles openmoji,fluent-color,fluent-mono,noto-v1-blob,emojione-v1]
//          [--classes classes_all_styles.txt] [--templates emoji] [--val-style openmoji] [--val-max 1000]
// Needs dist/ (npm run build); reads nothing else outside the data folder.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const dist = (p) => new URL(`../dist/src/${p}`, import.meta.url).href;
const { tokenize } = await import(dist('text/index.js'));
const { readCaptionTable } = await import(dist('train/caption-table.js'));
const { parseSampleFilter, captionFor, datasetFingerprint } = await import(dist('train/pair-dataset.js'));
const { readLabelledSource, parseRowFilter } = await import(dist('eval/labelled-table.js'));
const { resolveTemplates, fillTemplate } = await import(dist('eval/templates.js'));
const { epochOrder } = await import(dist('train/data.js'));
const { SeededRandom, randomResizedCropBox } = await import(dist('image/index.js'));

const { values: a } = parseArgs({
  options: {
    data: { type: 'string', default: 'data/emoji' },
    out: { type: 'string' },
    seed: { type: 'string', default: '0' },
    epochs: { type: 'string', default: '24' },
    'train-styles': { type: 'string', default: 'noto,twemoji,fluent-flat' },
    'eval-styles': { type: 'string', default: 'openmoji,fluent-color,fluent-mono,noto-v1-blob,emojione-v1' },
    classes: { type: 'string', default: 'classes_all_styles.txt' },
    templates: { type: 'string', default: 'emoji' },
    'val-style': { type: 'string', default: 'openmoji' },
    'val-max': { type: 'string', default: '1000' },
    'context-length': { type: 'string', default: '77' },
  },
});
if (a.out === undefined) {
  process.stderr.write('usage: node tools/emoji_tokens.mjs --data DIR --out DIR [--seed N] [--epochs N] ...\n');
  process.exit(2);
}
const seed = Number(a.seed);
const epochs = Number(a.epochs);
const valMax = Number(a['val-max']);
const L = Number(a['context-length']);
const dataDir = path.resolve(a.data);
const outDir = path.resolve(a.out);
mkdirSync(outDir, { recursive: true });
const captionsFile = path.join(dataDir, 'captions.jsonl');
const labelsFile = path.join(dataDir, 'labels.csv');
const classesFile = path.resolve(dataDir, a.classes);

const tok = (texts) => tokenize(texts, { contextLength: L, truncate: true }).ids;
const write = (name, typed) => writeFileSync(path.join(outDir, name), Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength));
const rel = (p) => path.relative(dataDir, p);

// Training rows: exactly what `clip-ts train --data captions.jsonl --caption-column captions
// --filter style=...` reads (same reader, same filter, same order).
const train = readCaptionTable(captionsFile, { captionColumn: 'captions', filters: [parseSampleFilter(`style=${a['train-styles']}`)] });
const variants = Math.max(...train.map((s) => (s.captions ?? [s.caption]).length));
const trainTokens = new Int32Array(train.length * variants * L);
const variantCounts = [];
train.forEach((s, i) => {
  const all = s.captions ?? [s.caption];
  variantCounts.push(all.length);
  trainTokens.set(tok(all), i * variants * L);
});
write('train_tokens.bin', trainTokens);

// The epoch orders and crop boxes clip-ts uses (data.ts epochOrder; sample-decoder.ts seeds the
// crop of sample i in epoch e with SeededRandom(seed, e, i); the images are 64 x 64 but the box is
// computed from each image's size, which is checked on the Python side).
const n = train.length;
const orders = new Uint32Array(epochs * n);
const boxes = new Int32Array(epochs * n * 4);
for (let e = 0; e < epochs; e++) {
  orders.set(epochOrder(n, seed, e), e * n);
  for (let i = 0; i < n; i++) {
    const b = randomResizedCropBox(64, 64, new SeededRandom(seed, e, i), { scale: [0.9, 1], ratio: [3 / 4, 4 / 3] });
    boxes.set([b.left, b.top, b.width, b.height], (e * n + i) * 4);
  }
}
write('epoch_orders.bin', orders);
write('crop_boxes.bin', boxes);

// Which variant clip-ts's captionFor picks, for a few (epoch, index), so the Python side can check
// its own sha256 choice against it.
const captionCheck = [];
for (const e of [0, 1, Math.max(0, epochs - 1)]) {
  for (const i of [0, 1, 2, 3, 7, n - 1]) {
    const s = train[i];
    captionCheck.push({ epoch: e, index: i, variant: (s.captions ?? [s.caption]).indexOf(captionFor(s, seed, e, i)) });
  }
}

// Zero-shot set: `--eval-zeroshot labels.csv --eval-filter style=... --eval-filter label=@classes`.
const zs = readLabelledSource(labelsFile, { filters: [parseRowFilter(`style=${a['eval-styles']}`), parseRowFilter(`label=@${classesFile}`)] });
const templates = resolveTemplates(a.templates);
// The prompt name of a class as evaluateZeroShot makes it (defaultClassName: `_` read as a space).
const className = (label) => label.replace(/_/g, ' ').trim();
const prompts = zs.classes.flatMap((c) => templates.templates.map((t) => fillTemplate(t, className(c))));
write('prompt_tokens.bin', tok(prompts));

// Held-out pairs: `--val-data captions.jsonl --val-filter style=openmoji --val-max N` (clip-ts
// spreads them: every n-th so that at most N remain), first caption of each.
const valAll = readCaptionTable(captionsFile, { captionColumn: 'captions', filters: [parseSampleFilter(`style=${a['val-style']}`)] });
const val = [];
if (valAll.length <= valMax) val.push(...valAll);
else for (let i = 0; i < valMax; i++) val.push(valAll[Math.floor((i * valAll.length) / valMax)]);
write('val_tokens.bin', tok(val.map((s) => s.caption)));

const index = {
  format: 'clip-ts-emoji-tokens', version: 1, context_length: L, seed, epochs,
  data: dataDir, fingerprint: datasetFingerprint(train),
  train: {
    file: 'train_tokens.bin', dtype: 'int32', shape: [n, variants, L], styles: a['train-styles'].split(','),
    images: train.map((s) => rel(s.image.path)), variant_counts: variantCounts,
  },
  epoch_orders: { file: 'epoch_orders.bin', dtype: 'uint32', shape: [epochs, n] },
  crop_boxes: { file: 'crop_boxes.bin', dtype: 'int32', shape: [epochs, n, 4], image_size: [64, 64], scale: [0.9, 1], ratio: [3 / 4, 4 / 3] },
  caption_check: captionCheck,
  zeroshot: {
    file: 'prompt_tokens.bin', dtype: 'int32', shape: [zs.classes.length, templates.templates.length, L],
    classes: zs.classes, templates_name: templates.name, templates: templates.templates, styles: a['eval-styles'].split(','),
    images: zs.items.map((it) => rel(it.path)), labels: zs.items.map((it) => it.label),
  },
  val: {
    file: 'val_tokens.bin', dtype: 'int32', shape: [val.length, L], style: a['val-style'], max: valMax,
    images: val.map((s) => rel(s.image.path)), captions: val.map((s) => s.caption),
  },
};
writeFileSync(path.join(outDir, 'index.json'), JSON.stringify(index) + '\n');
process.stderr.write(`emoji_tokens: ${n} training pairs x ${variants} captions, ${epochs} epoch orders, ` +
  `${zs.classes.length} classes x ${templates.templates.length} templates (${zs.items.length} zero-shot images), ${val.length} held-out pairs -> ${outDir}\n`);
