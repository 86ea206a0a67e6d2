// The progress reporter shared by classify, zeroshot-eval and datasets: a redrawn bar with rate and
// ETA on a terminal, plain periodic lines elsewhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Progress, formatDuration, type ProgressStream } from '../../src/cli/progress.js';

function fakeStream(isTTY: boolean): ProgressStream & { chunks: string[] } {
  const chunks: string[] = [];
  return { chunks, isTTY, columns: 100, write: (s: string) => { chunks.push(s); return true; } };
}

describe('progress', () => {
  it('formats durations', () => {
    assert.equal(formatDuration(0), '0:00');
    assert.equal(formatDuration(75), '1:15');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(NaN), '--:--');
  });

  it('redraws one terminal line with the bar, the rate and the ETA', () => {
    let t = 0;
    const s = fakeStream(true);
    const p = new Progress({ label: 'classifying', total: 100, unit: 'images', stream: s, now: () => t });
    t = 2000;
    p.update(50);
    assert.match(s.chunks[0], /^\rclassifying: \[#+\.+\] 50\/100 50% 25\.0 images\/s ETA 0:02$/);
    t = 2050;
    p.update(60); // within the redraw interval: not drawn
    assert.equal(s.chunks.length, 1);
    t = 4000;
    p.finish();
    assert.match(s.chunks.join(''), /classifying: 60 images in 0:04 \(15\.0 images\/s\) *\n$/);
    p.update(100); // ignored after finish
    assert.ok(s.chunks.join('').endsWith('\n'));
  });

  it('writes plain lines every few seconds when not on a terminal', () => {
    let t = 0;
    const s = fakeStream(false);
    const p = new Progress({ label: 'rendering', total: 10, unit: 'images', stream: s, now: () => t, lineMs: 5000 });
    t = 1000;
    p.update(1);
    assert.equal(s.chunks.length, 0);
    t = 5000;
    p.update(5);
    assert.deepEqual(s.chunks, ['rendering: 5/10 50% 1.00 images/s ETA 0:05\n']);
    p.finish();
    assert.equal(s.chunks.length, 2);
    assert.ok(!s.chunks.join('').includes('\r'));
  });
});
