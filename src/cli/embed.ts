// clip-ts embed: image and text embeddings as JSON.
import { preprocessFile } from '../image/index.js';
import { loadModel } from '../model/index.js';
import { l2Normalize, native, noGrad, setMatmulPrecision, type MatmulPrecision, type Tensor } from '../tensor/index.js';
import { tokenize } from '../text/index.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { UsageError, numberOption, parseArgs } from './args.js';

export const usage = `usage: clip-ts embed [--model NAME|PATH] [--image FILE]... [--text STRING]... [--normalize]
                    [--truncate] [--precision fp32|bf16] [--batch-size N] [--threads N] --out FILE.json

Writes {"image": [[...], ...], "text": [[...], ...]}: one vector per --image and per --text, in
order. Without --normalize the vectors are exactly encode_image / encode_text; with it they are
L2-normalised. --model defaults to the bundled model; a name (ViT-B/32, RN50, ...) must have been
downloaded with \`clip-ts download\`. --truncate cuts texts longer than the context instead of failing.`;

function rows(t: Tensor): number[][] {
  const [n, d] = t.shape;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) out.push(Array.from(t.data.subarray(i * d, (i + 1) * d)));
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    model: { type: 'string', short: 'm' }, image: { type: 'list' }, text: { type: 'list' }, normalize: { type: 'flag' },
    truncate: { type: 'flag' }, precision: { type: 'string' }, 'batch-size': { type: 'string' }, threads: { type: 'string' },
    out: { type: 'string', short: 'o' }, 'cache-dir': { type: 'string' },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}" (use --image FILE or --text STRING)`);
  const out = args.values.get('out');
  if (out === undefined) throw new UsageError('--out FILE.json is required');
  const images = args.lists.get('image') ?? [];
  const texts = args.lists.get('text') ?? [];
  if (images.length === 0 && texts.length === 0) throw new UsageError('give at least one --image or --text');
  const precision = (args.values.get('precision') ?? 'fp32') as MatmulPrecision;
  if (precision !== 'fp32' && precision !== 'bf16') throw new UsageError(`--precision must be fp32 or bf16, got "${precision}"`);
  const batchSize = numberOption(args, 'batch-size', 32, { min: 1, integer: true });
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  if (threads > 0) native().setThreads(threads);
  setMatmulPrecision(precision);

  const model = await loadModel(args.values.get('model'), { cacheDir: args.values.get('cache-dir') });
  const size = model.imageSize;
  const normalize = args.flags.has('normalize');
  const finish = (t: Tensor): number[][] => rows(normalize ? noGrad(() => l2Normalize(t)) : t);

  const imageVectors: number[][] = [];
  for (let i = 0; i < images.length; i += batchSize) {
    const files = images.slice(i, i + batchSize);
    const pixels = new Float32Array(files.length * 3 * size * size);
    for (let j = 0; j < files.length; j++) pixels.set(await preprocessFile(files[j], size), j * 3 * size * size);
    imageVectors.push(...finish(model.embedImages(model.imageTensor(pixels, files.length))));
  }
  const textVectors: number[][] = [];
  for (let i = 0; i < texts.length; i += batchSize) {
    const batch = tokenize(texts.slice(i, i + batchSize), { contextLength: model.contextLength, truncate: args.flags.has('truncate') });
    textVectors.push(...finish(model.embedTexts(batch.ids)));
  }
  writeTextAtomic(out, JSON.stringify({ image: imageVectors, text: textVectors }) + '\n');
  process.stderr.write(`clip-ts embed: wrote ${imageVectors.length} image and ${textVectors.length} text vectors of ${model.config.embedDim} dimensions to ${out}\n`);
  return 0;
}
