// Access to ../shared/fixtures and the comparison rule of its README: per item (row along axis 0
// when the entry has item_axis 0, else the whole tensor), in float64, max_abs <= atol,
// rel_l2 <= rtol and cos >= min_cos; any NaN/Infinity fails.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';

/** The shared folder: $CLIP_TS_SHARED, else ../shared beside the checkout. */
export function sharedDir(): string {
  const fromEnv = process.env.CLIP_TS_SHARED;
  const dir = fromEnv !== undefined && fromEnv !== '' ? fromEnv : path.resolve(packageRoot(), '..', 'shared');
  if (!existsSync(path.join(dir, 'fixtures', 'index.json'))) {
    throw new Error(`shared fixtures not found at ${dir} (set CLIP_TS_SHARED)`);
  }
  return dir;
}

export function fixturesDir(): string {
  return path.join(sharedDir(), 'fixtures');
}

export interface Tolerance {
  atol: number;
  rtol: number;
  min_cos: number;
}

export interface FixtureEntry {
  file: string;
  dtype: string;
  shape: number[];
  description: string;
  tolerance: Tolerance;
  item_axis?: number;
  item_labels?: string[];
}

let index: Record<string, FixtureEntry> | undefined;

export function fixtureIndex(): Record<string, FixtureEntry> {
  if (index === undefined) {
    const raw = JSON.parse(readFileSync(path.join(fixturesDir(), 'index.json'), 'utf8')) as {
      fixtures: Record<string, FixtureEntry>;
    };
    index = raw.fixtures;
  }
  return index;
}

export function fixtureEntry(name: string): FixtureEntry {
  const e = fixtureIndex()[name];
  if (e === undefined) throw new Error(`no fixture named ${name} in index.json`);
  return e;
}

/** Reads a raw little-endian float32 file under fixtures/. */
export function readF32(relFile: string): Float32Array {
  const buf = readFileSync(path.join(fixturesDir(), relFile));
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

export function readFixture(name: string): Float32Array {
  return readF32(fixtureEntry(name).file);
}

export function readJson<T>(relFile: string): T {
  return JSON.parse(readFileSync(path.join(fixturesDir(), relFile), 'utf8')) as T;
}

export interface ItemReport {
  item: string;
  maxAbs: number;
  relL2: number;
  cos: number;
  pass: boolean;
}

export interface CompareReport {
  name: string;
  pass: boolean;
  items: ItemReport[];
  tolerance: Tolerance;
}

function compareItem(c: ArrayLike<number>, r: ArrayLike<number>, from: number, to: number, tol: Tolerance, label: string): ItemReport {
  let maxAbs = 0;
  let diff2 = 0;
  let r2 = 0;
  let c2 = 0;
  let dot = 0;
  let finite = true;
  for (let i = from; i < to; i++) {
    const cv = c[i];
    const rv = r[i];
    if (!Number.isFinite(cv)) finite = false;
    const d = cv - rv;
    if (Math.abs(d) > maxAbs) maxAbs = Math.abs(d);
    diff2 += d * d;
    r2 += rv * rv;
    c2 += cv * cv;
    dot += cv * rv;
  }
  const rn = Math.sqrt(r2);
  const cn = Math.sqrt(c2);
  const relL2 = rn < 1e-30 ? Math.sqrt(diff2) : Math.sqrt(diff2) / rn;
  let cos: number;
  if (rn < 1e-30 && cn < 1e-30) cos = 1;
  else if (rn < 1e-30 || cn < 1e-30) cos = 0;
  else cos = dot / (rn * cn);
  const pass = finite && maxAbs <= tol.atol && relL2 <= tol.rtol && cos >= tol.min_cos;
  return { item: label, maxAbs, relL2, cos, pass };
}

/** Compares `actual` with fixture `name` using the tolerance from index.json. */
export function compareFixture(name: string, actual: ArrayLike<number>, reference?: ArrayLike<number>): CompareReport {
  const e = fixtureEntry(name);
  const ref = reference ?? readF32(e.file);
  const total = e.shape.reduce((a, b) => a * b, 1);
  if (actual.length !== total) {
    throw new Error(`${name}: expected ${total} values (shape [${e.shape.join(', ')}]), got ${actual.length}`);
  }
  const items: ItemReport[] = [];
  if (e.item_axis === 0) {
    const rows = e.shape[0];
    const per = total / rows;
    for (let i = 0; i < rows; i++) {
      items.push(compareItem(actual, ref, i * per, (i + 1) * per, e.tolerance, e.item_labels?.[i] ?? String(i)));
    }
  } else {
    items.push(compareItem(actual, ref, 0, total, e.tolerance, 'all'));
  }
  return { name, pass: items.every((it) => it.pass), items, tolerance: e.tolerance };
}

/** A one-line description of the failing items, for assertion messages. */
export function describeFailures(rep: CompareReport): string {
  const bad = rep.items.filter((it) => !it.pass);
  return `${rep.name} (atol ${rep.tolerance.atol}, rtol ${rep.tolerance.rtol}, min_cos ${rep.tolerance.min_cos}): ` +
    bad.map((it) => `${it.item}: max_abs=${it.maxAbs.toExponential(3)} rel_l2=${it.relL2.toExponential(3)} cos=${it.cos.toFixed(8)}`).join('; ');
}
