// Small models and synthetic batches for the training tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { SeededRandom } from '../../src/image/index.js';
import { Tensor, type FloatArray } from '../../src/tensor/index.js';

export { E2E_CONFIG, TINY_RN, TINY_VIT } from './tiny-configs.js';

/** Random N(0, 1)-ish images [n, 3, S, S]. */
export function randomImages(n: number, size: number, seed: number): Tensor {
  const rng = new SeededRandom(seed, 1);
  const data = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-1.7, 1.7);
  return new Tensor(data, [n, 3, size, size]);
}

/**
 * Random token rows [n, context]: start token vocab−2, 1..context−3 random ids below it, the end
 * token vocab−1 (the largest id, which is how the text tower finds it), then zeros.
 */
export function randomTokens(n: number, context: number, vocab: number, seed: number): Int32Array {
  const rng = new SeededRandom(seed, 2);
  const out = new Int32Array(n * context);
  for (let b = 0; b < n; b++) {
    const len = rng.int(1, context - 2);
    out[b * context] = vocab - 2;
    for (let t = 1; t <= len; t++) out[b * context + t] = rng.int(1, vocab - 2);
    out[b * context + len + 1] = vocab - 1;
  }
  return out;
}

/** ‖a − b‖ / ‖b‖ in float64. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d2 = 0;
  let b2 = 0;
  for (let i = 0; i < b.length; i++) {
    const d = a[i] - b[i];
    d2 += d * d;
    b2 += b[i] * b[i];
  }
  return b2 === 0 ? Math.sqrt(d2) : Math.sqrt(d2 / b2);
}

/** Copies of every parameter gradient by name. */
export function gradients(params: Iterable<[string, Tensor]>): Map<string, FloatArray> {
  const out = new Map<string, FloatArray>();
  for (const [n, t] of params) if (t.grad !== null) out.set(n, t.grad.data.slice());
  return out;
}

/** A temporary folder removed after the test file. */
export function tempDir(prefix = 'clip-ts-train-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

