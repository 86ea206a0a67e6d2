// metrics.jsonl (append, torn last line, truncation on resume), the progress line and the plots.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MetricsLog, type MetricsRow } from '../../src/train/metrics-log.js';
import { thin, writeTrainingPlots } from '../../src/train/plots.js';
import { TrainProgressLine, formatStepLine } from '../../src/train/progress-line.js';
import { tempDir } from './helpers.js';

const dir = tempDir();

function trainRow(step: number): MetricsRow {
  return {
    kind: 'train', step, epoch: 0, loss: 4 - step / 100, lr: 1e-3, logit_scale: 2.66, grad_norm: 1, samples_per_second: 10,
    samples_seen: step * 8, skipped_samples: 0, elapsed_seconds: step,
  };
}

describe('metrics log', () => {
  it('reads back appended rows, ignores a torn last line and truncates after a step', () => {
    const log = new MetricsLog(path.join(dir, 'metrics.jsonl'));
    for (let s = 1; s <= 5; s++) log.append(trainRow(s));
    log.append({ kind: 'eval', step: 5, image_to_text_r1: 50 });
    appendFileSync(log.file, '{"kind":"train","st');
    assert.deepEqual(log.read().map((r) => [r.kind, r.step]), [['train', 1], ['train', 2], ['train', 3], ['train', 4], ['train', 5], ['eval', 5]]);
    log.truncateAfter(3);
    assert.deepEqual(log.read().map((r) => r.step), [1, 2, 3]);
    appendFileSync(log.file, 'garbage\n');
    log.append(trainRow(4));
    assert.throws(() => log.read(), /metrics\.jsonl line 4: not valid JSON/);
  });
});

describe('progress line', () => {
  it('shows step, epoch, loss, logit scale, lr, throughput and ETA; plain lines at most every few seconds', () => {
    const info = { step: 120, totalSteps: 1000, epoch: 2, loss: 3.21234, lr: 4.9e-4, logitScale: Math.log(20), gradNorm: 1, samplesPerSecond: 55.5, etaSeconds: 3725, skippedSamples: 3 };
    assert.equal(formatStepLine(info), 'step 120/1000  epoch 2  loss 3.2123  scale 20.00  lr 4.90e-4  55.5 samples/s  ETA 1:02:05  skipped 3');
    const written: string[] = [];
    let t = 0;
    const line = new TrainProgressLine({ write: (s) => { written.push(s); return true; }, isTTY: false }, 5000, () => t);
    line.update(info);
    t = 1000;
    line.update({ ...info, step: 121 });
    t = 6000;
    line.update({ ...info, step: 122 });
    line.update({ ...info, step: 1000 }); // the last step is always shown
    assert.deepEqual(written.map((w) => w.split('  ')[0]), ['step 120/1000', 'step 122/1000', 'step 1000/1000']);
  });
});

describe('training plots', () => {
  it('thins long curves by averaging and writes SVG and PNG files', async () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ x: i + 1, y: i % 2 }));
    const t = thin(pts, 100);
    assert.equal(t.length, 100);
    assert.ok(t.every((p) => Math.abs(p.y - 0.5) < 0.06));
    const rows: MetricsRow[] = [...Array.from({ length: 50 }, (_, i) => trainRow(i + 1)), { kind: 'eval', step: 50, zeroshot_top1: 12.5, val_loss: 3 }];
    const files = await writeTrainingPlots(dir, rows);
    assert.deepEqual(files.map((f) => path.basename(f)), ['loss.svg', 'lr.svg', 'logit-scale.svg', 'eval.svg']);
    for (const f of files) assert.ok(existsSync(f.replace(/\.svg$/, '.png')));
  });
});
