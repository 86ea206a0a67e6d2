// clip-ts convert: any checkpoint clip-ts reads (OpenAI's TorchScript archives, open_clip and
// torch.save files, Hugging Face or open_clip safetensors, our own) to a clip-ts safetensors file
// with its config, in float32 or float16. This is how the bundled model was made from the training
// run's output, and how a downloaded model becomes a file that loads without unpickling.
import { loadModel } from '../model/index.js';
import { saveModel } from '../model/save.js';
import { UsageError, parseArgs } from './args.js';

export const usage = `usage: clip-ts convert MODEL --out FILE.safetensors [--dtype float16|float32] [--meta KEY=VALUE]...

Reads MODEL (a path or a downloaded name such as ViT-B/32) and writes it as safetensors with
OpenAI's key names and the clip-ts config (in the header and in FILE.safetensors.json). Writes are
atomic. float16 halves the size; BatchNorm statistics and logit_scale stay float32.

  --out FILE        the safetensors file to write (required)
  --dtype D         float16 (default) or float32
  --meta KEY=VALUE  a string stored in the safetensors metadata (repeatable)

example:
  clip-ts convert runs/emoji/model.safetensors --out model-fp16.safetensors`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { out: { type: 'string', short: 'o' }, dtype: { type: 'string' }, meta: { type: 'list' }, 'cache-dir': { type: 'string' } });
  if (args.positionals.length !== 1) throw new UsageError(args.positionals.length === 0 ? 'give the MODEL to convert' : `one MODEL at a time (got ${args.positionals.length})`);
  const out = args.values.get('out');
  if (out === undefined) throw new UsageError('--out FILE.safetensors is required');
  const dtype = args.values.get('dtype') ?? 'float16';
  if (dtype !== 'float16' && dtype !== 'float32') throw new UsageError(`--dtype must be float16 or float32, got "${dtype}"`);
  const metadata: Record<string, string> = {};
  for (const m of args.lists.get('meta') ?? []) {
    const eq = m.indexOf('=');
    if (eq <= 0) throw new UsageError(`--meta "${m}": expected KEY=VALUE`);
    metadata[m.slice(0, eq)] = m.slice(eq + 1);
  }
  const model = await loadModel(args.positionals[0], { cacheDir: args.values.get('cache-dir') });
  saveModel(model, out, { dtype, metadata });
  process.stderr.write(`clip-ts convert: wrote ${out} (${dtype})\n`);
  return 0;
}
