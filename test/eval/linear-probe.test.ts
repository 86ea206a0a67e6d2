// The linear-probe protocol (C search, refit, scoring) and few-shot evaluation on generated data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fewShotEvaluation } from '../../src/eval/few-shot.js';
import { linearProbe, searchC, sweepC, type SweepPoint } from '../../src/eval/linear-probe.js';
import { clusters } from './synthetic.js';

test('the C search starts on the 2-decade grid and refines to 1/8 decade around the peak', () => {
  const peak = 1.3; // log10 C of the best score
  const r = searchC((C: number): SweepPoint => ({ C, accuracy: 100 - Math.abs(Math.log10(C) - peak), loss: 0, iterations: 0, converged: true }));
  const exps = r.points.map((p) => Math.log10(p.C));
  assert.deepEqual(exps.slice(0, 7).map((e) => Math.round(e)), [-6, -4, -2, 0, 2, 4, 6]);
  assert.ok(Math.abs(Math.log10(r.bestC) - peak) <= 1 / 16 + 1e-9, `best log10 C ${Math.log10(r.bestC)}`);
  assert.ok(r.points.length <= 7 + 8, `${r.points.length} fits`);
  assert.equal(new Set(exps.map((e) => e.toFixed(6))).size, exps.length, 'no C fitted twice');
});

test('ties in accuracy go to the lower validation loss', () => {
  const r = searchC((C: number) => ({ C, accuracy: 50, loss: Math.abs(Math.log10(C) + 3), iterations: 0, converged: true }), { stepsPerDecade: 1 });
  assert.equal(Math.round(Math.log10(r.bestC)), -3);
});

test('linear probe on clusters: sweep, refit, high accuracy, probabilities sum to 1', () => {
  // Train and test must share the centres: one draw, split by rows.
  const all = clusters(3, 5, 60, 16, 1.0);
  const trainRows = all.labels.map((_, i) => i).filter((i) => i % 3 !== 0);
  const testRows = all.labels.map((_, i) => i).filter((i) => i % 3 === 0);
  const pick = (rows: number[]) => ({
    features: { data: Float64Array.from(rows.flatMap((r) => Array.from(all.features.data.subarray(r * 16, (r + 1) * 16)))), rows: rows.length, dim: 16 },
    labels: rows.map((r) => all.labels[r]),
  });
  const points: SweepPoint[] = [];
  const r = linearProbe(pick(trainRows), pick(testRows), 5, { onSweepPoint: (p) => points.push(p) });
  assert.ok(r.sweep !== undefined && r.sweep.length === points.length && points.length >= 7);
  assert.ok(r.accuracy > 80, `accuracy ${r.accuracy}`);
  assert.ok(r.meanPerClass > 80);
  assert.equal(r.probabilities.length, testRows.length * 5);
  for (let i = 0; i < testRows.length; i++) {
    let s = 0;
    for (let c = 0; c < 5; c++) s += r.probabilities[i * 5 + c];
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  // A fixed C skips the sweep.
  const fixed = linearProbe(pick(trainRows), pick(testRows), 5, { C: 0.5 });
  assert.equal(fixed.sweep, undefined);
  assert.equal(fixed.C, 0.5);
});

test('an explicit validation set is used for the sweep, then folded into the final fit', () => {
  const a = clusters(4, 3, 30, 8, 1.5);
  const half = (parity: number) => {
    const rows = a.labels.map((_, i) => i).filter((i) => i % 2 === parity);
    return {
      features: { data: Float64Array.from(rows.flatMap((r) => Array.from(a.features.data.subarray(r * 8, (r + 1) * 8)))), rows: rows.length, dim: 8 },
      labels: rows.map((r) => a.labels[r]),
    };
  };
  const direct = sweepC(half(0), half(1), 3);
  const r = linearProbe(half(0), half(1), 3, { val: half(1) });
  assert.equal(r.C, direct.bestC);
});

test('linear probe errors: empty sets, no validation images, different dimensions', () => {
  const a = clusters(5, 3, 1, 4, 1);
  const empty = { features: { data: new Float64Array(0), rows: 0, dim: 4 }, labels: [] };
  assert.throws(() => linearProbe(empty, a, 3), /training set is empty/);
  assert.throws(() => linearProbe(a, empty, 3), /test set is empty/);
  assert.throws(() => linearProbe(a, a, 3), /validation split is empty/);
  const b = clusters(5, 3, 4, 5, 1);
  assert.throws(() => linearProbe(b, a, 3, { C: 1 }), /5 dimensions, test features 4/);
});

test('few-shot: one run per (k, seed), mean ± std per k, accuracy grows with k', () => {
  const all = clusters(6, 4, 40, 12, 0.6);
  const rows = (keep: (i: number) => boolean) => {
    const ix = all.labels.map((_, i) => i).filter(keep);
    return {
      features: { data: Float64Array.from(ix.flatMap((r) => Array.from(all.features.data.subarray(r * 12, (r + 1) * 12)))), rows: ix.length, dim: 12 },
      labels: ix.map((r) => all.labels[r]),
    };
  };
  // Rows cycle through the 4 classes: alternate blocks of 4 keep every class in both halves.
  const train = rows((i) => Math.floor(i / 4) % 2 === 0);
  const testSet = rows((i) => Math.floor(i / 4) % 2 === 1);
  const seen: string[] = [];
  const r = fewShotEvaluation(train, testSet, ['a', 'b', 'c', 'd'], {
    shots: [1, 2, 8], seeds: [0, 1, 2], onRun: (run) => seen.push(`${run.shots}/${run.seed}`),
  });
  assert.equal(r.runs.length, 9);
  assert.deepEqual(seen.slice(0, 3), ['1/0', '1/1', '1/2']);
  assert.deepEqual(r.summary.map((s) => s.shots), [1, 2, 8]);
  for (const s of r.summary) {
    assert.equal(s.seeds, 3);
    assert.ok(s.accuracy.std >= 0 && s.accuracy.mean >= 0 && s.accuracy.mean <= 100);
  }
  assert.ok(r.summary[2].accuracy.mean > r.summary[0].accuracy.mean, `8-shot ${r.summary[2].accuracy.mean} vs 1-shot ${r.summary[0].accuracy.mean}`);
  assert.ok(r.runs.filter((x) => x.shots === 1).every((x) => x.C === 1), 'k = 1 uses oneShotC');
  const fixed = fewShotEvaluation(train, testSet, ['a', 'b', 'c', 'd'], { shots: [2], seeds: [0], C: 0.1 });
  assert.equal(fixed.runs[0].C, 0.1);
  assert.throws(() => fewShotEvaluation(train, testSet, ['a', 'b', 'c', 'd'], { shots: [50] }), /class "a" has 20 training images, fewer than 50 shots/);
});
