// The progress line: redrawn in place on a terminal, plain lines at 10 % steps otherwise.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressReporter } from '../../src/weights/progress.js';

function sink(isTTY: boolean): { text: string; isTTY: boolean; write(s: string): boolean } {
  return { text: '', isTTY, write(s: string) { this.text += s; return true; } };
}

describe('ProgressReporter', () => {
  it('prints one plain line per 10 % step when not on a terminal', () => {
    const s = sink(false);
    const p = new ProgressReporter(s, 'x.pt', 1_000_000);
    for (let b = 0; b <= 1_000_000; b += 10_000) p.update(b);
    p.finish('done');
    const lines = s.text.trim().split('\n');
    assert.equal(lines.length, 12); // 0 %, 10 %, ..., 100 %, then the message
    assert.match(lines[5], /^x\.pt {2}0\.5\/1\.0 MB {2}50\.0% {2}[\d.]+ MB\/s {2}ETA (\d+:\d\d|--:--)$/);
    assert.equal(lines.at(-1), 'done');
  });

  it('redraws one line on a terminal and ends it before the message', () => {
    const s = sink(true);
    const p = new ProgressReporter(s, 'x.pt', undefined, 2_000_000);
    p.update(3_000_000);
    p.finish('done');
    assert.match(s.text, /^\rx\.pt {2}3\.0 MB {2}[\d.]+ MB\/s\x1b\[K/);
    assert.ok(s.text.endsWith('\ndone\n'));
  });
});
