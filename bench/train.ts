// Training step time of a ViT-B/32-sized CLIP at batch 32 in float32 and bf16 mixed precision:
// clip-ts (one pass, and with gradient caching in chunks of 8) against PyTorch 1.13 (bf16: its CPU autocast) on the same architecture, loss and
// optimiser (bench/python/train_torch.py), at the same thread count; and clip-ts's peak RSS.
// BENCH_TRAIN_PRESET, BENCH_TRAIN_BATCH and BENCH_REPS change the case.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/model/init.js';
import { packageRoot } from '../src/paths.js';
import { Tensor, native, setMatmulPrecision, type MatmulPrecision } from '../src/tensor/index.js';
import { AdamW } from '../src/train/adamw.js';
import { paramGroups } from '../src/train/param-groups.js';
import { presetConfig } from '../src/train/presets.js';
import { trainStep } from '../src/train/train-step.js';
import { fmt, hasPythonModule, median, peakRssMB, pythonEnv, runPython } from './common.js';

/** The token rows train_torch.py makes: start, 6-20 ids, end. */
function tokenRows(batch: number, context = 77): Int32Array {
  const out = new Int32Array(batch * context);
  for (let b = 0; b < batch; b++) {
    const n = 6 + ((b * 7) % 15);
    const ids = [49406, ...Array.from({ length: n }, (_, t) => 1000 + ((b * 131 + t * 17) % 40000)), 49407];
    out.set(ids, b * context);
  }
  return out;
}

function pixels(n: number): Float32Array {
  const d = new Float32Array(n);
  let s = 11;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = (s / 4294967296) * 4 - 2;
  }
  return d;
}

/** Per-step times, losses and the process's peak resident memory. */
interface ClipTsTiming { ms: number[]; loss: number[]; maxRssMB: number }

/** Times `steps` steps (after one warm-up) in this process; prints JSON (run in a child for the RSS). */
function timeClipTs(preset: string, batch: number, steps: number, chunk: number | undefined, precision: MatmulPrecision): ClipTsTiming {
  setMatmulPrecision(precision);
  const config = presetConfig(preset);
  if (config === undefined) throw new Error(`unknown preset ${preset}`);
  const model = createModel(config, 0);
  model.training = true;
  const opt = new AdamW(paramGroups(model.params, { weightDecay: 0.2 }));
  const S = model.imageSize;
  const images = new Tensor(pixels(batch * 3 * S * S), [batch, 3, S, S]);
  const tokens = tokenRows(batch, model.contextLength);
  const step = (): number => trainStep(model, opt, { images, tokens }, { lr: 5e-4, ...(chunk !== undefined ? { chunkSize: chunk } : {}) }).loss;
  step();
  const ms: number[] = [];
  const loss: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    loss.push(step());
    ms.push(performance.now() - t0);
  }
  return { ms, loss, maxRssMB: peakRssMB() };
}

function childTiming(preset: string, batch: number, steps: number, chunk: number | undefined, precision: MatmulPrecision = 'fp32'): ClipTsTiming {
  const me = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, me, '--child', preset, String(batch), String(steps), String(chunk ?? 0), precision], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`clip-ts timing run failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as ClipTsTiming;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [, , , preset, batch, steps, chunk, precision] = process.argv;
    console.log(JSON.stringify(timeClipTs(preset, Number(batch), Number(steps), Number(chunk) > 0 ? Number(chunk) : undefined, precision as MatmulPrecision)));
    return;
  }
  const preset = process.env.BENCH_TRAIN_PRESET ?? 'ViT-B/32';
  const batch = Number(process.env.BENCH_TRAIN_BATCH ?? 32);
  const steps = Number(process.env.BENCH_REPS ?? 3);
  const threads = native().getThreads();
  console.log(`${preset}, batch ${batch}, AdamW; ${threads} threads for both; median of ${steps} steps after one warm-up (ms per step)\n`);
  const rows: [string, ClipTsTiming][] = [];
  const ours = childTiming(preset, batch, steps, undefined);
  rows.push(['clip-ts', ours]);
  rows.push(['clip-ts, gradient caching (chunks of 8)', childTiming(preset, batch, steps, 8)]);
  const torchRun = (precision: MatmulPrecision): [string, ClipTsTiming] => {
    // PyTorch in the machine's environment and in a tuned one (see pythonEnv); the faster is shown.
    const runs = [false, true].map((tuned) => runPython<ClipTsTiming & { torch: string }>(
      path.join(packageRoot(), 'bench', 'python', 'train_torch.py'), [preset, String(batch), String(steps), String(threads), precision], pythonEnv(tuned)));
    const t = median(runs[1].ms) < median(runs[0].ms) ? { ...runs[1], torch: `${runs[1].torch}, tuned env` } : runs[0];
    return [`PyTorch ${t.torch}${precision === 'bf16' ? ', bf16 autocast' : ''}`, t];
  };
  const hasTorch = hasPythonModule('torch');
  if (hasTorch) rows.push(torchRun('fp32'));
  const bf16 = childTiming(preset, batch, steps, undefined, 'bf16');
  rows.push(['clip-ts, bf16 mixed precision', bf16]);
  if (hasTorch) rows.push(torchRun('bf16'));
  if (!hasTorch) {
    console.log('(PyTorch is not installed: apt-get install python3-torch for the peer)\n');
  }
  const base = median(ours.ms);
  console.log('| engine | ms / step | samples / s | ratio | peak RSS | first loss |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [name, r] of rows) {
    const m = median(r.ms);
    const rss = `${fmt(r.maxRssMB, 0)} MB`;
    // bf16 rows are compared with clip-ts's bf16 step, the others with its float32 step.
    const ref = name.includes('bf16') ? median(bf16.ms) : base;
    console.log(`| ${name} | ${fmt(m, 0)} | ${fmt((batch * 1000) / m, 1)} | ×${fmt(m / ref, 2)} | ${rss} | ${fmt(r.loss[0], 4)} |`);
  }
  console.log('\n(ratio: that engine\'s step time divided by clip-ts\'s at the same precision; > 1 means clip-ts is faster. The first loss is ln(batch) ≈ '
    + `${fmt(Math.log(batch), 4)} for any fresh model, a sanity check of both sides.)`);
}

await main();
