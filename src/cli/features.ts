// clip-ts features: encode a labelled image set once into a feature file for the probes.
import { extractFeatures, reusableFeatureFile } from '../eval/features.js';
import { readLabelledImages } from '../eval/labelled-images.js';
import { LazyModel } from '../eval/feature-source.js';
import { native } from '../tensor/index.js';
import { UsageError, numberOption, parseArgs } from './args.js';

export const usage = `usage: clip-ts features [--model NAME|PATH] --data DIR|CSV --out FILE [--batch-size N] [--workers N]
                       [--threads N] [--force]

Encodes every image of --data (an ImageFolder tree DIR/CLASS/image.jpg, or a CSV of filepath,label
rows with paths relative to the CSV) with the model's image tower and writes the features (not
normalised), labels, class names and image paths to FILE (format: see docs, "clip-ts-features/1").
A FILE made from the same model file and the same images is reused; an interrupted run resumes
from FILE.partial. --force encodes again. The probes (linear-probe, few-shot) accept FILE in place
of an image folder.`;

/** Reports "label: done/total" on stderr, at most every 2 s and at the end. */
export function progressPrinter(label: string): (done: number, total: number) => void {
  let last = 0;
  const t0 = Date.now();
  return (done, total) => {
    const now = Date.now();
    if (done < total && now - last < 2000) return;
    last = now;
    const secs = (now - t0) / 1000;
    const rate = secs > 0 && done > 0 ? ` (${(done / secs).toFixed(1)}/s)` : '';
    process.stderr.write(`${label}: ${done}/${total}${rate}\n`);
  };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    model: { type: 'string', short: 'm' }, data: { type: 'string' }, out: { type: 'string', short: 'o' },
    'batch-size': { type: 'string' }, workers: { type: 'string' }, threads: { type: 'string' }, force: { type: 'flag' },
    'cache-dir': { type: 'string' },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const data = args.values.get('data');
  const out = args.values.get('out');
  if (data === undefined) throw new UsageError('--data DIR|CSV is required');
  if (out === undefined) throw new UsageError('--out FILE is required');
  const batchSize = numberOption(args, 'batch-size', 32, { min: 1, integer: true });
  const workers = numberOption(args, 'workers', -1, { min: 0, integer: true });
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  if (threads > 0) native().setThreads(threads);

  const set = readLabelledImages(data);
  process.stderr.write(`clip-ts features: ${set.items.length} images in ${set.classes.length} classes from ${data}\n`);
  const lazy = new LazyModel(args.values.get('model'), args.values.get('cache-dir'));
  if (!args.flags.has('force')) {
    // Checked before loading the model, which can take longer than reading the cache.
    const cached = reusableFeatureFile(out, lazy.file(), set);
    if (cached !== undefined) {
      process.stderr.write(`clip-ts features: reused ${out} (same model file and images): ${cached.header.count} × ${cached.header.dim} features\n`);
      return 0;
    }
  }
  const { model, file } = lazy.get();
  const r = await extractFeatures({
    model, modelFile: file, data: set, out, batchSize, force: args.flags.has('force'),
    ...(workers >= 0 ? { workers } : {}),
    onProgress: progressPrinter('clip-ts features: encoded'),
  });
  const what = r.reused ? 'reused' : r.resumedRows > 0 ? `wrote (resumed after ${r.resumedRows} rows)` : 'wrote';
  process.stderr.write(`clip-ts features: ${what} ${out}: ${r.set.header.count} × ${r.set.header.dim} features, ${r.set.header.classes.length} classes\n`);
  return 0;
}
