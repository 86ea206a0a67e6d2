// clip-ts search: the images of an index closest to a text or to an image.
import { ImageIndex, type SearchHit } from '../index/image-index.js';
import { loadModelForIndex } from '../index/index-model.js';
import { searchByImage, searchByText } from '../index/search.js';
import { native } from '../tensor/index.js';
import { UsageError, numberOption, parseArgs } from './args.js';

export const usage = `usage: clip-ts search --db PATH "TEXT QUERY" [--top K] [--json] [--model NAME|PATH]
       clip-ts search --db PATH --image FILE [--top K] [--json] [--model NAME|PATH]

Ranks the images of the index at PATH (built with \`clip-ts index\`) by cosine similarity with a
text (through the text tower) or with an image (through the image tower), and prints the best K:
a table of score and path, or with --json an array of {"path": ..., "score": ...}, best first.

  --db PATH          the index folder (required)
  --image FILE       search by this image instead of a text
  --top K            how many results (default 10)
  --json             JSON on stdout instead of the table
  --model NAME|PATH  the model (default: the one the index was built with, else the bundled
                     one); it must have the same weights as the index's
  --threads N        compute threads of the native core (default: all cores)`;

function table(hits: SearchHit[]): string {
  if (hits.length === 0) return '(the index is empty)';
  const lines = [`${'rank'.padStart(4)}  ${'score'.padStart(6)}  path`];
  hits.forEach((h, i) => lines.push(`${String(i + 1).padStart(4)}  ${h.score.toFixed(4).padStart(6)}  ${h.path}`));
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    db: { type: 'string' }, image: { type: 'string' }, top: { type: 'string', short: 'k' }, json: { type: 'flag' },
    model: { type: 'string', short: 'm' }, threads: { type: 'string' }, 'cache-dir': { type: 'string' },
  });
  const db = args.values.get('db');
  if (db === undefined || db === '') throw new UsageError('--db PATH is required (the index folder)');
  const image = args.values.get('image');
  if (image !== undefined && args.positionals.length > 0) throw new UsageError('give either a text query or --image FILE, not both');
  if (image === undefined && args.positionals.length === 0) throw new UsageError('give a text query or --image FILE');
  if (args.positionals.length > 1) throw new UsageError(`quote the text query as one argument (got ${args.positionals.length} arguments)`);
  const text = args.positionals[0];
  if (text !== undefined && text.trim() === '') throw new UsageError('the text query is empty');
  const top = numberOption(args, 'top', 10, { min: 1, integer: true });
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  if (threads > 0) native().setThreads(threads);

  const index = await ImageIndex.open(db);
  try {
    const { model } = await loadModelForIndex(db, index.info, args.values.get('model'), { cacheDir: args.values.get('cache-dir') });
    const hits = image !== undefined ? await searchByImage(index, model, image, top) : await searchByText(index, model, text, top);
    if (args.flags.has('json')) {
      process.stdout.write(JSON.stringify(hits.map((h) => ({ path: h.path, score: h.score }))) + '\n');
    } else {
      process.stdout.write(table(hits) + '\n');
    }
    return 0;
  } finally {
    await index.close();
  }
}
