// `clip-ts download`: fetch a published checkpoint into the cache (SHA-256 verified, resumable),
// register an open_clip / Hugging Face file under a name, or list the known models.
import { parseArgs, UsageError } from './args.js';
import {
  cachedModelPath, downloadModel, listModels, registerModel, resolveCacheDir, type CheckpointFormat,
} from '../weights/index.js';
import { existsSync } from 'node:fs';

export const usage = `usage: clip-ts download NAME [--cache-dir DIR] [--offline] [--quiet]
       clip-ts download NAME --url URL --sha256 HEX [--format FORMAT] [--cache-dir DIR]
       clip-ts download --list [--cache-dir DIR]

Downloads checkpoint NAME into the cache folder (default $CLIP_TS_CACHE, else ~/.cache/clip-ts),
verifies its SHA-256, and prints its path. An interrupted download resumes where it stopped.

NAME is one of OpenAI's models (RN50, RN101, RN50x4, RN50x16, RN50x64, ViT-B/32, ViT-B/16,
ViT-L/14, ViT-L/14@336px) or a name registered earlier with --url and --sha256.

options:
  --url URL        register NAME for this URL (open_clip or Hugging Face files) before downloading
  --sha256 HEX     the file's SHA-256 (64 hex digits); required with --url
  --format FORMAT  torchscript, torch-save or safetensors (default: from the URL's extension)
  --cache-dir DIR  cache folder for this command
  --offline        do not use the network: print the path if the model is cached, else fail
  --quiet          no progress output
  --list           list known models and whether each is cached`;

function formatFromUrl(url: string): CheckpointFormat {
  const p = new URL(url).pathname.toLowerCase();
  if (p.endsWith('.safetensors')) return 'safetensors';
  return 'torch-save';
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    'cache-dir': { type: 'string' },
    offline: { type: 'flag' },
    quiet: { type: 'flag', short: 'q' },
    list: { type: 'flag' },
    url: { type: 'string' },
    sha256: { type: 'string' },
    format: { type: 'string' },
  });
  const cacheDir = args.values.get('cache-dir');
  if (args.flags.has('list')) {
    if (args.positionals.length > 0) throw new UsageError('--list takes no NAME');
    const dir = resolveCacheDir(cacheDir);
    process.stdout.write(`cache folder: ${dir}\n`);
    for (const m of listModels(cacheDir)) {
      const cached = existsSync(cachedModelPath(m, cacheDir)) ? 'cached' : '      ';
      process.stdout.write(`${m.name.padEnd(16)} ${cached}  ${m.format.padEnd(11)} ${m.url}\n`);
    }
    return 0;
  }
  if (args.positionals.length !== 1) throw new UsageError('give exactly one model NAME (or --list)');
  const name = args.positionals[0];
  const url = args.values.get('url');
  const sha256 = args.values.get('sha256');
  const format = args.values.get('format');
  if ((url === undefined) !== (sha256 === undefined)) throw new UsageError('--url and --sha256 go together');
  if (format !== undefined && url === undefined) throw new UsageError('--format needs --url');
  if (format !== undefined && !['torchscript', 'torch-save', 'safetensors'].includes(format)) {
    throw new UsageError(`--format must be torchscript, torch-save or safetensors, got "${format}"`);
  }
  if (url !== undefined && sha256 !== undefined) {
    let parsedFormat: CheckpointFormat;
    try {
      parsedFormat = (format as CheckpointFormat | undefined) ?? formatFromUrl(url);
    } catch {
      throw new UsageError(`--url is not a valid URL: "${url}"`);
    }
    const m = registerModel({ name, url, sha256, format: parsedFormat }, cacheDir);
    if (args.flags.has('quiet') !== true) process.stderr.write(`registered ${m.name} (${m.format}) in ${resolveCacheDir(cacheDir)}\n`);
  }
  const file = await downloadModel(name, {
    cacheDir,
    offline: args.flags.has('offline'),
    progress: args.flags.has('quiet') ? false : process.stderr,
  });
  process.stdout.write(file + '\n');
  return 0;
}
