// Checkpoint loading: openCheckpoint + every tensor of a full-size (random) ViT-B/32 in OpenAI's
// format converted to float32, against PyTorch's torch.jit.load + state_dict().float() of the same
// file (bench/python/weights_torch.py). Each run is a fresh process, so peak RSS is that of one load.
//
// The checkpoint: $CLIP_TS_BENCH_WEIGHTS, else a random ViT-B/32 made once by
// tools/make_checkpoints.py in $TMPDIR/clip-ts-bench (about 350 MB; needs python3-torch).
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../src/paths.js';
import { convertToOpenAI, openCheckpoint } from '../src/weights/index.js';
import { fmt, hasPythonModule, median, peakRssMB, PYTHON, runPython } from './common.js';

interface LoadResult {
  open_ms: number;
  total_ms: number;
  maxrss_mb: number;
  values: number;
}

interface TorchResult {
  load_ms: number;
  total_ms: number;
  maxrss_mb: number;
  values: number;
}

const REPS = 3;

/** In the child: one load, as the model code does it (all tensors kept, as float32). */
function child(file: string): void {
  const t0 = performance.now();
  const ckpt = openCheckpoint(file);
  const t1 = performance.now();
  const kept: Float32Array[] = [];
  let values = 0;
  for (const e of convertToOpenAI(ckpt).tensors.values()) {
    const v = e.toFloat32();
    kept.push(v);
    values += v.length;
  }
  const t2 = performance.now();
  ckpt.close();
  const result: LoadResult = { open_ms: t1 - t0, total_ms: t2 - t0, maxrss_mb: peakRssMB(), values };
  process.stdout.write(JSON.stringify(result) + '\n');
}

function checkpointFile(): string | undefined {
  const fromEnv = process.env.CLIP_TS_BENCH_WEIGHTS;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const dir = path.join(os.tmpdir(), 'clip-ts-bench');
  const file = path.join(dir, 'ViT-B-32.random.openai.pt');
  if (existsSync(file)) return file;
  if (!hasPythonModule('torch')) return undefined;
  process.stderr.write(`making a random ViT-B/32 checkpoint in ${dir} (once)...\n`);
  const r = spawnSync(PYTHON, [path.join(packageRoot(), 'tools', 'make_checkpoints.py'), 'bench', '--preset', 'ViT-B/32', '--out', dir, '--formats', 'openai'],
    { stdio: ['ignore', 'ignore', 'inherit'] });
  return r.status === 0 && existsSync(file) ? file : undefined;
}

function ours(file: string): LoadResult {
  const self = fileURLToPath(import.meta.url);
  // execArgv carries tsx's loader when run as `npx tsx bench/weights.ts`.
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`load child failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as LoadResult;
}

function main(): void {
  if (process.argv[2] === '--child') {
    child(process.argv[3]);
    return;
  }
  const file = checkpointFile();
  if (file === undefined) {
    process.stdout.write('No checkpoint: set CLIP_TS_BENCH_WEIGHTS, or install python3-torch to make a random ViT-B/32.\n');
    return;
  }
  const mb = statSync(file).size / 1e6;
  const runs = Array.from({ length: REPS }, () => ours(file));
  const torchRuns = hasPythonModule('torch')
    ? Array.from({ length: REPS }, () => runPython<TorchResult>(path.join(packageRoot(), 'bench', 'python', 'weights_torch.py'), [file]))
    : [];
  const med = (xs: number[]): number => median(xs);
  const oursTotal = med(runs.map((r) => r.total_ms));
  const lines = [
    `Checkpoint: ${path.basename(file)} (${fmt(mb, 0)} MB, ${runs[0].values.toLocaleString('en-US')} values), OpenAI TorchScript format; median of ${REPS} fresh processes.`,
    '',
    '| step | clip-ts | PyTorch (torch.jit.load + .float()) | PyTorch / clip-ts |',
    '| --- | --- | --- | --- |',
  ];
  if (torchRuns.length > 0) {
    const torchTotal = med(torchRuns.map((r) => r.total_ms));
    lines.push(`| open / jit.load | ${fmt(med(runs.map((r) => r.open_ms)), 1)} ms | ${fmt(med(torchRuns.map((r) => r.load_ms)), 0)} ms | |`);
    lines.push(`| all tensors as float32 (total) | ${fmt(oursTotal, 0)} ms | ${fmt(torchTotal, 0)} ms | ${fmt(torchTotal / oursTotal)} |`);
    lines.push(`| peak RSS | ${fmt(med(runs.map((r) => r.maxrss_mb)), 0)} MB | ${fmt(med(torchRuns.map((r) => r.maxrss_mb)), 0)} MB | |`);
  } else {
    lines.push(`| open | ${fmt(med(runs.map((r) => r.open_ms)), 1)} ms | | |`);
    lines.push(`| all tensors as float32 (total) | ${fmt(oursTotal, 0)} ms | (python3-torch not installed) | |`);
    lines.push(`| peak RSS | ${fmt(med(runs.map((r) => r.maxrss_mb)), 0)} MB | | |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

main();
