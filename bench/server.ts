// Throughput and latency of `clip-ts serve` under concurrent text searches: 50 keep-alive clients
// post /api/search as fast as they get answers, for 30 s per phase, against the server running in
// its own process (so that the clients do not share its event loop). Two phases: every query new
// (the text tower runs for each request) and queries drawn from 20 repeated ones (the server's query
// cache answers, so the index search and the HTTP layer are what is measured). Prints a Markdown table.
//
// The index: emoji PNGs (2 styles x 100 classes, 64 px) and a random `tiny-vit-64` model, built in
// a temporary folder first.
//
//   node dist/bench/server.js    (BENCH_SERVER_SECONDS=30, BENCH_SERVER_CLIENTS=50)
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { buildEmojiDataset } from '../src/datasets/emoji.js';
import { indexDirectory } from '../src/index/indexer.js';
import { createModel } from '../src/model/init.js';
import { saveModel } from '../src/model/save.js';
import { packageRoot } from '../src/paths.js';
import { presetConfig } from '../src/train/presets.js';
import { fmt } from './common.js';

const SECONDS = Number(process.env.BENCH_SERVER_SECONDS ?? 30);
const CLIENTS = Number(process.env.BENCH_SERVER_CLIENTS ?? 50);
const PRESET = 'tiny-vit-64';

interface PhaseResult {
  requests: number;
  errors: number;
  /** Status codes other than 200, with counts. */
  statuses: Map<number, number>;
  latenciesMs: number[];
  seconds: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One POST /api/search on a keep-alive agent; resolves with the status (0 for a network error). */
function search(agent: Agent, port: number, query: string): Promise<number> {
  const body = JSON.stringify({ query, top: 10 });
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/search', method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function phase(port: number, queryOf: (n: number) => string): Promise<PhaseResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const result: PhaseResult = { requests: 0, errors: 0, statuses: new Map(), latenciesMs: [], seconds: 0 };
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let n = 0;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const started = performance.now();
      const status = await search(agent, port, queryOf(n++));
      result.requests++;
      if (status === 200) result.latenciesMs.push(performance.now() - started);
      else {
        result.errors++;
        result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  result.seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return result;
}

async function buildIndex(root: string): Promise<{ db: string; images: number }> {
  const emoji = path.join(root, 'emoji');
  await buildEmojiDataset(emoji, { styles: ['twemoji', 'noto'], classesLimit: 100, size: 64 });
  const images = path.join(root, 'images');
  for (const style of ['twemoji', 'noto']) {
    mkdirSync(path.join(images, style), { recursive: true });
    for (const f of readdirSync(path.join(emoji, 'images', style))) copyFileSync(path.join(emoji, 'images', style, f), path.join(images, style, f));
  }
  const model = path.join(root, 'model.safetensors');
  const config = presetConfig(PRESET);
  if (config === undefined) throw new Error(`no preset ${PRESET}`);
  saveModel(createModel(config, 1), model);
  const db = path.join(root, 'db');
  const report = await indexDirectory(images, db, { model });
  return { db, images: report.total };
}

function startServer(db: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'clip-ts.js'), 'serve', '--db', db, '--port', '0', '--quiet'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on http:\/\/[^:]+:(\d+)\//.exec(out);
      if (m !== null) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (code) => reject(new Error(`clip-ts serve exited with code ${code}`)));
  });
}

function row(name: string, r: PhaseResult): string {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  const statuses = [...r.statuses].map(([s, c]) => `${c} × ${s === 0 ? 'network error' : s}`).join(', ');
  return `| ${name} | ${r.requests} | ${fmt(r.requests / r.seconds, 0)} | ${fmt(percentile(sorted, 50), 1)} | ${fmt(percentile(sorted, 99), 1)} | ${r.errors}${statuses !== '' ? ` (${statuses})` : ''} |`;
}

const loadBefore = loadavg()[0];
const root = mkdtempSync(path.join(tmpdir(), 'clip-ts-bench-server-'));
let server: ChildProcess | undefined;
try {
  const { db, images } = await buildIndex(root);
  const started = await startServer(db);
  server = started.child;
  // Warm-up: the first text encodings and index reads.
  for (let i = 0; i < 20; i++) await search(new Agent(), started.port, `warm-up ${i}`);
  const fresh = await phase(started.port, (n) => `a photo of thing number ${n}`);
  const REPEATED = Array.from({ length: 20 }, (_, i) => `a cute emoji number ${i}`);
  const repeated = await phase(started.port, (n) => REPEATED[n % REPEATED.length]);
  process.stdout.write(`${images} indexed images, random ${PRESET} model (${presetConfig(PRESET)?.embedDim}-d), ${CLIENTS} concurrent keep-alive clients, ` +
    `${SECONDS} s per phase, server defaults (2 inference jobs at once), ${availableParallelism()} CPUs, 1-minute load average ${loadBefore.toFixed(1)} before and ${loadavg()[0].toFixed(1)} after.\n\n`);
  process.stdout.write('| POST /api/search | requests | req/s | p50 ms | p99 ms | errors |\n| --- | ---: | ---: | ---: | ---: | ---: |\n');
  process.stdout.write(row('every query new (text tower per request)', fresh) + '\n');
  process.stdout.write(row('20 repeated queries (query cache)', repeated) + '\n');
  if (fresh.errors + repeated.errors > 0) process.exitCode = 1;
} finally {
  server?.kill('SIGTERM');
  rmSync(root, { recursive: true, force: true });
}
