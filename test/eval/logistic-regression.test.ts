// Logistic regression against scikit-learn 1.2.1: the shared LFW fixture (binary) and generated
// multinomial problems (test/data/probe/reference.json, made by tools/make_probe_reference.py).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { FeatureMatrix } from '../../src/eval/feature-matrix.js';
import { fitLogisticRegression } from '../../src/eval/logistic-regression.js';
import { top1Accuracy } from '../../src/eval/metrics.js';
import { packageRoot } from '../../src/paths.js';
import { compareFixture, describeFailures, readF32, readJson } from '../helpers/fixtures.js';

interface ReferenceFit { C: number; coef: number[][]; intercept: number[]; n_iter: number; objective: number; test_proba: number[][] }
interface ReferenceProblem {
  name: string; num_classes: number; dim: number;
  train_features: number[][]; train_labels: number[]; test_features: number[][]; test_labels: number[];
  fits: ReferenceFit[];
}

const reference = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'data', 'probe', 'reference.json'), 'utf8')) as {
  problems: ReferenceProblem[];
};

function matrix(rows: number[][]): FeatureMatrix {
  return { data: Float64Array.from(rows.flat()), rows: rows.length, dim: rows[0].length };
}

interface LfwManifest {
  classifier: { C: number; max_iter: number };
  sets: { lfw_faces: { labels: number[]; intercept: number[]; n_iter: number[]; accuracy_percent: number; test_predictions: number[] } };
}

test('LFW faces (fixture): coef, test probabilities and accuracy match scikit-learn', () => {
  const manifest = readJson<LfwManifest>('linear_probe/manifest.json');
  const set = manifest.sets.lfw_faces;
  const all = readF32('linear_probe/lfw_faces_features.f32');
  const dim = all.length / set.labels.length;
  const pick = (parity: number): { x: FeatureMatrix; y: number[] } => {
    const idx = set.labels.map((_, i) => i).filter((i) => i % 2 === parity);
    const data = new Float32Array(idx.length * dim);
    idx.forEach((r, i) => data.set(all.subarray(r * dim, (r + 1) * dim), i * dim));
    return { x: { data, rows: idx.length, dim }, y: idx.map((i) => set.labels[i]) };
  };
  const train = pick(0);
  const testSet = pick(1);
  const { model, report } = fitLogisticRegression(train.x, train.y, 2, { C: manifest.classifier.C, maxIterations: manifest.classifier.max_iter });
  assert.ok(report.converged);
  assert.ok(Math.abs(report.iterations - set.n_iter[0]) <= 2, `${report.iterations} iterations, scikit-learn ${set.n_iter[0]}`);
  assert.ok(model.binary);
  assert.equal(model.coef.length, dim);
  const coef = compareFixture('linear_probe/lfw_faces/coef', model.coef);
  assert.ok(coef.pass, describeFailures(coef));
  assert.ok(Math.abs(model.intercept[0] - set.intercept[0]) <= 1e-2, `intercept ${model.intercept[0]} vs ${set.intercept[0]}`);
  const proba = model.predictProba(testSet.x);
  const p = compareFixture('linear_probe/lfw_faces/test_proba', proba);
  assert.ok(p.pass, describeFailures(p));
  const pred = model.predict(testSet.x);
  assert.deepEqual(Array.from(pred), set.test_predictions);
  assert.equal(top1Accuracy(pred, testSet.y), set.accuracy_percent);
});

test('generated problems (binary and multinomial): same solution, objective and iterations as scikit-learn', () => {
  for (const p of reference.problems) {
    const xtr = matrix(p.train_features);
    const xte = matrix(p.test_features);
    for (const ref of p.fits) {
      const what = `${p.name}, C=${ref.C}`;
      const { model, report } = fitLogisticRegression(xtr, p.train_labels, p.num_classes, { C: ref.C });
      assert.ok(report.converged, `${what}: ${report.reason}`);
      assert.ok(Math.abs(report.iterations - ref.n_iter) <= 2, `${what}: ${report.iterations} iterations, scikit-learn ${ref.n_iter}`);
      assert.ok(Math.abs(report.objective - ref.objective) <= 1e-7 * Math.max(1, Math.abs(ref.objective)), `${what}: objective ${report.objective} vs ${ref.objective}`);
      const coef = ref.coef.flat();
      assert.equal(model.coef.length, coef.length, what);
      coef.forEach((v, i) => assert.ok(Math.abs(model.coef[i] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${what}: coef[${i}] ${model.coef[i]} vs ${v}`));
      ref.intercept.forEach((v, i) => assert.ok(Math.abs(model.intercept[i] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${what}: intercept[${i}]`));
      const proba = model.predictProba(xte);
      ref.test_proba.flat().forEach((v, i) => assert.ok(Math.abs(proba[i] - v) <= 1e-6, `${what}: proba[${i}] ${proba[i]} vs ${v}`));
    }
  }
});

/** Two well separated clusters: the unregularised optimum is at infinity. */
function separable(n: number): { x: FeatureMatrix; y: number[] } {
  const data = new Float64Array(n * 2);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    y.push(c);
    data[2 * i] = (c === 0 ? -5 : 5) + Math.sin(i);
    data[2 * i + 1] = Math.cos(3 * i);
  }
  return { x: { data, rows: n, dim: 2 }, y };
}

