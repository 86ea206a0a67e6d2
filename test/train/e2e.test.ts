// End to end through the command: a tiny ViT CLIP trained from scratch on 48 emoji pairs (24
// classes in 2 styles, 32 px) for 120 steps. The loss must fall and retrieval recall must rise above
// chance; the run's files (metrics, plots, checkpoints, final model) must be there and readable.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { run } from '../../src/cli/train.js';
import { buildEmojiDataset } from '../../src/datasets/emoji.js';
import { loadModelFile } from '../../src/model/index.js';
import type { EvalMetrics, MetricsRow, TrainMetrics } from '../../src/train/metrics-log.js';
import { E2E_CONFIG, tempDir } from './helpers.js';

describe('clip-ts train end to end (emoji, tiny ViT)', () => {
  const dir = tempDir();
  const data = path.join(dir, 'emoji');
  const out = path.join(dir, 'run');
  let rows: MetricsRow[] = [];
  let code = -1;

  before(async () => {
    await buildEmojiDataset(data, { size: 32, styles: ['twemoji', 'openmoji'], classesLimit: 24, jobs: 2 });
    const config = path.join(dir, 'tiny.json');
    writeFileSync(config, JSON.stringify(E2E_CONFIG));
    code = await run([
      '--out', out, '--config', config, '--data', path.join(data, 'labels.csv'),
      '--val-data', path.join(data, 'labels.csv'), '--val-filter', 'style=twemoji',
      '--eval-zeroshot', path.join(data, 'labels.csv'), '--eval-filter', 'style=openmoji',
      '--batch-size', '16', '--steps', '120', '--lr', '1e-3', '--warmup', '5', '--eval-every', '60',
      '--log-every', '5', '--checkpoint-every', '60', '--workers', '0', '--quiet',
    ]);
    rows = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsRow);
  });

  it('finishes and writes the model, checkpoints, metrics and plots', () => {
    assert.equal(code, 0);
    const model = loadModelFile(path.join(out, 'model.safetensors'));
    assert.deepEqual(model.config, E2E_CONFIG);
    const latest = JSON.parse(readFileSync(path.join(out, 'checkpoints', 'latest.json'), 'utf8')) as { step: number };
    assert.equal(latest.step, 120);
    for (const f of ['loss', 'lr', 'logit-scale', 'eval']) {
      assert.ok(existsSync(path.join(out, 'plots', `${f}.svg`)), `${f}.svg`);
      assert.ok(existsSync(path.join(out, 'plots', `${f}.png`)), `${f}.png`);
    }
    const run = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8')) as { options: { steps: number; batchSize: number } };
    assert.equal(run.options.steps, 120);
    assert.equal(run.options.batchSize, 16);
  });

  it('lowers the loss and lifts retrieval recall above chance', () => {
    const train = rows.filter((r): r is TrainMetrics => r.kind === 'train');
    const evals = rows.filter((r): r is EvalMetrics => r.kind === 'eval');
    assert.equal(train.length, 24);
    assert.deepEqual(evals.map((e) => e.step), [0, 60, 120]);
    const first = train[0].loss;
    const last = train[train.length - 1].loss;
    assert.ok(last < first - 1, `loss ${first} -> ${last}`);
    const [start, end] = [evals[0], evals[evals.length - 1]];
    // 24 captions: chance is 1/24 for R@1 and 5/24 for R@5.
    assert.ok((end.image_to_text_r5 ?? 0) > 2 * (100 * 5) / 24, `image->text R@5 ${end.image_to_text_r5}`);
    assert.ok((end.text_to_image_r5 ?? 0) > 2 * (100 * 5) / 24, `text->image R@5 ${end.text_to_image_r5}`);
    assert.ok((end.image_to_text_r1 ?? 0) > 3 * 100 / 24, `image->text R@1 ${end.image_to_text_r1}`);
    assert.ok((end.text_to_image_r1 ?? 0) > 3 * 100 / 24, `text->image R@1 ${end.text_to_image_r1}`);
    assert.ok((end.val_loss ?? Infinity) < (start.val_loss ?? 0), `held-out loss ${start.val_loss} -> ${end.val_loss}`);
    assert.equal(typeof end.zeroshot_top1, 'number');
    assert.ok(train.every((r) => r.lr >= 0 && Number.isFinite(r.logit_scale) && r.samples_per_second > 0));
  });
});
