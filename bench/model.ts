// Image and text embedding throughput of full-size ViT-B/32 and RN50 (random weights in OpenAI's
// format, made by tools/make_checkpoints.py), clip-ts fp32/bf16 vs PyTorch 1.13 (eager, fastest
// thread count) vs onnxruntime-node on an ONNX export of the same model; and the peak RSS of
// ViT-B/32 fp32 inference.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModelFile } from '../src/model/load.js';
import type { ClipModel } from '../src/model/clip.js';
import { Tensor, native, noGrad, setMatmulPrecision, type MatmulPrecision } from '../src/tensor/index.js';
import { packageRoot } from '../src/paths.js';
import { PYTHON, fmt, hasPythonModule, median, peakRssMB, pythonEnv, runPython, timeRuns } from './common.js';

const PROMPT = [49406, 320, 1125, 539, 320, 2368, 269, 49407]; // "a photo of a cat."
// BENCH_MODEL_PRESETS (comma-separated) picks a subset, e.g. `ViT-B/32`.
const PRESETS = (process.env.BENCH_MODEL_PRESETS ?? 'ViT-B/32,RN50').split(',').map((s) => s.trim()).filter((s) => s !== '');
const CASES = ['image1', 'image32', 'text1', 'text32'] as const;
type Case = typeof CASES[number];

function pixels(batch: number, size: number): Float32Array {
  const d = new Float32Array(batch * 3 * size * size);
  let s = 7;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = (s / 4294967296) * 4 - 2;
  }
  return d;
}

function tokens(batch: number): Int32Array {
  const t = new Int32Array(batch * 77);
  for (let b = 0; b < batch; b++) t.set(PROMPT, b * 77);
  return t;
}

