// Tokenizer throughput: BPE ids per second of `encode` (cleaning + pre-tokenizing + BPE) on the
// strings of ../shared/fixtures/tokenizer.jsonl, single thread, with a warm BPE cache and with no
// cache at all. Prints Markdown tables; times are medians of repeated runs.
//
//   npx tsx bench/tokenizer.ts        (or node dist/bench/tokenizer.js after a build)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fmt, median, timeRuns } from './common.js';
import { fixturesDir } from '../test/helpers/fixtures.js';
import { Tokenizer, cleanText, defaultTokenizer } from '../src/text/index.js';

interface Row {
  category: string;
  text: string;
}

const rows = readFileSync(path.join(fixturesDir(), 'tokenizer.jsonl'), 'utf8')
  .split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row);

const SETS: { name: string; texts: string[] }[] = [
  { name: 'captions (prompt_imagenet + prompt_dataset)', texts: rows.filter((r) => r.category.startsWith('prompt')).map((r) => r.text) },
  { name: 'all fixture strings', texts: rows.map((r) => r.text) },
  { name: 'non-ASCII strings only', texts: rows.map((r) => r.text).filter((t) => /[^\x00-\x7f]/.test(t)) },
];

const REPS = 15;
const cached = defaultTokenizer();
const uncached = new Tokenizer({ vocabulary: cached.vocabulary, cacheSize: 0 });

/** Runs `fn` over the texts enough times per timed run that a run lasts tens of milliseconds. */
function passes(texts: string[]): number {
  const chars = texts.reduce((n, t) => n + t.length, 0);
  return Math.max(1, Math.round(200_000 / Math.max(1, chars)));
}

async function tokensPerSecond(tok: Tokenizer, texts: string[]): Promise<number> {
  let ids = 0;
  for (const t of texts) ids += tok.encode(t).length;
  const k = passes(texts);
  const times = await timeRuns(() => {
    for (let p = 0; p < k; p++) for (const t of texts) tok.encode(t);
  }, REPS, 2);
  return (ids * k) / (median(times) / 1000);
}

async function textsPerSecond(fn: (t: string) => unknown, texts: string[]): Promise<number> {
  const k = passes(texts);
  const times = await timeRuns(() => {
    for (let p = 0; p < k; p++) for (const t of texts) fn(t);
  }, REPS, 2);
  return (texts.length * k) / (median(times) / 1000);
}

const lines: string[] = [];
lines.push('| strings | texts | BPE ids | cached: ids/s | uncached: ids/s | cached / uncached | cleaning only: texts/s |');
lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const set of SETS) {
  const ids = set.texts.reduce((n, t) => n + cached.encode(t).length, 0);
  const warm = await tokensPerSecond(cached, set.texts);
  const cold = await tokensPerSecond(uncached, set.texts);
  const clean = await textsPerSecond(cleanText, set.texts);
  lines.push(`| ${set.name} | ${set.texts.length} | ${ids} | ${fmt(warm / 1e6, 2)} M | ${fmt(cold / 1e6, 2)} M | ${fmt(warm / cold, 2)} | ${fmt(clean / 1e3, 0)} k |`);
}

// The batch API as the model uses it: 77-wide padded Int32Array rows.
const captions = SETS[0].texts;
const batchTimes = await timeRuns(() => cached.tokenize(captions, { truncate: true }), REPS, 2);
const batchRate = captions.length / (median(batchTimes) / 1000);

process.stdout.write('Single thread, Node ' + process.version + `, median of ${REPS} runs. "Cached" = warm BPE cache (steady state);\n` +
  '"uncached" = no cache, every piece is merged from bytes. Ids are BPE ids (without SOT/EOT).\n\n');
process.stdout.write(lines.join('\n') + '\n\n');
process.stdout.write(`| tokenize(captions, { truncate: true }) | texts/s |\n| --- | ---: |\n| ${captions.length} captions per call, 77-wide rows | ${fmt(batchRate / 1e3, 0)} k |\n`);
