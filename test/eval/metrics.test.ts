// Accuracy metrics and the seeded sampling of splits and shots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meanPerClassAccuracy, meanStd, perClassAccuracy, top1Accuracy } from '../../src/eval/metrics.js';
import { sampleShots, stratifiedSplit } from '../../src/eval/sampling.js';

test('top-1 and mean per-class accuracy', () => {
  const labels = [0, 0, 0, 0, 1, 2];
  const pred = [0, 0, 0, 1, 0, 2];
  assert.equal(top1Accuracy(pred, labels), (100 * 4) / 6);
  assert.deepEqual(perClassAccuracy(pred, labels, 4).slice(0, 3), [75, 0, 100]);
  assert.ok(Number.isNaN(perClassAccuracy(pred, labels, 4)[3]));
  // Class 3 has no examples and does not count.
  assert.equal(meanPerClassAccuracy(pred, labels, 4), (75 + 0 + 100) / 3);
  assert.throws(() => top1Accuracy([1], [1, 2]), /1 predictions for 2 labels/);
  assert.throws(() => top1Accuracy([], []), /no examples/);
});

test('mean and sample standard deviation', () => {
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0 });
  const r = meanStd([1, 2, 3, 4]);
  assert.equal(r.mean, 2.5);
  assert.ok(Math.abs(r.std - Math.sqrt(5 / 3)) < 1e-12);
});

test('the stratified split holds out about the fraction of every class and keeps one in training', () => {
  const labels = [...Array(10).fill(0), ...Array(5).fill(1), 2];
  const s = stratifiedSplit(labels, 3, 0.2, 7);
  const valBy = [0, 1, 2].map((c) => s.val.filter((i) => labels[i] === c).length);
  assert.deepEqual(valBy, [2, 1, 0]);
  assert.equal(s.train.length + s.val.length, labels.length);
  assert.equal(new Set([...s.train, ...s.val]).size, labels.length);
  assert.deepEqual(stratifiedSplit(labels, 3, 0.2, 7), s, 'same seed, same split');
  assert.notDeepEqual(stratifiedSplit(labels, 3, 0.2, 8).val, s.val);
});

test('k-shot samples are nested across k and refuse classes that are too small', () => {
  const labels = Array.from({ length: 60 }, (_, i) => i % 3);
  const classes = ['a', 'b', 'c'];
  const s2 = sampleShots(labels, classes, 2, 1);
  const s4 = sampleShots(labels, classes, 4, 1);
  assert.equal(s2.length, 6);
  assert.ok(s2.every((i) => s4.includes(i)));
  assert.deepEqual([0, 1, 2].map((c) => s4.filter((i) => labels[i] === c).length), [4, 4, 4]);
  assert.throws(() => sampleShots([0, 0, 1], ['a', 'b'], 2, 0), /class "b" has 1 training image, fewer than 2 shots/);
});
