// Exact resumption: 6 steps straight must give the same parameters, bit for bit, as 3 steps, a
// SIGKILL of the training process, and a resumed run of the remaining 3 (and as an in-process stop
// and resume). The data have 21 pairs, one of them a corrupt file, in batches of 8, so the run
// crosses epoch boundaries, drops epoch tails and skips the bad sample on the way.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { buildEmojiDataset } from '../../src/datasets/emoji.js';
import { loadModelFile } from '../../src/model/index.js';
import { native } from '../../src/tensor/index.js';
import { readLatest } from '../../src/train/checkpoint.js';
import type { MetricsRow, TrainMetrics } from '../../src/train/metrics-log.js';
import { tempDir } from './helpers.js';
import { resumeScenario, type ResumeScenario } from './resume-scenario.js';

/** Runs the child until it reports the checkpoint of step `killAfter`, then SIGKILLs it. */
function trainAndKill(scenario: ResumeScenario, scenarioFile: string): Promise<string> {
  writeFileSync(scenarioFile, JSON.stringify(scenario));
  const here = fileURLToPath(import.meta.url);
  const underTsx = here.endsWith('.ts');
  const child = path.join(path.dirname(here), underTsx ? 'resume-child.ts' : 'resume-child.js');
  const args = underTsx ? ['--import', 'tsx', child, scenarioFile] : [child, scenarioFile];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, {
      env: { ...process.env, CLIP_TS_THREADS: String(native().getThreads()) }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`child timed out; stderr: ${err}`)); }, 120_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(`checkpoint ${scenario.killAfter}\n`)) proc.kill('SIGKILL');
    });
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && out.includes(`checkpoint ${scenario.killAfter}`)) resolve(out);
      else reject(new Error(`child exited with ${code ?? signal} before the kill; stdout: ${out}; stderr: ${err}`));
    });
  });
}

function params(file: string): Map<string, Float32Array> {
  return new Map(loadModelFile(file).params.entries().map(([n, t]) => [n, t.data as Float32Array]));
}

function trainRows(out: string): TrainMetrics[] {
  return readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as MetricsRow).filter((r): r is TrainMetrics => r.kind === 'train');
}

function assertSameRun(a: string, b: string): void {
  const pa = params(path.join(a, 'model.safetensors'));
  const pb = params(path.join(b, 'model.safetensors'));
  assert.deepEqual([...pb.keys()], [...pa.keys()]);
  for (const [name, x] of pa) {
    const y = pb.get(name) as Float32Array;
    let differ = 0;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) differ++;
    assert.equal(differ, 0, `${name}: ${differ} of ${x.length} values differ`);
  }
  const ra = trainRows(a);
  const rb = trainRows(b);
  assert.deepEqual(rb.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  const fields = (r: TrainMetrics) => [r.step, r.epoch, r.loss, r.lr, r.logit_scale, r.grad_norm, r.samples_seen, r.skipped_samples];
  assert.deepEqual(rb.map(fields), ra.map(fields));
}

describe('exact resumption', () => {
  const dir = tempDir();
  let table = '';
  const straight = path.join(dir, 'straight');

  before(async () => {
    const data = path.join(dir, 'emoji');
    await buildEmojiDataset(data, { size: 32, styles: ['twemoji', 'openmoji'], classesLimit: 10, jobs: 2 });
    // A corrupt image among the pairs: skipped and counted, in the same place in every run.
    writeFileSync(path.join(data, 'images', 'broken.png'), 'not a png');
    const rows = readFileSync(path.join(data, 'labels.csv'), 'utf8').trim().split('\n');
    rows.splice(6, 0, 'images/broken.png,a broken file,broken,none,none');
    table = path.join(data, 'pairs.csv');
    writeFileSync(table, rows.join('\n') + '\n');
    const r = await resumeScenario({ out: straight, table, steps: 6, killAfter: 0 });
    assert.equal(r.finished, true);
    assert.ok(r.state.skippedSamples >= 1, 'the corrupt sample was never met');
  });

  it('SIGKILL after step 3 and --resume give the parameters of the straight run', async () => {
    const out = path.join(dir, 'killed');
    await trainAndKill({ out, table, steps: 6, killAfter: 3 }, path.join(dir, 'scenario.json'));
    assert.equal(readLatest(path.join(out, 'checkpoints'))?.step, 3);
    const r = await resumeScenario({ out, table, steps: 6, killAfter: 0 });
    assert.equal(r.resumedFrom, 3);
    assert.equal(r.finished, true);
    assertSameRun(straight, out);
  });

  it('an in-process stop after 3 steps and a resume give the same parameters', async () => {
    const out = path.join(dir, 'stopped');
    const first = await resumeScenario({ out, table, steps: 6, killAfter: 0 }, { stopAfter: 3 });
    assert.equal(first.finished, false);
    assert.equal(first.state.step, 3);
    const second = await resumeScenario({ out, table, steps: 6, killAfter: 0 });
    assert.equal(second.resumedFrom, 3);
    assertSameRun(straight, out);
  });

  it('refuses to resume with different options or data', async () => {
    await assert.rejects(
      () => resumeScenario({ out: straight, table: path.join(dir, 'emoji', 'labels.csv'), steps: 6, killAfter: 0 }),
      /training data differ/,
    );
    await assert.rejects(() => resumeScenario({ out: straight, table, steps: 7, killAfter: 0 }), /different options \(steps: 6 → 7\)/);
  });
});
