// clip-ts index: embeds the images of a folder into an image index (a LanceDB database), or brings
// an existing index up to date with the folder.
import { indexDirectory, type IndexReport } from '../index/indexer.js';
import { native } from '../tensor/index.js';
import { UsageError, numberOption, parseArgs } from './args.js';
import { Progress } from './progress.js';

export const usage = `usage: clip-ts index DIR --db PATH [--model NAME|PATH] [--batch-size N] [--workers N]
                    [--threads N] [--quiet]

Embeds every image under DIR (jpg, jpeg, png, webp, gif, tif, tiff, avif, bmp; hidden files and
folders are left out) into the image index at PATH, a folder holding a LanceDB database, created if
missing. Run it again to update the index: files with the same size and modification time are not
read again, new and changed files are embedded, files gone from DIR are removed. Unreadable and
corrupt files are skipped and listed; they do not fail the run.

  --db PATH          the index folder (required)
  --model NAME|PATH  the model for a new index (default: the bundled model); an existing index
                     keeps the model it was built with, and a different --model is an error
  --batch-size N     images per model batch (default 32)
  --workers N        image decoding threads (default 2; 0 decodes in the main thread)
  --threads N        compute threads of the native core (default: all cores)
  --quiet            no progress on stderr

Search the index with \`clip-ts search\`, find near-duplicates with \`clip-ts dedup\`.`;

function summary(report: IndexReport): string {
  const lines = [
    `clip-ts index: ${report.dbPath}${report.created ? ' (new)' : ''}: ${report.total} images, model ${report.model.model}`,
    `  added ${report.added}, updated ${report.updated}, unchanged ${report.unchanged}, removed ${report.removed}, skipped ${report.skipped.length}`,
  ];
  if (report.embedded > 0) {
    lines.push(`  embedded ${report.embedded} images at ${report.imagesPerSecond.toFixed(1)} images/s` +
      (report.reused > 0 ? `; ${report.reused} more had identical bytes and reused an embedding` : ''));
  } else if (report.reused > 0) {
    lines.push(`  ${report.reused} new or changed files had identical bytes to indexed images and reused their embeddings`);
  }
  lines.push(`  ${report.seconds.toFixed(1)} s`);
  if (report.skipped.length > 0) {
    lines.push(`skipped ${report.skipped.length} unreadable file${report.skipped.length === 1 ? '' : 's'}:`);
    for (const s of report.skipped) lines.push(`  ${s.path}: ${s.reason.startsWith(s.path + ': ') ? s.reason.slice(s.path.length + 2) : s.reason}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    db: { type: 'string' }, model: { type: 'string', short: 'm' }, 'batch-size': { type: 'string' },
    workers: { type: 'string' }, threads: { type: 'string' }, quiet: { type: 'flag', short: 'q' },
    'cache-dir': { type: 'string' },
  });
  if (args.positionals.length === 0) throw new UsageError('give the folder of images to index');
  if (args.positionals.length > 1) throw new UsageError(`one folder at a time (got ${args.positionals.length}: ${args.positionals.join(', ')})`);
  const dir = args.positionals[0];
  const db = args.values.get('db');
  if (db === undefined || db === '') throw new UsageError('--db PATH is required (the index folder)');
  const batchSize = numberOption(args, 'batch-size', 32, { min: 1, integer: true });
  const workers = numberOption(args, 'workers', 2, { min: 0, max: 64, integer: true });
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  const quiet = args.flags.has('quiet');
  if (threads > 0) native().setThreads(threads);

  let hashing: Progress | undefined;
  let embedding: Progress | undefined;
  try {
    const report = await indexDirectory(dir, db, {
      model: args.values.get('model'),
      cacheDir: args.values.get('cache-dir'),
      batchSize,
      workers,
      onProgress: quiet ? undefined : (p) => {
        if (p.phase === 'hashing') {
          // Hashing is quick next to embedding; a line only when there are many files to read.
          if (hashing === undefined && p.total >= 1000) hashing = new Progress({ label: 'reading', total: p.total, unit: 'files' });
          hashing?.update(p.done);
          if (p.done === p.total) hashing?.finish();
        } else {
          hashing?.finish();
          embedding ??= new Progress({ label: 'indexing', total: p.total, unit: 'images' });
          embedding.update(p.done);
        }
      },
    });
    embedding?.finish();
    process.stdout.write(summary(report) + "\n");
    return 0;
  } catch (err) {
    hashing?.clear();
    embedding?.clear();
    throw err;
  }
}