function checkpointFor(preset: string, dir: string): string {
  const file = path.join(dir, `${preset.replace('/', '-')}.random.openai.pt`);
  if (!existsSync(file)) {
    const r = spawnSync(PYTHON, [path.join(packageRoot(), 'tools', 'make_checkpoints.py'), 'bench', '--preset', preset, '--out', dir, '--formats', 'openai'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`make_checkpoints.py failed for ${preset}`);
  }
  return file;
}

async function timeClipTs(model: ClipModel, reps: number): Promise<Record<Case, number>> {
  const S = model.imageSize;
  const out = {} as Record<Case, number>;
  for (const batch of [1, 32]) {
    const img = new Tensor(pixels(batch, S), [batch, 3, S, S]);
    const tok = tokens(batch);
    const n = batch === 1 ? reps : Math.max(2, reps >> 1);
    out[`image${batch}` as Case] = median(await timeRuns(() => noGrad(() => model.encodeImage(img)), n));
    out[`text${batch}` as Case] = median(await timeRuns(() => noGrad(() => model.encodeText(tok)), n));
  }
  return out;
}

interface OrtModule {
  InferenceSession: { create(p: string, o: Record<string, unknown>): Promise<{ run(feeds: Record<string, unknown>): Promise<unknown> }> };
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => unknown;
}

async function timeOrt(prefix: string, size: number, reps: number): Promise<Record<Case, number> | string> {
  let ort: OrtModule;
  try {
    ort = (await import('onnxruntime-node')) as unknown as OrtModule;
  } catch {
    return 'onnxruntime-node not installed';
  }
  const opts = { intraOpNumThreads: native().getThreads(), interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  const image = await ort.InferenceSession.create(`${prefix}.image.onnx`, opts);
  const text = await ort.InferenceSession.create(`${prefix}.text.onnx`, opts);
  const out = {} as Record<Case, number>;
  for (const batch of [1, 32]) {
    const px = new ort.Tensor('float32', pixels(batch, size), [batch, 3, size, size]);
    const ids = new ort.Tensor('int64', BigInt64Array.from(tokens(batch), (v) => BigInt(v)), [batch, 77]);
    const n = batch === 1 ? reps : Math.max(2, reps >> 1);
    out[`image${batch}` as Case] = median(await timeRuns(() => image.run({ pixels: px }), n));
    out[`text${batch}` as Case] = median(await timeRuns(() => text.run({ ids }), n));
  }
  return out;
}

/** Child-process mode: load ViT-B/32, embed a batch of 32 images and texts, print the peak RSS. */
function rssMode(file: string): void {
  const model = loadModelFile(file);
  noGrad(() => {
    model.encodeImage(new Tensor(pixels(32, model.imageSize), [32, 3, model.imageSize, model.imageSize]));
    model.encodeText(tokens(32));
  });
  console.log(JSON.stringify({ maxRssMB: peakRssMB() }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--rss') {
    rssMode(process.argv[3]);
    return;
  }
  const reps = Number(process.env.BENCH_REPS ?? 5);
  const dir = path.join(tmpdir(), 'clip-ts-bench');
  mkdirSync(dir, { recursive: true });
  const haveTorch = hasPythonModule('torch');
  if (!haveTorch) {
    console.log('PyTorch is not installed (apt-get install python3-torch): the peers and the random checkpoints need it.');
    return;
  }
  console.log(`threads: clip-ts ${native().getThreads()}, onnxruntime intra-op ${native().getThreads()}, PyTorch best of 1 and 2; medians (ms); ratio = peer time / clip-ts time (> 1: clip-ts faster)\n`);
  for (const preset of PRESETS) {
    const file = checkpointFor(preset, dir);
    const results: Record<string, Record<Case, number> | string> = {};
    for (const precision of ['fp32', 'bf16'] as MatmulPrecision[]) {
      setMatmulPrecision(precision);
      const model = loadModelFile(file);
      results[`clip-ts ${precision}`] = await timeClipTs(model, reps);
    }
    setMatmulPrecision('fp32');
    // PyTorch in the machine's environment and in a tuned one (see pythonEnv); best of both and of 1/2 threads.
    type TorchRun = { torch: string; threads: Record<string, Record<Case, number[]>> };
    const torchRuns = [false, true].map((tuned) => runPython<TorchRun>(path.join(packageRoot(), 'bench', 'python', 'model_torch.py'), ['time', file, String(reps)], pythonEnv(tuned)));
    const best = {} as Record<Case, number>;
    for (const c of CASES) best[c] = Math.min(...torchRuns.flatMap((run) => Object.values(run.threads).map((r) => median(r[c]))));
    results[`PyTorch ${torchRuns[0].torch}`] = best;
    const prefix = path.join(dir, preset.replace('/', '-'));
    if (!existsSync(`${prefix}.text.onnx`)) runPython(path.join(packageRoot(), 'bench', 'python', 'model_torch.py'), ['onnx', file, prefix]);
    results['onnxruntime-node'] = await timeOrt(prefix, 224, reps);

    console.log(`### ${preset}\n`);
    console.log(`| engine | ${CASES.map((c) => c.replace(/(\d+)/, ' batch $1')).join(' | ')} |`);
    console.log(`| --- | ${CASES.map(() => '---').join(' | ')} |`);
    const ours = results['clip-ts fp32'] as Record<Case, number>;
    for (const [engine, r] of Object.entries(results)) {
      if (typeof r === 'string') {
        console.log(`| ${engine} | ${r} |`);
        continue;
      }
      const cells = CASES.map((c) => engine === 'clip-ts fp32' ? `${fmt(r[c], 1)}` : `${fmt(r[c], 1)} (×${fmt(r[c] / ours[c], 2)})`);
      console.log(`| ${engine} | ${cells.join(' | ')} |`);
    }
    console.log('\n(×N: that engine\'s time divided by clip-ts fp32\'s; for PyTorch and onnxruntime it is clip-ts fp32\'s speed-up over them, for clip-ts bf16 < 1 means bf16 is faster)\n');
  }
  const vit = checkpointFor('ViT-B/32', dir);
  const me = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, me, '--rss', vit], { encoding: 'utf8' });
  if (r.status === 0) {
    const { maxRssMB } = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { maxRssMB: number };
    console.log(`Peak RSS, ViT-B/32 fp32: load + batch 32 images + 32 texts: **${fmt(maxRssMB, 0)} MB** (target < 900 MB)`);
  } else {
    console.log(`peak RSS run failed: ${r.stderr}`);
  }
}

await main();
