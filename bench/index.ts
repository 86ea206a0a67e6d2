// Image index (issue #9): search latency and indexing throughput.
//
// 1. Search: N random L2-normalised 512-d vectors (ViT-B/32's embedding size) written through
//    ImageIndex into a LanceDB index on disk; then single-vector queries for the 10 best, as a
//    text search issues after its text embedding: p50 and p99 over many queries, with the
//    in-memory exact ranking (the default) and with LanceDB's own scan. Also the write time and
//    the first query, which loads the in-memory copy.
// 2. Dedup: all pairs above 0.95 within the 10k index (blockwise native GEMM).
// 3. Indexing: `indexDirectory` from scratch over rendered emoji PNGs with a randomly initialised
//    tiny-vit-64 model (the emoji-sized preset): images per second, median of 3 fresh indexes.
//
//   node dist/bench/index.js     (BENCH_INDEX_SIZES=10000,100000 BENCH_INDEX_IMAGES=200 change the case)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildEmojiDataset } from '../src/datasets/emoji.js';
import { SeededRandom } from '../src/image/index.js';
import { findDuplicates } from '../src/index/dedup.js';
import { ImageIndex, type ImageRow } from '../src/index/image-index.js';
import { indexDirectory } from '../src/index/indexer.js';
import { loadIndexModel } from '../src/index/index-model.js';
import { createModel } from '../src/model/init.js';
import { saveModel } from '../src/model/save.js';
import { native } from '../src/tensor/index.js';
import { presetConfig } from '../src/train/presets.js';
import { fmt, median } from './common.js';

const DIM = 512;
const SIZES = (process.env.BENCH_INDEX_SIZES ?? '10000,100000').split(',').map(Number);
const IMAGES_PER_STYLE = Number(process.env.BENCH_INDEX_IMAGES ?? 100);
const MEMORY_QUERIES = 200;
const LANCE_QUERIES = 50;
const WRITE_CHUNK = 5000;

