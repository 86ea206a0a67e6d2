// clip-ts demo: the quick start's main job. Classifies the bundled sample images (emoji in art
// styles the bundled model never saw in training) zero-shot against a list of emoji names, end to
// end: tokenizer, Pillow-exact preprocessing, both towers, prompt ensembling, softmax of 100·cosine.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { EMOJI_TEMPLATES } from '../eval/templates.js';
import { buildZeroShotClassifier, embedImageBatch } from '../eval/zeroshot.js';
import { preprocessFile } from '../image/index.js';
import { DEFAULT_MODEL_FILE, createModel, loadModelFile, type ClipModel } from '../model/index.js';
import { assetPath } from '../paths.js';
import { noGrad } from '../tensor/index.js';
import { parseArgs } from './args.js';

/** The labels the samples are classified against: the six samples' classes and eight others. */
export const DEMO_LABELS: readonly string[] = Object.freeze([
  'red apple', 'dog face', 'rocket', 'pizza', 'sun', 'grinning face', 'cat face', 'banana', 'airplane',
  'hamburger', 'crescent moon', 'red heart', 'automobile', 'birthday cake',
]);

export const usage = `usage: clip-ts demo [--model PATH] [--images DIR]

Classifies the sample images (assets/samples: six emoji drawn in styles the bundled model was not
trained on, or --images DIR) zero-shot against ${DEMO_LABELS.length} emoji names (${DEMO_LABELS.slice(0, 4).join(', ')}, ...)
with the emoji prompt templates, and prints each image's two best labels. Uses the bundled
default model, or --model.`;

function defaultModel(): { model: ClipModel; note: string } {
  const file = assetPath(DEFAULT_MODEL_FILE);
  if (existsSync(file)) return { model: loadModelFile(file), note: `bundled model ${path.relative(process.cwd(), file)}` };
  // A checkout without the bundled model (it is committed; see assets/models/README.md) still runs
  // every stage, on an untrained model whose predictions are meaningless.
  const model = createModel({
    embedDim: 64,
    vision: { kind: 'vit', imageSize: 64, patchSize: 8, width: 64, layers: 2, heads: 1 },
    text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 2, heads: 1 },
    activation: 'quickGelu',
  }, 0);
  return { model, note: `no ${DEFAULT_MODEL_FILE} found: using an UNTRAINED random model (predictions are meaningless)` };
}

export interface DemoResult {
  image: string;
  predictions: { label: string; probability: number }[];
}

/** The demo's predictions (top 2 per image), for the command and its test. */
export async function runDemo(model: ClipModel, dir: string): Promise<DemoResult[]> {
  const files = readdirSync(dir).filter((f) => /\.(png|jpe?g|webp|gif|tiff?|avif)$/i.test(f)).sort().map((f) => path.join(dir, f));
  if (files.length === 0) throw new Error(`no images in ${dir}`);
  const S = model.imageSize;
  const pixels = new Float32Array(files.length * 3 * S * S);
  for (let i = 0; i < files.length; i++) pixels.set(await preprocessFile(files[i], S), i * 3 * S * S);
  const predictions = noGrad(() => {
    const classifier = buildZeroShotClassifier(model, DEMO_LABELS, { templates: EMOJI_TEMPLATES });
    return classifier.classify(embedImageBatch(model, pixels, files.length), 2);
  });
  return files.map((f, i) => ({ image: f, predictions: predictions[i].map((p) => ({ label: p.label, probability: p.probability })) }));
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { model: { type: 'string', short: 'm' }, images: { type: 'string' } });
  const t0 = performance.now();
  const modelArg = args.values.get('model');
  const { model, note } = modelArg !== undefined ? { model: loadModelFile(modelArg), note: modelArg } : defaultModel();
  process.stdout.write(`model: ${note}\n`);
  const results = await runDemo(model, args.values.get('images') ?? assetPath('samples'));
  for (const r of results) {
    const best = r.predictions.map((p) => `${p.label} ${(100 * p.probability).toFixed(1)}%`).join(', ');
    process.stdout.write(`${path.basename(r.image).padEnd(28)} ${best}\n`);
  }
  process.stdout.write(`done in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  return 0;
}
