// clip-ts classify: zero-shot classification of images against labels given on the command line,
// in a file, or built in (ImageNet, the datasets of CLIP's prompts.md).
import { existsSync, statSync } from 'node:fs';
import { ImageBatchLoader } from '../image/index.js';
import { builtinClasses, loadLabelsFile, parseLabelList, type ClassPrompt } from '../eval/class-names.js';
import { datasetPrompts, type TemplateSet } from '../eval/templates.js';
import { buildZeroShotClassifier, type Prediction } from '../eval/zeroshot.js';
import { UsageError, numberOption, parseArgs } from './args.js';
import { Progress } from './progress.js';
import { ZEROSHOT_OPTIONS_HELP, ZEROSHOT_OPTION_SPECS, promptProgress, setUpZeroShot } from './zeroshot-common.js';

export const usage = `usage: clip-ts classify [--model NAME|PATH] (--labels "a,b,c" | --labels-file F | --classes SET)
                       [--templates imagenet|simple|DATASET|FILE] [--top K] [--json] [options] IMAGE...

Zero-shot classification: each label becomes the mean embedding of its prompts (every template
filled with the label), and each image gets the probabilities softmax(100 · cosine) over the labels.
Prints the top K labels per image as a table, or with --json a JSON array with one
{"image": PATH, "predictions": [{"label": ..., "probability": ...}, ...]} per image, best first.

  --labels "a,b,c"    the labels, comma-separated
  --labels-file F     one label per line, or a JSON array (an entry may be an array of synonyms)
  --classes SET       built-in labels: imagenet (1000 classes) or a dataset of CLIP's prompts.md
                      (whose templates are then the default)
  --top K             labels shown per image (default 5)
  --json              JSON on stdout instead of the table
${ZEROSHOT_OPTIONS_HELP}

example:
  clip-ts classify --model ViT-B/32 --labels "cat,dog,bird" --top 2 cat.jpg dog.png`;

/** The result for one image. */
export interface ImageClassification {
  image: string;
  predictions: { label: string; probability: number }[];
}

function classesOption(labels: string | undefined, labelsFile: string | undefined, set: string | undefined): { classes: ClassPrompt[]; templates?: TemplateSet } {
  const given = [labels, labelsFile, set].filter((v) => v !== undefined).length;
  if (given === 0) throw new UsageError('give the labels: --labels "a,b,c", --labels-file F or --classes SET');
  if (given > 1) throw new UsageError('give only one of --labels, --labels-file and --classes');
  if (labels !== undefined) return { classes: parseLabelList(labels) };
  if (labelsFile !== undefined) return { classes: loadLabelsFile(labelsFile) };
  const name = set as string;
  const classes = builtinClasses(name);
  if (classes === undefined) throw new UsageError(`--classes: unknown set "${name}" (imagenet, or a dataset of CLIP's prompts.md such as cifar10)`);
  const ds = datasetPrompts(name);
  return { classes, ...(ds !== undefined ? { templates: { name: ds.name, templates: ds.templates } } : {}) };
}

/** Every image must be an existing file; checked before the model is loaded. */
function checkImages(images: readonly string[]): void {
  if (images.length === 0) throw new UsageError('give at least one IMAGE');
  for (const p of images) {
    if (!existsSync(p)) throw new Error(`image not found: ${p}`);
    if (!statSync(p).isFile()) throw new Error(`not an image file: ${p}`);
  }
}

function formatTable(results: readonly ImageClassification[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(r.image);
    const width = Math.min(50, Math.max(...r.predictions.map((p) => p.label.length)));
    r.predictions.forEach((p, i) => {
      lines.push(`  ${String(i + 1).padStart(2)}. ${p.label.padEnd(width)}  ${(100 * p.probability).toFixed(2).padStart(6)} %`);
    });
  }
  return lines.join('\n') + '\n';
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    ...ZEROSHOT_OPTION_SPECS,
    labels: { type: 'string', short: 'l' }, 'labels-file': { type: 'string' }, classes: { type: 'string' },
    top: { type: 'string', short: 'k' }, json: { type: 'flag' },
  });
  const top = numberOption(args, 'top', 5, { min: 1, integer: true });
  const images = args.positionals;
  const { classes, templates: datasetTemplates } = classesOption(args.values.get('labels'), args.values.get('labels-file'), args.values.get('classes'));
  checkImages(images);
  const setup = await setUpZeroShot(args);
  const templates = setup.templates ?? datasetTemplates ?? setup.defaultTemplates;

  const prompts = promptProgress(setup.quiet);
  const classifier = buildZeroShotClassifier(setup.model, classes, {
    templates: templates.templates, cache: setup.cache, truncate: setup.truncate, onProgress: prompts.onProgress,
  });
  prompts.finish();

  const progress = setup.quiet || images.length < 2 ? undefined : new Progress({ label: 'classifying', total: images.length, unit: 'images' });
  const results: ImageClassification[] = [];
  const loader = new ImageBatchLoader(images, { size: setup.model.imageSize, batchSize: setup.batchSize, onError: 'throw' });
  for await (const batch of loader) {
    const features = setup.model.embedImages(setup.model.imageTensor(batch.batch, batch.count));
    const best: Prediction[][] = classifier.classify(features, top);
    best.forEach((preds, i) => results.push({
      image: batch.paths[i],
      predictions: preds.map((p) => ({ label: p.label, probability: p.probability })),
    }));
    progress?.update(results.length);
  }
  progress?.finish();
  process.stdout.write(args.flags.has('json') ? JSON.stringify(results, null, 2) + '\n' : formatTable(results));
  return 0;
}
