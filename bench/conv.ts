// conv2d forward at the layer shapes of CLIP's RN50 image tower (ModifiedResNet, 224²) and the ViT
// patch embeddings, float32, against torch.nn.functional.conv2d (Debian's python3-torch, mkldnn)
// on the same shapes in the same run, at its best thread count. Medians of repeated runs.
//
//   npx tsx bench/conv.ts [batch]         (default batch 32; CONV_BENCH_REPS, CONV_BENCH_THREADS)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../src/paths.js';
import { native } from '../src/tensor/native.js';
import { fmt, median, timeRuns } from './common.js';

interface Shape {
  name: string; N: number; C: number; H: number; W: number; O: number; k: number; stride: number; pad: number; bias: boolean;
}

const N = Number(process.argv[2] ?? 32);
const reps = Number(process.env.CONV_BENCH_REPS ?? 5);
const nb = native();
const threads = Number(process.env.CONV_BENCH_THREADS ?? nb.getThreads());
nb.setThreads(threads);

const s = (name: string, C: number, H: number, O: number, k: number, stride: number, pad: number): Shape =>
  ({ name, N, C, H, W: H, O, k, stride, pad, bias: false });
const shapes: Shape[] = [
  s('stem conv1 3→32 3×3/2', 3, 224, 32, 3, 2, 1),
  s('stem conv2 32→32 3×3', 32, 112, 32, 3, 1, 1),
  s('stem conv3 32→64 3×3', 32, 112, 64, 3, 1, 1),
  s('layer1 1×1 256→64 @56', 256, 56, 64, 1, 1, 0),
  s('layer1 3×3 64→64 @56', 64, 56, 64, 3, 1, 1),
  s('layer1 1×1 64→256 @56', 64, 56, 256, 1, 1, 0),
  s('layer2 3×3 128→128 @28', 128, 28, 128, 3, 1, 1),
  s('layer2 1×1 128→512 @28', 128, 28, 512, 1, 1, 0),
  s('layer3 1×1 1024→256 @14', 1024, 14, 256, 1, 1, 0),
  s('layer3 3×3 256→256 @14', 256, 14, 256, 3, 1, 1),
  s('layer4 3×3 512→512 @7', 512, 7, 512, 3, 1, 1),
  s('layer4 1×1 512→2048 @7', 512, 7, 2048, 1, 1, 0),
  s('ViT-B/32 patch 3→768 32×32/32', 3, 224, 768, 32, 32, 0),
  s('ViT-B/16 patch 3→768 16×16/16', 3, 224, 768, 16, 16, 0),
];

function outHW(x: Shape): number {
  const o = Math.floor((x.H + 2 * x.pad - x.k) / x.stride) + 1;
  return o * o;
}
const gflop = (x: Shape) => (2 * x.N * x.O * outHW(x) * x.C * x.k * x.k) / 1e9;

async function ours(x: Shape): Promise<number> {
  const inp = new Float32Array(x.N * x.C * x.H * x.W).map(() => Math.random() - 0.5);
  const w = new Float32Array(x.O * x.C * x.k * x.k).map(() => Math.random() - 0.5);
  const out = new Float32Array(x.N * x.O * outHW(x));
  const times = await timeRuns(() => nb.conv2d(inp, w, null, out, x.N, x.C, x.H, x.W, x.O, x.k, x.k, x.stride, x.pad), reps, 1);
  return median(times);
}

function python(): string {
  if (process.env.PYTHON !== undefined) return process.env.PYTHON;
  // Debian's python3-torch lives in the system interpreter; a pyenv shim first on PATH lacks it.
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

type Peer = { version: string; ms: Record<string, Record<string, number>> } | string;

function torchPeer(which: Shape[]): Peer {
  const file = path.join(packageRoot(), 'bench', 'python', 'conv_torch.py');
  const counts = [...new Set([1, threads])].join(',');
  const r = spawnSync(python(), [file, JSON.stringify(which), String(reps), counts], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `torch peer unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  const lines = r.stdout.trim().split('\n');
  const j = JSON.parse(lines[lines.length - 1]) as { torch: string; ms: Record<string, Record<string, number>> };
  return { version: j.torch, ms: j.ms };
}

// Shape by shape, ours then the peer, so that both see the same machine load.
const mine: number[] = [];
const theirs: Peer[] = [];
for (const x of shapes) {
  mine.push(await ours(x));
  theirs.push(torchPeer([x]));
}
const peer = theirs.find((p) => typeof p !== 'string') ?? theirs[0];

console.log(`conv2d forward, float32, batch ${N}, clip-ts ${threads} thread(s), medians of ${reps}`);
if (typeof peer === 'string') console.log(`\n${peer}`);
else console.log(`torch ${peer.version}: best of 1 and ${threads} thread(s), oneDNN on and off`);
console.log('\n| layer | GFLOP | clip-ts ms | GFLOP/s | torch ms (config) | clip-ts / torch |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
let sumMine = 0;
let sumTorch = 0;
let complete = true;
shapes.forEach((x, i) => {
  let torchCell = '–';
  let ratio = '–';
  const p = theirs[i];
  if (typeof p !== 'string') {
    const [bestT, best] = Object.entries(p.ms[x.name]).sort((a, b) => a[1] - b[1])[0];
    torchCell = `${fmt(best, 1)} (${bestT})`;
    ratio = fmt(mine[i] / best);
    sumTorch += best;
  } else {
    complete = false;
  }
  sumMine += mine[i];
  console.log(`| ${x.name} | ${fmt(gflop(x), 2)} | ${fmt(mine[i], 1)} | ${fmt(gflop(x) / (mine[i] / 1e3), 0)} | ${torchCell} | ${ratio} |`);
});
if (complete) console.log(`| **sum** | | ${fmt(sumMine, 1)} | | ${fmt(sumTorch, 1)} | ${fmt(sumMine / sumTorch)} |`);
