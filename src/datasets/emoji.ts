// The multi-style emoji image–caption dataset: the same emoji classes drawn in up to eight
// open-licensed art styles, each image paired with a caption made of its CLDR name and keywords.
// Built offline from the npm packages installed with clip-ts (see emoji-sources.ts).
//
// Layout of the output folder:
//   images/<style>/<hexcode>.png  RGB on white, size x size, artwork centred and padded to square
//   labels.csv                    filepath,caption,label,style,group
//   metadata.jsonl                the same rows plus licence, hexcode, emoji, subgroup, tags
//   captions.jsonl                training caption variants per image (emoji-captions.ts)
//   classes.txt                   every label with at least one image, in emoji order
//   classes_all_styles.txt        the labels with an image in every selected style
//   duplicate_images.tsv          byte-identical images within a style
//   ATTRIBUTION.txt               author, licence and source package of every style
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { emojiCaptionVariants } from './emoji-captions.js';
import {
  IconSet, PINNED_VERSIONS, artworkSvg, checkSourceVersions, emojiClasses, selectStyles, type EmojiClass, type EmojiStyle,
  type IconArtwork,
} from './emoji-sources.js';

/** One image of the dataset (a row of labels.csv and metadata.jsonl). */
export interface EmojiRow {
  /** Relative to the output folder: `images/<style>/<hexcode>.png`, hexcode in lower case. */
  filepath: string;
  label: string;
  caption: string;
  style: string;
  /** SPDX id of the style's licence. */
  licence: string;
  hexcode: string;
  emoji: string;
  group: string;
  subgroup: string;
  tags: string[];
}

/** What one style contributed. */
export interface EmojiStyleSummary {
  style: string;
  packageName: string;
  version: string;
  setName: string;
  author: string;
  authorUrl: string;
  licence: string;
  licenceUrl: string;
  images: number;
}

export interface EmojiDatasetOptions {
  /** Edge of the square PNGs in pixels. Default 64. */
  size?: number;
  /** Styles to include (folder names); default all eight. */
  styles?: readonly string[];
  /** Only the first N classes in emoji order (small subsets for tests and quick looks). */
  classesLimit?: number;
  /** Only these classes (CLDR names), in emoji order; applied before classesLimit. */
  labels?: readonly string[];
  /** Images rendered at once. Default min(4, CPUs); it does not change the output. */
  jobs?: number;
  /** Called after every rendered (or skipped) image of a style. */
  onProgress?: (style: string, done: number, total: number) => void;
  /** Called when an image cannot be rendered (the row is left out, as if the style had no icon). */
  onWarning?: (message: string) => void;
}

/** The dataset without pixels: which rows there are and what every style contributes. */
export interface EmojiDatasetPlan {
  size: number;
  styles: EmojiStyleSummary[];
  rows: EmojiRow[];
  /** Labels with at least one image, in emoji order. */
  classes: string[];
  /** Labels with an image in every selected style, in emoji order. */
  classesAllStyles: string[];
}

export interface EmojiDatasetResult extends EmojiDatasetPlan {
  outDir: string;
  /** Groups (two or more filepaths) of byte-identical images within one style. */
  duplicateGroups: string[][];
  /** Images whose SVG failed to render, as `<style> "<label>": <reason>`. */
  failures: string[];
  seconds: number;
}

const MIN_SIZE = 8;
const MAX_SIZE = 2048;

