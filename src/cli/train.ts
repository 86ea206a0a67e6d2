// clip-ts train: contrastive pretraining from scratch or fine-tuning of a CLIP model on
// image-caption pairs, resumable, with evaluation, metrics, plots and checkpoints.
import path from 'node:path';
import { readLabelledSource } from '../eval/labelled-table.js';
import { parseRowFilter } from '../eval/labelled-table.js';
import { resolveTemplates } from '../eval/templates.js';
import { createModel, describeConfig, loadModel, type ClipConfig, type ClipModel } from '../model/index.js';
import { native } from '../tensor/index.js';
import { loadPairDataset } from '../train/data-sources.js';
import type { EvaluationSetup } from '../train/evaluate.js';
import { parseSampleFilter, splitHeldOut, type PairSample, type SampleFilter } from '../train/pair-dataset.js';
import { presetNames, resolveConfig } from '../train/presets.js';
import { TrainProgressLine } from '../train/progress-line.js';
import { train, type RunOptions, type SessionOptions, type TrainInput, type TrainResult } from '../train/trainer.js';
import { UsageError, filterOptions, numberOption, parseArgs, type ParsedArgs } from './args.js';

export const usage = `usage: clip-ts train --out DIR --data SRC [--data SRC]... (--preset NAME | --config FILE | --init MODEL)
                   [--steps N | --epochs N] [--batch-size N] [--lr X] [--resume] [options]

Trains CLIP's contrastive objective (symmetric cross-entropy over the batch's image-text logits)
with AdamW, linear warm-up and cosine decay. Writes DIR/metrics.jsonl, DIR/plots/*.svg|png,
DIR/checkpoints/ and, at the end, DIR/model.safetensors. Stop it at any time and run the same
command with --resume to continue exactly where the last checkpoint left off.

data
  --data SRC            image-caption pairs (repeatable): a table (.csv, .tsv or .jsonl) with
                        filepath and caption columns (paths relative to the table; other columns
                        are ignored), or WebDataset tar shards (a .tar, a folder of .tar files, or
                        shards-{0000..0099}.tar; samples are KEY.jpg|png|webp + KEY.txt)
  --image-column C      the table column with the image path (default filepath)
  --caption-column C    the table column with the caption (default caption); in JSONL it may
                        hold a list of captions, one of which is drawn per image and epoch
  --filter COL=V[,V]    only table rows whose column COL is one of the values; COL!=V excludes them;
                        COL=@FILE takes the values from FILE, one per line
  --no-augment          centre crops instead of random resized crops (scale 0.9-1)
  --workers N           image decoding threads (default min(2, CPUs))

model (one of)
  --preset NAME         train from scratch: ${presetNames().join(', ')}
  --config FILE         train from scratch, architecture from a JSON config (the fields of a saved
                        model's .json sidecar)
  --init MODEL          fine-tune a checkpoint (path or downloaded name such as ViT-B/32)
  --train-only PREFIX   train only parameters whose name starts with PREFIX (repeatable), e.g.
                        visual. to tune the image tower; the others stay frozen
  --seed N              initialisation, data order and augmentation (default 0)

optimisation
  --batch-size N        pairs per step (default 128)
  --steps N             optimiser steps (default: --epochs)
  --epochs N            passes over the data (default 10; an epoch is floor(pairs / batch) steps)
  --lr X                peak learning rate (default 5e-4)
  --warmup N            linear warm-up steps (default 5% of the steps, at most 2000)
  --min-lr X            learning rate at the end of the cosine decay (default 0)
  --wd X                weight decay of the weight matrices (default 0.2)
  --beta1 X --beta2 X --eps X   AdamW (defaults 0.9, 0.98, 1e-6)
  --grad-clip X         clip the global gradient norm to X (default: no clipping)
  --chunk N             gradient caching: forward/backward N pairs at a time (same result as the
                        whole batch, with the memory of N pairs)
  --threads N           compute threads (default: all cores)
  --precision P         fp32 (default) or bf16: the linear layers' products in bfloat16 with
                        float32 weights, gradients and optimizer state (mixed precision)

evaluation
  --eval-every N        evaluate every N steps (and at the start and the end; default: the end)
  --val-data SRC        held-out pairs (a table or shards) for retrieval recall@1/5 and the loss
  --val-filter COL=V    rows of --val-data to use (COL!=V excludes)
  --val-fraction F      hold out this fraction of --data instead (chosen by a hash of the path)
  --val-max N           at most N held-out pairs (default 2000)
  --eval-zeroshot SRC   a labelled set (ImageFolder tree or CSV) for zero-shot top-1/top-5
  --eval-filter COL=V   rows of the --eval-zeroshot CSV to use (repeatable)
  --eval-label-column C the CSV column holding the class (default label)
  --eval-templates SET  templates of the zero-shot prompts (default simple: "a photo of a {}.")

run
  --out DIR             the run's folder (required)
  --resume              continue DIR's last checkpoint if there is one (else start)
  --checkpoint-every N  checkpoint every N steps, and at the end (default 500)
  --keep N              checkpoints kept (default 2)
  --log-every N         a metrics.jsonl line every N steps (default 10)
  --stop-after N        stop after N steps of this session (resume later)
  --quiet               no progress line

example (the emoji set, one style held out for evaluation):
  clip-ts datasets build emoji data/emoji
  clip-ts train --out runs/emoji --preset tiny-vit-64 --data data/emoji/labels.csv --filter 'style!=openmoji' \\
    --val-data data/emoji/labels.csv --val-filter style=openmoji \\
    --eval-zeroshot data/emoji/labels.csv --eval-filter style=openmoji --eval-templates ./emoji-templates.txt \\
    --batch-size 256 --epochs 40 --eval-every 250 --resume`;