test('separable data stays finite for tiny and huge C', () => {
  const { x, y } = separable(40);
  for (const C of [1e-8, 1e-6, 1, 1e6, 1e10]) {
    const { model, report } = fitLogisticRegression(x, y, 2, { C });
    assert.ok(Number.isFinite(report.objective), `C=${C}`);
    assert.ok([...model.coef, ...model.intercept].every(Number.isFinite), `C=${C}: coefficients`);
    const proba = model.predictProba(x);
    assert.ok(proba.every((v) => Number.isFinite(v) && v >= 0 && v <= 1), `C=${C}: probabilities`);
    if (C >= 1) assert.equal(top1Accuracy(model.predict(x), y), 100);
  }
  // Multinomial too (three separable classes).
  const data = new Float64Array(30 * 2);
  const y3 = Array.from({ length: 30 }, (_, i) => i % 3);
  y3.forEach((c, i) => { data[2 * i] = 10 * c + Math.sin(i); data[2 * i + 1] = -7 * c; });
  const r3 = fitLogisticRegression({ data, rows: 30, dim: 2 }, y3, 3, { C: 1e8 });
  assert.ok(Number.isFinite(r3.report.objective));
  assert.equal(top1Accuracy(r3.model.predict({ data, rows: 30, dim: 2 }), y3), 100);
});

test('classes absent from training get probability 0; the rest is a normal fit', () => {
  const { x, y } = separable(20);
  // Labels 1 and 3 of 4 classes: a binary model over classes 1 and 3.
  const { model } = fitLogisticRegression(x, y.map((c) => (c === 0 ? 1 : 3)), 4, { C: 1 });
  assert.deepEqual(Array.from(model.fittedClasses), [1, 3]);
  const p = model.predictProba(x);
  for (let i = 0; i < x.rows; i++) {
    assert.equal(p[i * 4], 0);
    assert.equal(p[i * 4 + 2], 0);
    assert.ok(Math.abs(p[i * 4 + 1] + p[i * 4 + 3] - 1) < 1e-12);
  }
  assert.ok(Array.from(model.predict(x)).every((c) => c === 1 || c === 3));
});

test('a warm start reaches the same solution', () => {
  const p = reference.problems[0];
  const x = matrix(p.train_features);
  const cold = fitLogisticRegression(x, p.train_labels, p.num_classes, { C: 1 });
  const near = fitLogisticRegression(x, p.train_labels, p.num_classes, { C: 2 });
  const warm = fitLogisticRegression(x, p.train_labels, p.num_classes, { C: 1, warmStart: near.model });
  assert.ok(warm.report.iterations < cold.report.iterations);
  assert.ok(Math.abs(warm.report.objective - cold.report.objective) < 1e-6 * cold.report.objective);
});

test('bad training data gives clear errors', () => {
  const x: FeatureMatrix = { data: new Float64Array([1, 2, 3, 4]), rows: 2, dim: 2 };
  assert.throws(() => fitLogisticRegression(x, [1, 1], 3, { C: 1 }), /at least two classes; the training set holds only class 1/);
  assert.throws(() => fitLogisticRegression({ data: new Float64Array(0), rows: 0, dim: 2 }, [], 2, { C: 1 }), /training set is empty/);
  assert.throws(() => fitLogisticRegression(x, [0], 2, { C: 1 }), /1 labels for 2 feature rows/);
  assert.throws(() => fitLogisticRegression(x, [0, 5], 2, { C: 1 }), /label 5 of row 1 outside/);
  assert.throws(() => fitLogisticRegression(x, [0, 1], 2, { C: 0 }), /C must be a positive finite number/);
  assert.throws(() => fitLogisticRegression({ ...x, data: new Float64Array([1, NaN, 3, 4]) }, [0, 1], 2, { C: 1 }), /row 0 holds a non-finite value/);
  const { model } = fitLogisticRegression(x, [0, 1], 2, { C: 1 });
  assert.throws(() => model.predictProba({ data: new Float64Array(3), rows: 1, dim: 3 }), /3 dimensions, the model 2/);
});
