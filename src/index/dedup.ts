// Near-duplicate images by cosine similarity of their embeddings: groups within one index, or
// pairs between two (the CLIP paper's overlap analysis between a pre-training set and an evaluation
// set, section 5). Every pair is compared exactly: the similarity matrix is computed block by block
// with the native GEMM (a block of rows against a block of columns, only the upper triangle within
// one index) and scanned for entries above the threshold, so memory stays at one block whatever
// the number of images; 100,000 images are about 5·10⁹ comparisons, minutes on a laptop CPU.
import { native } from '../tensor/index.js';
import type { ImageIndex, IndexedImage } from './image-index.js';
import { checkSameModel } from './index-model.js';

export const DEFAULT_DEDUP_THRESHOLD = 0.95;

export interface DedupOptions {
  /** Cosine similarity at or above which two images count as near-duplicates. Default 0.95. */
  threshold?: number;
  /** Rows (and columns) per block of the similarity matrix. Default 1024. */
  blockSize?: number;
  /** Pairs kept for a two-index report; beyond it the weakest are dropped. Default 100,000. */
  maxPairs?: number;
  /** Called after each block of rows: rows done, rows in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface DuplicatePair {
  a: IndexedImage;
  b: IndexedImage;
  similarity: number;
  /** The files are byte for byte the same (same SHA-256). */
  identical: boolean;
}

export interface DuplicateGroup {
  /** Two or more images, sorted by path. */
  images: IndexedImage[];
  /** The highest similarity between two images of the group. */
  maxSimilarity: number;
  /** The lowest similarity among the links that joined the group (members join through chains). */
  minSimilarity: number;
  /** All files of the group are byte for byte the same. */
  identical: boolean;
}

export interface DuplicateGroupsReport {
  threshold: number;
  /** Images compared. */
  images: number;
  /** Groups, most similar first. */
  groups: DuplicateGroup[];
  /** Pairs at or above the threshold. */
  pairs: number;
  /** Images that could be removed keeping one per group. */
  redundant: number;
}

export interface OverlapReport {
  threshold: number;
  /** Images in the first index. */
  images: number;
  /** Images in the other index. */
  otherImages: number;
  /** Images of the first index with at least one near-duplicate in the other. */
  overlapping: number;
  /** overlapping / images. */
  overlapFraction: number;
  /** Pairs (a from the first index, b from the other), most similar first. */
  pairs: DuplicatePair[];
  /** Pairs found, including any dropped beyond maxPairs. */
  pairCount: number;
  /** True if pairs were dropped (pairCount > pairs.length). */
  truncated: boolean;
}

/** Unit vectors, row-major: `count` rows of `dim` values. */
export interface VectorSet {
  vectors: Float32Array;
  count: number;
  dim: number;
}

function checkOptions(opts: DedupOptions): { threshold: number; blockSize: number; maxPairs: number } {
  const threshold = opts.threshold ?? DEFAULT_DEDUP_THRESHOLD;
  const blockSize = opts.blockSize ?? 1024;
  const maxPairs = opts.maxPairs ?? 100_000;
  if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1) throw new RangeError(`threshold must be a cosine similarity in [-1, 1], got ${threshold}`);
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
  if (!Number.isInteger(maxPairs) || maxPairs < 0) throw new RangeError(`maxPairs must be a non-negative integer, got ${maxPairs}`);
  return { threshold, blockSize, maxPairs };
}

/**
 * Calls `onPair(i, j, similarity)` for every pair with similarity ≥ threshold: i a row of `a`, j a
 * row of `b`; with `b` null, pairs within `a` with i < j.
 */
export function forEachSimilarPair(a: VectorSet, b: VectorSet | null, threshold: number, blockSize: number,
  onPair: (i: number, j: number, similarity: number) => void, onProgress?: (done: number, total: number) => void): void {
  const other = b ?? a;
  if (other.dim !== a.dim) throw new RangeError(`vectors of dimension ${a.dim} and ${other.dim} cannot be compared`);
  const dim = a.dim;
  const nat = native();
  const block = new Float32Array(blockSize * Math.min(blockSize, Math.max(1, other.count)));
  for (let i0 = 0; i0 < a.count; i0 += blockSize) {
    const rows = Math.min(blockSize, a.count - i0);
    // Within one index only blocks on or right of the diagonal: each pair is seen once.
    for (let j0 = b === null ? i0 : 0; j0 < other.count; j0 += blockSize) {
      const cols = Math.min(blockSize, other.count - j0);
      nat.gemm(false, true, rows, cols, dim, 1, a.vectors.subarray(i0 * dim, (i0 + rows) * dim), dim,
        other.vectors.subarray(j0 * dim, (j0 + cols) * dim), dim, 0, block, cols);
      const diagonal = b === null && j0 === i0;
      for (let r = 0; r < rows; r++) {
        const base = r * cols;
        for (let c = diagonal ? r + 1 : 0; c < cols; c++) {
          const s = block[base + c];
          if (s >= threshold) onPair(i0 + r, j0 + c, Math.min(1, s));
        }
      }
    }
    onProgress?.(i0 + rows, a.count);
  }
}

