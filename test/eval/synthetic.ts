// Deterministic Gaussian clusters for the probe tests.
import { SeededRandom } from '../../src/image/index.js';
import type { FeatureMatrix } from '../../src/eval/feature-matrix.js';

function gaussian(rng: SeededRandom): number {
  // Box–Muller; 1 − u avoids log(0).
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export interface Clusters {
  features: FeatureMatrix & { data: Float64Array };
  labels: number[];
}

/** `perClass` points around each of `classes` random centres (spread × N(0, I)), unit noise. */
export function clusters(seed: number, classes: number, perClass: number, dim: number, spread: number): Clusters {
  const rng = new SeededRandom(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => spread * gaussian(rng)));
  const n = classes * perClass;
  const data = new Float64Array(n * dim);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels.push(c);
    for (let d = 0; d < dim; d++) data[i * dim + d] = centres[c][d] + gaussian(rng);
  }
  return { features: { data, rows: n, dim }, labels };
}