const scratch = mkdtempSync(path.join(tmpdir(), 'clip-ts-bench-index-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

function randomUnit(rng: SeededRandom): Float32Array {
  const v = new Float32Array(DIM);
  let sq = 0;
  for (let i = 0; i < DIM; i++) {
    // Sum of uniforms: roughly Gaussian, so directions are roughly uniform on the sphere.
    v[i] = rng.next() + rng.next() + rng.next() - 1.5;
    sq += v[i] * v[i];
  }
  const inv = 1 / Math.sqrt(sq);
  for (let i = 0; i < DIM; i++) v[i] *= inv;
  return v;
}

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

async function latencies(index: ImageIndex, queries: Float32Array[]): Promise<number[]> {
  const times: number[] = [];
  for (const q of queries) {
    const t0 = process.hrtime.bigint();
    const hits = await index.searchVector(q, 10);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (hits.length !== 10) throw new Error(`expected 10 hits, got ${hits.length}`);
  }
  return times;
}

const searchRows: string[] = [];
let dedupLine = '';
for (const n of SIZES) {
  const rng = new SeededRandom(n);
  const dbPath = path.join(scratch, `random-${n}.db`);
  const index = await ImageIndex.create(dbPath, { model: 'random vectors', modelSha256: '0'.repeat(64), dim: DIM, imageSize: 224 });
  const t0 = performance.now();
  for (let start = 0; start < n; start += WRITE_CHUNK) {
    const rows: ImageRow[] = [];
    for (let i = start; i < Math.min(n, start + WRITE_CHUNK); i++) {
      rows.push({ path: `/photos/${Math.floor(i / 1000)}/img-${i}.jpg`, size: 100_000 + i, mtimeMs: 1.7e12 + i, sha256: i.toString(16).padStart(64, '0'), vector: randomUnit(rng) });
    }
    await index.upsert(rows);
  }
  await index.compact();
  const writeSeconds = (performance.now() - t0) / 1000;
  const queries = Array.from({ length: MEMORY_QUERIES + 1 }, () => randomUnit(rng));
  const tFirst = performance.now();
  await index.searchVector(queries[0], 10);
  const firstMs = performance.now() - tFirst;
  const memory = await latencies(index, queries.slice(1));
  const viaLance = await ImageIndex.open(dbPath, { search: 'lancedb' });
  await viaLance.searchVector(queries[0], 10);
  const lance = await latencies(viaLance, queries.slice(1, 1 + LANCE_QUERIES));
  await viaLance.close();
  searchRows.push(`| ${n.toLocaleString('en-US')} | in memory (exact, native GEMV) | ${fmt(median(memory), 2)} | ${fmt(percentile(memory, 99), 2)} | ${memory.length} | ${fmt(firstMs, 0)} ms | ${fmt(writeSeconds, 1)} s |`);
  searchRows.push(`| ${n.toLocaleString('en-US')} | LanceDB scan (exact, dot) | ${fmt(median(lance), 2)} | ${fmt(percentile(lance, 99), 2)} | ${lance.length} | | |`);
  if (n === 10_000) {
    const td = performance.now();
    const report = await findDuplicates(index, { threshold: 0.95 });
    dedupLine = `Dedup of the 10,000-vector index (all ${fmt(n * (n - 1) / 2 / 1e6, 1)} M pairs, threshold 0.95, blocks of 1024): ` +
      `${fmt((performance.now() - td) / 1000, 2)} s (${report.pairs} pairs found: random vectors have none).`;
  }
  await index.close();
  rmSync(dbPath, { recursive: true, force: true });
}

// Indexing throughput on real PNGs.
const emojiDir = path.join(scratch, 'emoji');
const rendered = await buildEmojiDataset(emojiDir, { styles: ['twemoji', 'openmoji'], classesLimit: IMAGES_PER_STYLE, size: 64 });
const modelFile = path.join(scratch, 'tiny-vit-64.safetensors');
const config = presetConfig('tiny-vit-64');
if (config === undefined) throw new Error('preset tiny-vit-64 is missing');
saveModel(createModel(config, 0), modelFile);
const loaded = await loadIndexModel(modelFile);
const rates: number[] = [];
for (let rep = 0; rep < 3; rep++) {
  const dbPath = path.join(scratch, `emoji-${rep}.db`);
  const report = await indexDirectory(path.join(emojiDir, 'images'), dbPath, { loadedModel: loaded, workers: 2 });
  if (report.embedded !== rendered.rows.length) throw new Error(`embedded ${report.embedded} of ${rendered.rows.length}`);
  rates.push(report.embedded / report.seconds);
  rmSync(dbPath, { recursive: true, force: true });
}

process.stdout.write(`Node ${process.version}, ${native().getThreads()} compute threads. Search: ${DIM}-d random unit vectors written ` +
  `through ImageIndex (LanceDB ${WRITE_CHUNK.toLocaleString('en-US')} rows per upsert, then compacted); k = 10; times per query in ms.\n\n`);
process.stdout.write('| vectors | engine | p50 ms | p99 ms | queries | first query (loads the copy) | write + compact |\n');
process.stdout.write('| ---: | --- | ---: | ---: | ---: | ---: | ---: |\n');
process.stdout.write(searchRows.join('\n') + '\n\n');
if (dedupLine !== '') process.stdout.write(dedupLine + '\n\n');
process.stdout.write(`Indexing from scratch: ${rendered.rows.length} emoji PNGs (64 px, twemoji + openmoji), model tiny-vit-64 ` +
  `(random weights, ${config.vision.kind === 'vit' ? `ViT ${config.vision.layers} layers, width ${config.vision.width}` : ''}), ` +
  `2 decoding workers, batch 32, SHA-256 + decode + embed + LanceDB writes: median ${fmt(median(rates), 1)} images/s ` +
  `(runs: ${rates.map((r) => fmt(r, 1)).join(', ')}).\n`);