/** Union-find over row positions, tracking the similarity range of the links inside each set. */
class DisjointSets {
  private readonly parent: Int32Array;
  readonly maxLink: Float32Array;
  readonly minLink: Float32Array;

  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.maxLink = new Float32Array(n).fill(-Infinity);
    this.minLink = new Float32Array(n).fill(Infinity);
  }

  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root];
    while (this.parent[i] !== root) {
      const next = this.parent[i];
      this.parent[i] = root;
      i = next;
    }
    return root;
  }

  link(i: number, j: number, similarity: number): void {
    const ri = this.find(i);
    const rj = this.find(j);
    const root = Math.min(ri, rj);
    const child = Math.max(ri, rj);
    if (ri !== rj) {
      this.parent[child] = root;
      this.maxLink[root] = Math.max(this.maxLink[root], this.maxLink[child]);
      this.minLink[root] = Math.min(this.minLink[root], this.minLink[child]);
    }
    this.maxLink[root] = Math.max(this.maxLink[root], similarity);
    this.minLink[root] = Math.min(this.minLink[root], similarity);
  }
}

const byPath = (x: IndexedImage, y: IndexedImage): number => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0);

/** Groups of near-duplicate images within one index (connected by similarity ≥ threshold). */
export async function findDuplicates(index: ImageIndex, opts: DedupOptions = {}): Promise<DuplicateGroupsReport> {
  const { threshold, blockSize } = checkOptions(opts);
  const images = await index.all();
  const { ids, vectors } = await index.vectors();
  const byId = new Map(images.map((img) => [img.id, img]));
  const rows = Array.from(ids, (id) => byId.get(id)).filter((img): img is IndexedImage => img !== undefined);
  if (rows.length !== ids.length) throw new Error(`image index ${index.dbPath} changed while it was read; run dedup again`);
  const sets = new DisjointSets(rows.length);
  let pairs = 0;
  forEachSimilarPair({ vectors, count: rows.length, dim: index.info.dim }, null, threshold, blockSize, (i, j, s) => {
    sets.link(i, j, s);
    pairs++;
  }, opts.onProgress);
  const members = new Map<number, number[]>();
  for (let i = 0; i < rows.length; i++) {
    const root = sets.find(i);
    if (sets.maxLink[root] === -Infinity) continue;
    const list = members.get(root);
    if (list === undefined) members.set(root, [i]);
    else list.push(i);
  }
  const groups: DuplicateGroup[] = [];
  for (const [root, list] of members) {
    const groupImages = list.map((i) => rows[i]).sort(byPath);
    groups.push({
      images: groupImages,
      maxSimilarity: sets.maxLink[root],
      minSimilarity: sets.minLink[root],
      identical: groupImages.every((img) => img.sha256 === groupImages[0].sha256),
    });
  }
  groups.sort((x, y) => y.maxSimilarity - x.maxSimilarity || y.images.length - x.images.length || byPath(x.images[0], y.images[0]));
  return {
    threshold,
    images: rows.length,
    groups,
    pairs,
    redundant: groups.reduce((n, g) => n + g.images.length - 1, 0),
  };
}

/** Near-duplicate pairs between two indexes built with the same model. */
export async function findOverlap(index: ImageIndex, other: ImageIndex, opts: DedupOptions = {}): Promise<OverlapReport> {
  const { threshold, blockSize, maxPairs } = checkOptions(opts);
  checkSameModel(other.dbPath, other.info, { ...index.info, model: `${index.info.model} (of ${index.dbPath})` });
  const load = async (ix: ImageIndex): Promise<{ rows: IndexedImage[]; set: VectorSet }> => {
    const images = await ix.all();
    const { ids, vectors } = await ix.vectors();
    const byId = new Map(images.map((img) => [img.id, img]));
    const rows = Array.from(ids, (id) => byId.get(id)).filter((img): img is IndexedImage => img !== undefined);
    if (rows.length !== ids.length) throw new Error(`image index ${ix.dbPath} changed while it was read; run dedup again`);
    return { rows, set: { vectors, count: rows.length, dim: ix.info.dim } };
  };
  const a = await load(index);
  const b = await load(other);
  // Kept as parallel arrays; when there are too many, the weakest half is dropped (amortised O(1)).
  let pi: number[] = [];
  let pj: number[] = [];
  let ps: number[] = [];
  let floor = threshold;
  let pairCount = 0;
  const matched = new Uint8Array(a.rows.length);
  const prune = (): void => {
    const order = ps.map((_, k) => k).sort((x, y) => ps[y] - ps[x]).slice(0, maxPairs);
    pi = order.map((k) => pi[k]);
    pj = order.map((k) => pj[k]);
    ps = order.map((k) => ps[k]);
    if (ps.length > 0 && ps.length === maxPairs) floor = Math.max(floor, ps[ps.length - 1]);
  };
  forEachSimilarPair(a.set, b.set, threshold, blockSize, (i, j, s) => {
    matched[i] = 1;
    pairCount++;
    if (s < floor || maxPairs === 0) return;
    pi.push(i);
    pj.push(j);
    ps.push(s);
    if (ps.length >= 2 * Math.max(maxPairs, 1)) prune();
  }, opts.onProgress);
  prune();
  const pairs: DuplicatePair[] = ps.map((s, k) => {
    const x = a.rows[pi[k]];
    const y = b.rows[pj[k]];
    return { a: x, b: y, similarity: s, identical: x.sha256 === y.sha256 };
  });
  pairs.sort((x, y) => y.similarity - x.similarity || byPath(x.a, y.a) || byPath(x.b, y.b));
  const overlapping = matched.reduce((n, m) => n + m, 0);
  return {
    threshold,
    images: a.rows.length,
    otherImages: b.rows.length,
    overlapping,
    overlapFraction: a.rows.length > 0 ? overlapping / a.rows.length : 0,
    pairs,
    pairCount,
    truncated: pairCount > pairs.length,
  };
}