const SPEC = {
  out: { type: 'string', short: 'o' }, data: { type: 'list', short: 'd' }, 'image-column': { type: 'string' }, 'caption-column': { type: 'string' },
  filter: { type: 'list' }, 'no-augment': { type: 'flag' }, workers: { type: 'string' },
  preset: { type: 'string' }, config: { type: 'string' }, init: { type: 'string' }, 'train-only': { type: 'list' }, seed: { type: 'string' },
  'batch-size': { type: 'string', short: 'b' }, steps: { type: 'string' }, epochs: { type: 'string' }, lr: { type: 'string' }, warmup: { type: 'string' },
  'min-lr': { type: 'string' }, wd: { type: 'string' }, beta1: { type: 'string' }, beta2: { type: 'string' }, eps: { type: 'string' },
  'grad-clip': { type: 'string' }, chunk: { type: 'string' }, threads: { type: 'string' }, precision: { type: 'string' },
  'eval-every': { type: 'string' }, 'val-data': { type: 'list' }, 'val-filter': { type: 'list' }, 'val-fraction': { type: 'string' }, 'val-max': { type: 'string' },
  'eval-zeroshot': { type: 'string' }, 'eval-filter': { type: 'list' }, 'eval-label-column': { type: 'string' }, 'eval-templates': { type: 'string' },
  resume: { type: 'flag' }, 'checkpoint-every': { type: 'string' }, keep: { type: 'string' }, 'log-every': { type: 'string' },
  'stop-after': { type: 'string' }, quiet: { type: 'flag', short: 'q' },
} as const;

