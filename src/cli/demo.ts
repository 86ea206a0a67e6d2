// clip-ts demo: the quick start's main job. Classifies the bundled sample images zero-shot against
// a few labels with the embedded default model, end to end (tokenizer, Pillow-exact
// preprocessing, both towers, cosine similarity, softmax of 100·cosine).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { preprocessFile } from '../image/index.js';
import { DEFAULT_MODEL_FILE, createModel, loadModelFile, type ClipModel } from '../model/index.js';
import { assetPath } from '../paths.js';
import { l2Normalize, matmul, noGrad, softmax, scale } from '../tensor/index.js';
import { tokenize } from '../text/index.js';
import { parseArgs } from './args.js';

export const usage = `usage: clip-ts demo [--model PATH] [--images DIR]

Classifies the sample images (assets/samples, or --images DIR) zero-shot against the labels
"a red circle", "a blue square", "a green triangle", "a yellow star" and prints each image's best
labels. Uses the bundled default model, or --model.`;

const LABELS = ['a red circle', 'a blue square', 'a green triangle', 'a yellow star'];

function defaultModel(): { model: ClipModel; note: string } {
  const file = assetPath(DEFAULT_MODEL_FILE);
  if (existsSync(file)) return { model: loadModelFile(file), note: `bundled model ${path.relative(process.cwd(), file)}` };
  // Until a trained model ships with the package, run the same pipeline on an untrained model so
  // every stage is exercised; its predictions are meaningless.
  const model = createModel({
    embedDim: 64,
    vision: { kind: 'vit', imageSize: 224, patchSize: 32, width: 64, layers: 2, heads: 1 },
    text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 2, heads: 1 },
    activation: 'quickGelu',
  }, 0);
  return { model, note: 'no trained model is bundled yet: using an UNTRAINED random model (predictions are meaningless)' };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: { type: 'string', short: 'm' }, images: { type: 'string' } });
  const t0 = performance.now();
  const modelArg = args.values.get('model');
  const { model, note } = modelArg !== undefined ? { model: loadModelFile(modelArg), note: modelArg } : defaultModel();
  const dir = args.values.get('images') ?? assetPath('samples');
  const files = readdirSync(dir).filter((f) => /\.(png|jpe?g|webp|gif|tiff?|avif)$/i.test(f)).sort().map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no images in ${dir}`);
  process.stdout.write(`model: ${note}\n`);
  const S = model.imageSize;
  const pixels = new Float32Array(files.length * 3 * S * S);
  for (let i = 0; i < files.length; i++) pixels.set(await preprocessFile(files[i], S), i * 3 * S * S);
  const probs = noGrad(() => {
    const images = l2Normalize(model.encodeImage(model.imageTensor(pixels, files.length)));
    const texts = l2Normalize(model.encodeText(tokenize(LABELS, { contextLength: model.contextLength }).ids));
    return softmax(scale(matmul(images, texts, { transB: true }), 100));
  });
  for (let i = 0; i < files.length; i++) {
    const row = Array.from(probs.data.subarray(i * LABELS.length, (i + 1) * LABELS.length));
    const order = row.map((p, j) => [p, j] as const).sort((a, b) => b[0] - a[0]);
    const best = order.slice(0, 2).map(([p, j]) => `${LABELS[j]} ${(100 * p).toFixed(1)}%`).join(', ');
    process.stdout.write(`${path.basename(files[i]).padEnd(22)} ${best}\n`);
  }
  process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  return 0;
}
