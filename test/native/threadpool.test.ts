// The thread pool under resizing (a smoke test; the race it guards against was rare): a worker
// started by setThreads must not take the round in progress for a new one after finishing it, which
// decremented the pending count twice, so ParallelFor could return while a worker was still inside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.js';

test('threadpool: parallel kernels stay correct while the thread count changes between them', () => {
  const nb = native();
  const before = nb.getThreads();
  const n = 1 << 20;
  const a = new Float32Array(n).fill(1);
  const b = new Float32Array(n).fill(2);
  const out = new Float32Array(n);
  try {
    for (let i = 0; i < 1000; i++) {
      nb.setThreads(i % 2 === 0 ? 3 : 1);
      out.fill(0);
      nb.add(a, b, out); // split over the pool
      assert.equal(nb.sumAll(out), 3 * n, `round ${i}`);
    }
  } finally {
    nb.setThreads(before);
  }
});
