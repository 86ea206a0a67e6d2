// Forward+backward of a Transformer MLP block and of one residual attention block, clip-ts vs
// PyTorch 1.13 (bench/python/blocks_torch.py) on the same shapes in the same run.
import path from 'node:path';
import { residualBlock } from '../src/model/transformer.js';
import { ParamStore } from '../src/model/params.js';
import { Tensor, backward, linear, native, quickGelu, type Shape } from '../src/tensor/index.js';
import { packageRoot } from '../src/paths.js';
import { fmt, hasPythonModule, median, pythonEnv, runPython, timeRuns } from './common.js';

function randomTensor(shape: Shape, scale: number, requiresGrad: boolean): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    d[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return new Tensor(d, shape, requiresGrad);
}

function clearGrads(ts: Tensor[]): void {
  for (const t of ts) t.grad = null;
}

async function main(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? 7);
  // MLP block
  const x = randomTensor([3200, 768], 1, true);
  const w1 = randomTensor([3072, 768], 0.03, true);
  const b1 = randomTensor([3072], 0.01, true);
  const w2 = randomTensor([768, 3072], 0.02, true);
  const b2 = randomTensor([768], 0.01, true);
  const g = randomTensor([3200, 768], 1, false);
  const mlpTimes = await timeRuns(() => {
    clearGrads([x, w1, b1, w2, b2]);
    const y = linear(quickGelu(linear(x, w1, b1)), w2, b2);
    backward(y, g.data);
  }, reps, 2);

  // Residual attention block, ViT-B width
  const W = 768;
  const p = new ParamStore();
  const pre = 'blk';
  const set = (n: string, shape: Shape, scale: number): void => p.set(`${pre}.${n}`, randomTensor(shape, scale, true));
  set('ln_1.weight', [W], 1); set('ln_1.bias', [W], 0.1);
  set('attn.in_proj_weight', [3 * W, W], 0.03); set('attn.in_proj_bias', [3 * W], 0.01);
  set('attn.out_proj.weight', [W, W], 0.03); set('attn.out_proj.bias', [W], 0.01);
  set('ln_2.weight', [W], 1); set('ln_2.bias', [W], 0.1);
  set('mlp.c_fc.weight', [4 * W, W], 0.03); set('mlp.c_fc.bias', [4 * W], 0.01);
  set('mlp.c_proj.weight', [W, 4 * W], 0.02); set('mlp.c_proj.bias', [W], 0.01);
  const xb = randomTensor([64, 50, W], 1, true);
  const gb = randomTensor([64, 50, W], 1, false);
  const params = p.parameters().map(([, t]) => t);
  const blockTimes = await timeRuns(() => {
    clearGrads([xb, ...params]);
    const y = residualBlock(p, pre, xb, 12, false, 'quickGelu');
    backward(y, gb.data);
  }, reps, 2);

  const ours = { mlp: median(mlpTimes), block: median(blockTimes) };
  console.log(`clip-ts threads: ${native().getThreads()}; medians of ${reps} runs\n`);
  if (!hasPythonModule('torch')) {
    console.log('| case | clip-ts ms |\n| --- | --- |');
    console.log(`| MLP fwd+bwd | ${fmt(ours.mlp, 1)} |\n| attention block fwd+bwd | ${fmt(ours.block, 1)} |`);
    console.log('\nPyTorch not installed (apt-get install python3-torch): no ratio.');
    return;
  }
  const script = path.join(packageRoot(), 'bench', 'python', 'blocks_torch.py');
  type TorchRun = { torch: string; blas: string; threads: Record<string, { mlp: number[]; block: number[] }> };
  const runs: [string, TorchRun][] = [
    ['machine env', runPython<TorchRun>(script, [String(reps)], pythonEnv(false))],
    ['tuned env', runPython<TorchRun>(script, [String(reps)], pythonEnv(true))],
  ];
  const best = (k: 'mlp' | 'block', only?: string): { ms: number; where: string } => {
    let r = { ms: Infinity, where: '' };
    for (const [env, run] of runs) {
      if (only !== undefined && env !== only) continue;
      for (const [t, v] of Object.entries(run.threads)) {
        if (median(v[k]) < r.ms) r = { ms: median(v[k]), where: `${t}T, ${env}, OpenBLAS ${run.blas}` };
      }
    }
    return r;
  };
  // clip-ts again after PyTorch, so a load change during the run shows up on both sides.
  const again = { mlp: median(await timeRuns(() => { clearGrads([x, w1, b1, w2, b2]); backward(linear(quickGelu(linear(x, w1, b1)), w2, b2), g.data); }, reps, 1)),
    block: median(await timeRuns(() => { clearGrads([xb, ...params]); backward(residualBlock(p, pre, xb, 12, false, 'quickGelu'), gb.data); }, reps, 1)) };
  console.log(`PyTorch ${runs[0][1].torch}: fastest of 1 and 2 threads, in the machine's environment (OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? 'unset'}) and a tuned one (OpenBLAS's own CPU detection, malloc kept from unmapping); clip-ts measured before and after PyTorch, best of the two.\n`);
  console.log('| case | clip-ts ms | PyTorch ms (best setting) | clip-ts / PyTorch time | target | PyTorch ms, machine env | clip-ts / that |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [k, label] of [['mlp', 'MLP x[3200,768]→3072→QuickGELU→768, fwd+bwd'], ['block', 'residual attention block 768w/12h, 50 tok, batch 64, fwd+bwd']] as const) {
    const t = best(k);
    const mine = Math.min(ours[k], again[k]);
    const m = best(k, 'machine env');
    console.log(`| ${label} | ${fmt(mine, 1)} | ${fmt(t.ms, 1)} (${t.where}) | **${fmt(mine / t.ms, 3)}** | ≤ 0.8 | ${fmt(m.ms, 1)} (${m.where}) | ${fmt(mine / m.ms, 3)} |`);
  }
}

await main();
