// clip-ts datasets: build the datasets that clip-ts can make offline from its own dependencies.
import path from 'node:path';
import { buildEmojiDataset, planEmojiDataset, writeEmojiIndex, type EmojiDatasetPlan } from '../datasets/emoji.js';
import { EMOJI_STYLES } from '../datasets/emoji-sources.js';
import { UsageError, numberOption, parseArgs } from './args.js';
import { Progress } from './progress.js';

export const usage = `usage: clip-ts datasets build emoji OUT [--size N] [--styles a,b,...] [--classes-limit N]
                                  [--jobs N] [--metadata-only] [--quiet]
       clip-ts datasets list

build emoji: renders the multi-style emoji image–caption dataset into OUT from the npm packages
installed with clip-ts (no network): images/<style>/<hexcode>.png (RGB on white, square), labels.csv
(filepath,caption,label,style,group), metadata.jsonl, classes.txt, classes_all_styles.txt,
duplicate_images.tsv and ATTRIBUTION.txt (keep it with any copy you share: some styles are CC-BY and
CC-BY-SA). With all styles: 1,909 classes, 894 of them in all eight styles, 12,496 images.

  --size N           edge of the square PNGs in pixels (default 64)
  --styles a,b,...   styles to include (default all): ${EMOJI_STYLES.map((s) => s.style).join(', ')}
  --classes-limit N  only the first N classes in emoji order
  --jobs N           images rendered at once (default min(4, CPUs)); does not change the output
  --metadata-only    write the index files without rendering (the image files are not created)
  --quiet            no progress output`;

const DATASETS = ['emoji'];

function printSummary(plan: EmojiDatasetPlan, outDir: string, rendered: boolean): void {
  for (const s of plan.styles) {
    process.stderr.write(`  ${s.style.padEnd(13)} ${String(s.images).padStart(5)} images  (${s.packageName}@${s.version}, ${s.licence})\n`);
  }
  process.stderr.write(`clip-ts datasets: ${plan.rows.length} ${rendered ? 'images' : 'rows (not rendered)'}, ${plan.classes.length} classes, ` +
    `${plan.classesAllStyles.length} in all ${plan.styles.length} styles -> ${outDir}\n`);
}

async function buildEmoji(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    size: { type: 'string' }, styles: { type: 'string' }, 'classes-limit': { type: 'string' }, jobs: { type: 'string', short: 'j' },
    'metadata-only': { type: 'flag' }, quiet: { type: 'flag', short: 'q' },
  });
  if (args.positionals.length !== 1) {
    throw new UsageError(args.positionals.length === 0 ? 'give the output folder OUT' : `unexpected argument "${args.positionals[1]}"`);
  }
  const outDir = path.resolve(args.positionals[0]);
  const size = numberOption(args, 'size', 64, { min: 8, max: 2048, integer: true });
  const jobs = args.values.has('jobs') ? numberOption(args, 'jobs', 1, { min: 1, integer: true }) : undefined;
  const classesLimit = args.values.has('classes-limit') ? numberOption(args, 'classes-limit', 1, { min: 1, integer: true }) : undefined;
  const stylesRaw = args.values.get('styles');
  const styles = stylesRaw?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (styles !== undefined) {
    const known = new Set(EMOJI_STYLES.map((s) => s.style));
    const bad = styles.filter((s) => !known.has(s));
    if (bad.length > 0) throw new UsageError(`unknown style ${bad.map((s) => `"${s}"`).join(', ')} in --styles (styles: ${[...known].join(', ')})`);
    if (styles.length === 0) throw new UsageError('--styles lists no style');
  }
  const quiet = args.flags.has('quiet');

  if (args.flags.has('metadata-only')) {
    const plan = planEmojiDataset({ size, styles, classesLimit });
    writeEmojiIndex(outDir, plan);
    if (!quiet) printSummary(plan, outDir, false);
    return 0;
  }

  let progress: Progress | undefined;
  let currentStyle = '';
  const result = await buildEmojiDataset(outDir, {
    size, styles, classesLimit, jobs,
    onProgress: (style, done, total) => {
      if (quiet) return;
      if (style !== currentStyle) {
        progress?.finish();
        currentStyle = style;
        progress = new Progress({ label: `rendering ${style}`, total, unit: 'images' });
      }
      progress?.update(done);
    },
    onWarning: (message) => {
      progress?.clear();
      process.stderr.write(`clip-ts datasets: ${message}\n`);
    },
  });
  progress?.finish();
  if (!quiet) {
    printSummary(result, outDir, true);
    process.stderr.write(`clip-ts datasets: ${result.duplicateGroups.length} groups of identical images (duplicate_images.tsv), ` +
      `${result.failures.length} render failures, ${result.seconds.toFixed(1)} s\n`);
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    process.stdout.write(`emoji  multi-style emoji images with CLDR captions (${EMOJI_STYLES.length} styles; build with: clip-ts datasets build emoji OUT)\n`);
    return 0;
  }
  if (action !== 'build') throw new UsageError(action === undefined ? 'give an action: build or list' : `unknown action "${action}" (build or list)`);
  const [name, ...options] = rest;
  if (name === undefined) throw new UsageError(`give the dataset to build (${DATASETS.join(', ')})`);
  if (name === 'emoji') return buildEmoji(options);
  throw new UsageError(`unknown dataset "${name}" (known: ${DATASETS.join(', ')})`);
}
