// clip-ts retrieval-eval: image→text and text→image recall@1/5/10 (the CLIP paper's Table 13
// metric) of a model on an image–caption set. An image may have several captions (several rows
// with the same path, or a JSONL list); any of them counts as a hit, and a caption shared by
// several images is a hit for any of them.
import { loadModel } from '../model/index.js';
import { native, setMatmulPrecision, type MatmulPrecision } from '../tensor/index.js';
import { readCaptionTable } from '../train/caption-table.js';
import { parseSampleFilter } from '../train/pair-dataset.js';
import { pairFeatures } from '../train/pair-features.js';
import { retrievalRecall } from '../train/retrieval.js';
import { SampleDecoder } from '../train/sample-decoder.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { UsageError, filterOptions, numberOption, parseArgs } from './args.js';
import { Progress } from './progress.js';

export const usage = `usage: clip-ts retrieval-eval [--model NAME|PATH] --data TABLE [options]

Embeds every image and caption of an image-caption set and reports image->text and text->image
recall@1/5/10 (percent of queries whose partner is among the k most similar items).

  --data TABLE          a .csv, .tsv or .jsonl table with filepath and caption columns (paths
                        relative to the table); rows with the same image give it several
                        captions, and a JSONL caption field may be a list of captions
  --image-column C      the column with the image path (default filepath)
  --caption-column C    the column with the caption (default caption)
  --filter COL=V[,V]    only rows whose column COL is one of the values (COL!=V excludes them,
                        COL=@FILE reads the values from FILE); repeatable
  --first-caption       only the first caption of a JSONL list
  --model NAME|PATH     checkpoint or registered name (default: the bundled model)
  --json                print the JSON report on stdout (a table otherwise)
  --out F               write the JSON report to F
  --batch-size N        images or captions per forward pass (default 64)
  --workers N           image decoding threads (default min(2, CPUs))
  --precision P         fp32 (default) or bf16 matrix multiplies
  --threads N           compute threads (default: all cores)
  --quiet               no progress on stderr

example:
  clip-ts datasets build emoji emoji
  clip-ts retrieval-eval --data emoji/labels.csv --filter style=openmoji`;

export interface RetrievalReport {
  model: string;
  data: string;
  images: number;
  captions: number;
  pairs: number;
  imageToText: Record<number, number>;
  textToImage: Record<number, number>;
  skipped: { where: string; why: string }[];
}

function formatReport(r: RetrievalReport): string {
  const ks = Object.keys(r.imageToText);
  const row = (name: string, rec: Record<number, number>): string =>
    name.padEnd(16) + ks.map((k) => rec[Number(k)].toFixed(1).padStart(8)).join('');
  return [
    `${r.images} images, ${r.captions} captions, ${r.pairs} pairs (${r.model})`,
    'recall (%)'.padEnd(16) + ks.map((k) => `@${k}`.padStart(8)).join(''),
    row('image -> text', r.imageToText),
    row('text -> image', r.textToImage),
    ...(r.skipped.length > 0 ? [`${r.skipped.length} images skipped: ${r.skipped.slice(0, 5).map((s) => `${s.where}: ${s.why}`).join('; ')}`] : []),
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    model: { type: 'string', short: 'm' }, data: { type: 'string', short: 'd' }, 'image-column': { type: 'string' },
    'caption-column': { type: 'string' }, filter: { type: 'list' }, 'first-caption': { type: 'flag' }, json: { type: 'flag' },
    out: { type: 'string', short: 'o' }, 'batch-size': { type: 'string' }, workers: { type: 'string' }, precision: { type: 'string' },
    threads: { type: 'string' }, 'cache-dir': { type: 'string' }, quiet: { type: 'flag', short: 'q' },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}" (give the data with --data TABLE)`);
  const dataSpec = args.values.get('data');
  if (dataSpec === undefined) throw new UsageError('--data TABLE is required');
  const batchSize = numberOption(args, 'batch-size', 64, { min: 1, integer: true });
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  const workers = args.values.has('workers') ? numberOption(args, 'workers', 0, { min: 0, integer: true }) : undefined;
  const precision = (args.values.get('precision') ?? 'fp32') as MatmulPrecision;
  if (precision !== 'fp32' && precision !== 'bf16') throw new UsageError(`--precision must be fp32 or bf16, got "${precision}"`);
  const quiet = args.flags.has('quiet');
  const filters = filterOptions(args, 'filter', parseSampleFilter);
  const imageColumn = args.values.get('image-column');
  const captionColumn = args.values.get('caption-column');
  // The table is read (and its errors reported) before the model is loaded.
  const pairs = readCaptionTable(dataSpec, {
    filters, ...(imageColumn !== undefined ? { imageColumn } : {}), ...(captionColumn !== undefined ? { captionColumn } : {}),
  });
  if (pairs.length === 0) throw new Error(`${dataSpec}: no pairs${filters.length > 0 ? ' match the filters' : ''}`);
  if (threads > 0) native().setThreads(threads);
  setMatmulPrecision(precision);
  const modelArg = args.values.get('model');
  const model = await loadModel(modelArg, { cacheDir: args.values.get('cache-dir') });
  const decoder = new SampleDecoder({ size: model.imageSize, ...(workers !== undefined ? { workers } : {}) });
  let progress: Progress | undefined;
  let f;
  try {
    f = await pairFeatures(model, pairs, batchSize, decoder, {
      allCaptions: !args.flags.has('first-caption'),
      onProgress: (done, total) => {
        if (quiet) return;
        progress ??= new Progress({ label: 'embedding', total, unit: 'images' });
        progress.update(done);
      },
    });
  } finally {
    progress?.finish();
    await decoder.close();
  }
  if (f.links.length === 0) throw new Error(`${dataSpec}: no image could be decoded (${f.failed.slice(0, 3).map((s) => `${s.where}: ${s.why}`).join('; ')})`);
  const recall = retrievalRecall(f.imageT, f.textT, f.links, [1, 5, 10]);
  const report: RetrievalReport = {
    model: modelArg ?? 'default', data: dataSpec, images: recall.images, captions: recall.texts, pairs: f.links.length,
    imageToText: recall.imageToText, textToImage: recall.textToImage, skipped: f.failed,
  };
  const json = JSON.stringify(report, null, 2) + '\n';
  const out = args.values.get('out');
  if (out !== undefined) writeTextAtomic(out, json);
  process.stdout.write(args.flags.has('json') ? json : formatReport(report) + '\n');
  if (out !== undefined && !quiet) process.stderr.write(`clip-ts retrieval-eval: wrote the report to ${out}\n`);
  return 0;
}