/** Every n-th element so that at most `max` remain (held-out sets spread over the whole list). */
function spread<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(items[Math.floor((i * items.length) / max)]);
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, SPEC);
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const outDir = args.values.get('out');
  if (outDir === undefined) throw new UsageError('--out DIR is required');
  const dataSpecs = args.lists.get('data') ?? [];
  if (dataSpecs.length === 0) throw new UsageError('--data SRC is required (a caption table or tar shards)');
  const modelChoices = ['preset', 'config', 'init'].filter((k) => args.values.has(k));
  if (modelChoices.length !== 1) throw new UsageError('give exactly one of --preset NAME, --config FILE or --init MODEL');
  if (args.values.has('steps') && args.values.has('epochs')) throw new UsageError('give --steps or --epochs, not both');
  const quiet = args.flags.has('quiet');
  const log = (s: string): void => { if (!quiet) process.stderr.write(s + '\n'); };

  // Options first, so that mistakes fail before any data is read.
  const batchSize = numberOption(args, 'batch-size', 128, { min: 2, integer: true });
  const seed = numberOption(args, 'seed', 0, { integer: true, min: 0 });
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  const workers = args.values.has('workers') ? numberOption(args, 'workers', 0, { min: 0, integer: true }) : undefined;
  const chunk = args.values.has('chunk') ? numberOption(args, 'chunk', 0, { min: 1, integer: true }) : undefined;
  const valFraction = numberOption(args, 'val-fraction', 0, { min: 0, max: 0.5 });
  const valMax = numberOption(args, 'val-max', 2000, { min: 2, integer: true });
  const filters = filterOptions(args, 'filter', parseSampleFilter);
  const valFilters = filterOptions(args, 'val-filter', parseSampleFilter);
  if (valFraction > 0 && args.lists.has('val-data')) throw new UsageError('give --val-data or --val-fraction, not both');
  const tableOpts = {
    ...(args.values.has('image-column') ? { imageColumn: args.values.get('image-column') as string } : {}),
    ...(args.values.has('caption-column') ? { captionColumn: args.values.get('caption-column') as string } : {}),
  };
  const precision = args.values.get('precision') ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'bf16') throw new UsageError(`--precision must be fp32 or bf16, got "${precision}"`);
  const evalTemplates = resolveTemplates(args.values.get('eval-templates') ?? 'simple');
  if (threads > 0) native().setThreads(threads);

  // Data.
  const data = loadPairDataset(dataSpecs, { ...tableOpts, filters });
  let pairs: PairSample[] = data.samples;
  let heldOut: PairSample[] | undefined;
  if (valFraction > 0) {
    const split = splitHeldOut(pairs, valFraction, seed);
    pairs = split.train;
    heldOut = split.heldOut;
  } else if (args.lists.has('val-data')) {
    heldOut = loadPairDataset(args.lists.get('val-data') ?? [], { ...tableOpts, filters: valFilters }).samples;
  }
  if (heldOut !== undefined) {
    heldOut = spread(heldOut, valMax);
    if (heldOut.length < 2) log(`clip-ts train: only ${heldOut.length} held-out pair(s): no retrieval evaluation`);
  }
  for (const d of data.dropped.slice(0, 5)) log(`clip-ts train: left out ${d.where}: ${d.why}`);
  if (data.dropped.length > 5) log(`clip-ts train: ... and ${data.dropped.length - 5} more left out`);
  let zeroShot: EvaluationSetup['zeroShot'];
  const zsSource = args.values.get('eval-zeroshot');
  if (zsSource !== undefined) {
    const labelColumn = args.values.get('eval-label-column');
    const zsFilters = (args.lists.get('eval-filter') ?? []).map((f) => parseRowFilter(f));
    zeroShot = { data: readLabelledSource(zsSource, { filters: zsFilters, ...(labelColumn !== undefined ? { labelColumn } : {}) }), templates: evalTemplates.templates, templatesName: evalTemplates.name };
  }

  // Length of the run.
  const perEpoch = Math.floor(pairs.length / batchSize);
  if (perEpoch < 1) throw new Error(`${pairs.length} training pairs do not fill one batch of ${batchSize} (lower --batch-size)`);
  const epochs = numberOption(args, 'epochs', 10, { min: 1, integer: true });
  const steps = args.values.has('steps') ? numberOption(args, 'steps', 0, { min: 1, integer: true }) : perEpoch * epochs;
  const options: RunOptions = {
    batchSize, steps, seed,
    lr: numberOption(args, 'lr', 5e-4, { min: 0 }),
    warmupSteps: numberOption(args, 'warmup', Math.min(2000, Math.round(0.05 * steps)), { min: 0, integer: true }),
    minLr: numberOption(args, 'min-lr', 0, { min: 0 }),
    weightDecay: numberOption(args, 'wd', 0.2, { min: 0 }),
    beta1: numberOption(args, 'beta1', 0.9, { min: 0, max: 0.999999 }),
    beta2: numberOption(args, 'beta2', 0.98, { min: 0, max: 0.999999 }),
    eps: numberOption(args, 'eps', 1e-6, { min: 1e-12 }),
    augment: !args.flags.has('no-augment'),
    ...(args.values.has('grad-clip') ? { maxGradNorm: numberOption(args, 'grad-clip', 1, { min: 1e-12 }) } : {}),
    ...(precision === 'bf16' ? { precision } : {}),
  };
  if (options.minLr > options.lr) throw new UsageError(`--min-lr ${options.minLr} is above --lr ${options.lr}`);

  // The model (built lazily: a resumed run loads its checkpoint instead).
  let modelSource: string;
  let makeModel: () => ClipModel;
  const initSpec = args.values.get('init');
  if (initSpec !== undefined) {
    const initial = await loadModel(initSpec);
    modelSource = `init ${initSpec}`;
    makeModel = () => initial;
  } else {
    const spec = (args.values.get('preset') ?? args.values.get('config')) as string;
    const config: ClipConfig = resolveConfig(spec);
    modelSource = `${args.values.has('preset') ? 'preset' : 'config'} ${spec}`;
    makeModel = () => createModel(config, seed);
  }
  const prefixes = args.lists.get('train-only');
  const progress = new TrainProgressLine();
  // The first Ctrl-C finishes the current step, saves a checkpoint and exits; a second one kills.
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress.note('clip-ts train: stopping after this step (checkpoint first; Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);
  const session: SessionOptions = {
    ...(chunk !== undefined ? { chunkSize: chunk } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(prefixes !== undefined ? { trainable: (n: string) => prefixes.some((p) => n.startsWith(p)) } : {}),
    checkpointEvery: numberOption(args, 'checkpoint-every', 500, { min: 1, integer: true }),
    keepCheckpoints: numberOption(args, 'keep', 2, { min: 1, integer: true }),
    logEvery: numberOption(args, 'log-every', 10, { min: 1, integer: true }),
    evalEvery: numberOption(args, 'eval-every', 0, { min: 0, integer: true }),
    ...(args.values.has('stop-after') ? { stopAfter: numberOption(args, 'stop-after', 0, { min: 0, integer: true }) } : {}),
    evaluation: { ...(heldOut !== undefined && heldOut.length >= 2 ? { heldOut } : {}), ...(zeroShot !== undefined ? { zeroShot } : {}), ...(workers !== undefined ? { workers } : {}) },
    onStep: (s) => { if (!quiet) progress.update(s); },
    onEval: (r) => {
      if (quiet) return;
      const f = (v: number | undefined, name: string): string[] => (v === undefined ? [] : [`${name} ${v.toFixed(2)}`]);
      progress.note(`eval @ step ${r.step}: ${[...f(r.zeroshot_top1, 'zero-shot top-1 %'), ...f(r.zeroshot_top5, 'top-5 %'),
        ...f(r.image_to_text_r1, 'i→t R@1 %'), ...f(r.image_to_text_r5, 'R@5 %'), ...f(r.text_to_image_r1, 't→i R@1 %'), ...f(r.text_to_image_r5, 'R@5 %'),
        ...f(r.val_loss, 'held-out loss')].join(', ')}`);
    },
    onSkipped: (s) => { if (!quiet) progress.note(`clip-ts train: skipped ${s.where}: ${s.why}`); },
    shouldStop: () => interrupted,
  };
  const input: TrainInput = {
    outDir, model: () => {
      const m = makeModel();
      log(`clip-ts train: ${modelSource}: ${describeConfig(m.config)}; ${(m.params.count / 1e6).toFixed(2)}M parameters`);
      return m;
    },
    modelSource, pairs, dataSources: dataSpecs, options, resume: args.flags.has('resume'),
  };
  log(`clip-ts train: ${pairs.length} training pairs${heldOut !== undefined ? `, ${heldOut.length} held out` : ''}; ` +
    `${steps} steps of ${batchSize} (${(steps / perEpoch).toFixed(2)} epochs); output ${path.resolve(outDir)}`);
  let result: TrainResult;
  try {
    result = await train(input, session);
  } finally {
    process.off('SIGINT', onSigint);
    progress.finish();
  }
  if (result.resumedFrom !== undefined) log(`clip-ts train: resumed from step ${result.resumedFrom}`);
  const s = result.state;
  if (s.skippedSamples > 0) log(`clip-ts train: ${s.skippedSamples} samples could not be decoded and were skipped`);
  if (s.skippedSteps > 0) log(`clip-ts train: ${s.skippedSteps} steps were skipped (non-finite loss or gradient)`);
  if (result.finished) log(`clip-ts train: done: ${s.step} steps in ${(s.elapsedSeconds / 60).toFixed(1)} min; model ${result.modelFile}`);
  else log(`clip-ts train: stopped at step ${s.step} of ${steps}; continue with the same command and --resume`);
  return 0;
}