function checkOptions(opts: EmojiDatasetOptions): { size: number; jobs: number; styles: EmojiStyle[]; classes: EmojiClass[] } {
  const size = opts.size ?? 64;
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new RangeError(`size must be an integer between ${MIN_SIZE} and ${MAX_SIZE}, got ${size}`);
  }
  const jobs = opts.jobs ?? Math.min(4, availableParallelism());
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a positive integer, got ${jobs}`);
  const limit = opts.classesLimit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new RangeError(`classesLimit must be a positive integer, got ${limit}`);
  }
  let all = emojiClasses();
  if (opts.labels !== undefined) {
    const known = new Set(all.map((c) => c.label));
    const unknown = opts.labels.filter((l) => !known.has(l));
    if (unknown.length > 0) throw new RangeError(`unknown emoji class${unknown.length > 1 ? 'es' : ''}: ${unknown.map((l) => JSON.stringify(l)).join(', ')}`);
    const wanted = new Set(opts.labels);
    all = all.filter((c) => wanted.has(c.label));
  }
  return { size, jobs, styles: selectStyles(opts.styles), classes: limit !== undefined ? all.slice(0, limit) : all };
}

function styleSummary(set: IconSet, images: number): EmojiStyleSummary {
  return {
    style: set.style.style,
    packageName: set.packageName,
    version: set.version,
    setName: set.info.name,
    author: set.info.author.name,
    authorUrl: set.info.author.url ?? '',
    licence: set.licence,
    licenceUrl: set.info.license.url ?? '',
    images,
  };
}

function rowFor(c: EmojiClass, style: string, licence: string): EmojiRow {
  return {
    filepath: `images/${style}/${c.hexcode.toLowerCase()}.png`,
    label: c.label,
    caption: c.caption,
    style,
    licence,
    hexcode: c.hexcode,
    emoji: c.emoji,
    group: c.group,
    subgroup: c.subgroup,
    tags: c.tags,
  };
}

/** The labels with an image in `styleCount` styles, and with any image, both in emoji order. */
function classLists(classes: readonly EmojiClass[], rows: readonly EmojiRow[], styleCount: number): { classes: string[]; classesAllStyles: string[] } {
  const perLabel = new Map<string, number>();
  for (const r of rows) perLabel.set(r.label, (perLabel.get(r.label) ?? 0) + 1);
  const present = classes.filter((c) => perLabel.has(c.label)).map((c) => c.label);
  return { classes: present, classesAllStyles: present.filter((l) => perLabel.get(l) === styleCount) };
}

/**
 * The rows the dataset would have, without rendering anything: a class has an image in a style
 * when the style's icon set has artwork under its name. (Rendering can still fail for a broken SVG,
 * which would drop that row; with the pinned packages none does.)
 */
export function planEmojiDataset(opts: EmojiDatasetOptions = {}): EmojiDatasetPlan {
  checkSourceVersions(Object.keys(PINNED_VERSIONS).filter((p) => p !== 'sharp'));
  const { size, styles, classes } = checkOptions(opts);
  const rows: EmojiRow[] = [];
  const summaries: EmojiStyleSummary[] = [];
  for (const style of styles) {
    // One set at a time: the largest icons.json is about 100 MB.
    const set = new IconSet(style);
    let n = 0;
    for (const c of classes) {
      if (set.findArtwork(c.label) === undefined) continue;
      rows.push(rowFor(c, style.style, set.licence));
      n++;
    }
    summaries.push(styleSummary(set, n));
  }
  return { size, styles: summaries, rows, ...classLists(classes, rows, styles.length) };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; the results keep the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** RGB PNG bytes of `art` drawn at `size` px on white. */
export async function renderArtwork(art: IconArtwork, size: number): Promise<Uint8Array> {
  const png = await sharp(Buffer.from(artworkSvg(art, size))).flatten({ background: '#ffffff' }).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** A CSV field with standard quoting (only when it holds a comma, a quote or a line break). */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function attributionText(result: { size: number; styles: EmojiStyleSummary[] }): string {
  const lines = [
    'Emoji artwork by style (folder under images/) and the npm package it was taken from.',
    `Names and keywords (labels and captions) are Unicode CLDR annotations (Unicode License v3),`,
    `packaged by emojibase-data@${PINNED_VERSIONS['emojibase-data']} (MIT).`,
    '',
  ];
  for (const s of result.styles) {
    lines.push(`${s.style}: ${s.images} images. "${s.setName}" by ${s.author}${s.authorUrl !== '' ? ` (${s.authorUrl})` : ''}, ` +
      `licence ${s.licence}${s.licenceUrl !== '' ? ` (${s.licenceUrl})` : ''}. npm: ${s.packageName}@${s.version}.`);
  }
  lines.push(
    '',
    'CC-BY styles need this attribution wherever the images are shared; CC-BY-SA styles must stay under',
    'CC-BY-SA; Apache-2.0 and MIT styles need their licence notice kept with copies.',
    '',
    `Rasterised at ${result.size}x${result.size} px with sharp@${PINNED_VERSIONS.sharp} (libvips, librsvg) and flattened onto white.`,
    '',
  );
  return lines.join('\n');
}

/** Writes labels.csv, metadata.jsonl, captions.jsonl, classes.txt, classes_all_styles.txt and ATTRIBUTION.txt. */
export function writeEmojiIndex(outDir: string, plan: EmojiDatasetPlan, duplicateGroups?: readonly string[][]): void {
  mkdirSync(outDir, { recursive: true });
  const csv = ['filepath,caption,label,style,group',
    ...plan.rows.map((r) => [r.filepath, r.caption, r.label, r.style, r.group].map(csvField).join(','))];
  writeTextAtomic(path.join(outDir, 'labels.csv'), csv.join('\n') + '\n');
  writeTextAtomic(path.join(outDir, 'metadata.jsonl'), plan.rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeTextAtomic(path.join(outDir, 'captions.jsonl'), plan.rows.map((r) => JSON.stringify({
    filepath: r.filepath, label: r.label, style: r.style, group: r.group, captions: emojiCaptionVariants(r),
  })).join('\n') + '\n');
  writeTextAtomic(path.join(outDir, 'classes.txt'), plan.classes.map((l) => l + '\n').join(''));
  writeTextAtomic(path.join(outDir, 'classes_all_styles.txt'), plan.classesAllStyles.map((l) => l + '\n').join(''));
  writeTextAtomic(path.join(outDir, 'ATTRIBUTION.txt'), attributionText(plan));
  if (duplicateGroups !== undefined) {
    const labelOf = new Map(plan.rows.map((r) => [r.filepath, r.label]));
    const lines = ['style\tfilepaths\tlabels', ...duplicateGroups.map((files) =>
      [files[0].split('/')[1], files.join(' '), files.map((f) => labelOf.get(f) ?? '').join(' | ')].join('\t'))];
    writeTextAtomic(path.join(outDir, 'duplicate_images.tsv'), lines.join('\n') + '\n');
  }
}

/**
 * Renders the dataset into `outDir` (created if missing). Each selected style is rendered into a
 * hidden staging folder and then swapped in for `images/<style>/`, so an interrupted build never
 * leaves a half-written style behind; the index files are written last, atomically.
 */
export async function buildEmojiDataset(outDir: string, opts: EmojiDatasetOptions = {}): Promise<EmojiDatasetResult> {
  const t0 = performance.now();
  checkSourceVersions();
  const { size, jobs, styles, classes } = checkOptions(opts);
  const imagesDir = path.join(outDir, 'images');
  mkdirSync(imagesDir, { recursive: true });
  const previousConcurrency = sharp.concurrency();
  // One libvips thread per image: the parallelism comes from `jobs` images at once, which keeps
  // the output independent of the number of threads.
  sharp.concurrency(1);
  const rows: EmojiRow[] = [];
  const summaries: EmojiStyleSummary[] = [];
  const duplicateGroups: string[][] = [];
  const failures: string[] = [];
  try {
    for (const style of styles) {
      const set = new IconSet(style);
      const staging = path.join(imagesDir, `.${style.style}.partial-${process.pid}`);
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging);
      let done = 0;
      const pngs = await mapLimit(classes, jobs, async (c) => {
        const art = set.findArtwork(c.label);
        let png: Uint8Array | undefined;
        if (art !== undefined) {
          try {
            png = await renderArtwork(art, size);
          } catch (err) {
            // A broken SVG loses one image, like a missing icon; a failing write (below) stops the build.
            const msg = `${style.style} "${c.label}" (${set.packageName} icon ${art.name}): ${err instanceof Error ? err.message : String(err)}`;
            failures.push(msg);
            opts.onWarning?.(`cannot render ${msg}`);
          }
          if (png !== undefined) writeFileSync(path.join(staging, `${c.hexcode.toLowerCase()}.png`), png);
        }
        opts.onProgress?.(style.style, ++done, classes.length);
        return png;
      }).catch((err: unknown) => {
        rmSync(staging, { recursive: true, force: true });
        throw err;
      });
      const byHash = new Map<string, string[]>();
      let n = 0;
      classes.forEach((c, i) => {
        const png = pngs[i];
        if (png === undefined) return;
        const row = rowFor(c, style.style, set.licence);
        rows.push(row);
        const hash = createHash('sha256').update(png).digest('hex');
        const group = byHash.get(hash);
        if (group === undefined) byHash.set(hash, [row.filepath]);
        else group.push(row.filepath);
        n++;
      });
      for (const group of byHash.values()) if (group.length > 1) duplicateGroups.push(group);
      const finalDir = path.join(imagesDir, style.style);
      if (existsSync(finalDir)) rmSync(finalDir, { recursive: true, force: true });
      renameSync(staging, finalDir);
      summaries.push(styleSummary(set, n));
    }
  } finally {
    sharp.concurrency(previousConcurrency);
  }
  const plan: EmojiDatasetPlan = { size, styles: summaries, rows, ...classLists(classes, rows, styles.length) };
  writeEmojiIndex(outDir, plan, duplicateGroups);
  return { ...plan, outDir, duplicateGroups, failures, seconds: (performance.now() - t0) / 1000 };
}
