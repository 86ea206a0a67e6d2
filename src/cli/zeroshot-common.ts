// Options shared by `clip-ts classify` and `clip-ts zeroshot-eval`: the model, the template set,
// the text-embedding cache and the compute settings.
import path from 'node:path';
import type { ClipModel } from '../model/clip.js';
import { loadModel, resolveModelFile } from '../model/index.js';
import { native, setMatmulPrecision, type MatmulPrecision } from '../tensor/index.js';
import { TextEmbeddingCache } from '../eval/text-embedding-cache.js';
import { defaultTemplates, resolveTemplates, type TemplateSet } from '../eval/templates.js';
import { resolveCacheDir } from '../weights/registry.js';
import { UsageError, numberOption, type OptionSpec, type ParsedArgs } from './args.js';
import { Progress } from './progress.js';

export const ZEROSHOT_OPTION_SPECS: Record<string, OptionSpec> = {
  model: { type: 'string', short: 'm' },
  templates: { type: 'string', short: 't' },
  'no-cache': { type: 'flag' },
  'cache-dir': { type: 'string' },
  truncate: { type: 'flag' },
  precision: { type: 'string' },
  threads: { type: 'string' },
  'batch-size': { type: 'string' },
  quiet: { type: 'flag', short: 'q' },
};

export const ZEROSHOT_OPTIONS_HELP = `  --model NAME|PATH   checkpoint or registered name (default: the bundled model)
  --templates SET     imagenet (OpenAI's 80, the default with --model), simple ("a photo of a
                      {}."), emoji (six emoji prompts, the default for the bundled model), a dataset of
                      CLIP's prompts.md (cifar10, food101, ...), or a FILE: one template per line
                      (# comments) or a JSON array; {} or {c} stands for the class name
  --no-cache          encode every prompt; by default prompt embeddings are cached in
                      $CLIP_TS_CACHE/text-embeddings (~/.cache/clip-ts/text-embeddings)
  --cache-dir D       the clip-ts cache folder (models, text embeddings) instead of $CLIP_TS_CACHE
  --truncate          cut prompts longer than the context instead of failing
  --precision P       fp32 (default) or bf16 matrix multiplies
  --threads N         compute threads (default: all cores)
  --batch-size N      images per forward pass (default 32)
  --quiet             no progress on stderr`;

export interface ZeroShotSetup {
  model: ClipModel;
  modelName: string;
  templates: TemplateSet | undefined;
  /**
   * The templates when neither --templates nor a dataset chooses: the bundled emoji model's own
   * prompts for the bundled model, OpenAI's 80 ImageNet templates for any other.
   */
  defaultTemplates: TemplateSet;
  cache: TextEmbeddingCache | false;
  truncate: boolean;
  batchSize: number;
  quiet: boolean;
}

/** The template set named by --templates (undefined when not given). */
export function templatesOption(args: ParsedArgs): TemplateSet | undefined {
  const spec = args.values.get('templates');
  if (spec === undefined) return undefined;
  if (spec.trim() === '') throw new UsageError('--templates needs a set name or a file');
  return resolveTemplates(spec);
}

/** Applies the compute options, loads the model and opens its embedding cache. */
export async function setUpZeroShot(args: ParsedArgs): Promise<ZeroShotSetup> {
  const precision = (args.values.get('precision') ?? 'fp32') as MatmulPrecision;
  if (precision !== 'fp32' && precision !== 'bf16') throw new UsageError(`--precision must be fp32 or bf16, got "${precision}"`);
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  const batchSize = numberOption(args, 'batch-size', 32, { min: 1, integer: true });
  // Read the templates before loading the model, so a bad file fails fast.
  const templates = templatesOption(args);
  if (threads > 0) native().setThreads(threads);
  setMatmulPrecision(precision);
  const cacheDir = args.values.get('cache-dir');
  const modelArg = args.values.get('model');
  const file = await resolveModelFile(modelArg, { cacheDir });
  const model = await loadModel(file, { cacheDir });
  const truncate = args.flags.has('truncate');
  const cache = args.flags.has('no-cache')
    ? false
    : TextEmbeddingCache.forModel(model, { dir: path.join(resolveCacheDir(cacheDir), 'text-embeddings'), truncate, modelFile: file });
  return { model, modelName: modelArg ?? file, templates, defaultTemplates: defaultTemplates(modelArg === undefined), cache, truncate, batchSize, quiet: args.flags.has('quiet') };
}

/** A progress callback for prompt encoding that shows a bar only when something is encoded. */
export function promptProgress(quiet: boolean): { onProgress: (done: number, total: number) => void; finish: () => void } {
  let bar: Progress | undefined;
  return {
    onProgress: (done, total) => {
      if (quiet || total === 0) return;
      bar ??= new Progress({ label: 'encoding prompts', total, unit: 'prompts' });
      bar.update(done);
    },
    finish: () => bar?.finish(),
  };
}
