// Dispatches `clip-ts <command> ...` to the module that implements the command.
// Each command module exports `run(argv): Promise<number>` (the exit code) and `usage`.
import { UsageError } from './args.js';

interface CommandModule {
  run(argv: string[]): Promise<number>;
  usage: string;
}

// Loaded lazily so `clip-ts tokenize` does not load the native core or sharp.
const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  tokenize: { summary: 'print CLIP token ids of texts', load: () => import('./tokenize.js') },
  preprocess: { summary: 'preprocess an image into a float32 [3,N,N] tensor', load: () => import('./preprocess.js') },
  embed: { summary: 'image and text embeddings with a CLIP model', load: () => import('./embed.js') },
  classify: { summary: 'zero-shot classification of images against labels', load: () => import('./classify.js') },
  'zeroshot-eval': { summary: 'zero-shot accuracy on a labelled image set', load: () => import('./zeroshot-eval.js') },
  features: { summary: 'cache image features of a labelled set for probes', load: () => import('./features.js') },
  'linear-probe': { summary: 'logistic-regression probe on frozen features', load: () => import('./linear-probe.js') },
  'few-shot': { summary: 'few-shot linear probes (k = 1, 2, 4, ...) against zero-shot', load: () => import('./few-shot.js') },
  train: { summary: 'contrastive pretraining or fine-tuning on image-caption pairs', load: () => import('./train.js') },
  datasets: { summary: 'build data sets (the multi-style emoji set)', load: () => import('./datasets.js') },
  index: { summary: 'embed the images of a folder into a vector database', load: () => import('./index-images.js') },
  search: { summary: 'search an image index by text or by image', load: () => import('./search.js') },
  dedup: { summary: 'near-duplicate images in an index, or between two', load: () => import('./dedup.js') },
  'retrieval-eval': { summary: 'image-text retrieval recall@1/5/10 on a caption set', load: () => import('./retrieval-eval.js') },
  serve: { summary: 'HTTP search/classify server with a web page', load: () => import('./serve.js') },
  convert: { summary: 'convert a checkpoint to clip-ts safetensors (float16 or float32)', load: () => import('./convert.js') },
  download: { summary: 'download a published checkpoint into the cache', load: () => import('./download.js') },
  demo: { summary: 'run the quick-start job on the embedded default', load: () => import('./demo.js') },
};

function help(): string {
  const lines = ['usage: clip-ts <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push('', 'Run `clip-ts <command> --help` for the options of one command.');
  return lines.join('\n');
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return name === undefined ? 2 : 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    process.stderr.write(`clip-ts: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  let mod: CommandModule | undefined;
  try {
    mod = await entry.load();
    const options = rest.indexOf('--') >= 0 ? rest.slice(0, rest.indexOf('--')) : rest;
    if (options.includes('--help') || options.includes('-h')) {
      process.stdout.write(mod.usage + '\n');
      return 0;
    }
    return await mod.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`clip-ts ${name}: ${err.message}\n${mod !== undefined ? '\n' + mod.usage + '\n' : ''}`);
      return 2;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`clip-ts ${name}: ${msg}\n`);
    if (process.env.CLIP_TS_DEBUG === '1' && err instanceof Error && err.stack !== undefined) {
      process.stderr.write(err.stack + '\n');
    }
    return 1;
  }
}
