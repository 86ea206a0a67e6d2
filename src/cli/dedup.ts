// clip-ts dedup: near-duplicate images within an index, or between two indexes.
import {
  DEFAULT_DEDUP_THRESHOLD, findDuplicates, findOverlap, type DuplicateGroupsReport, type OverlapReport,
} from '../index/dedup.js';
import { ImageIndex } from '../index/image-index.js';
import { native } from '../tensor/index.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import { UsageError, numberOption, parseArgs } from './args.js';
import { Progress } from './progress.js';

export const usage = `usage: clip-ts dedup --db PATH [--against OTHER] [--threshold T] [--json] [--out FILE]

Finds near-duplicate images by the cosine similarity of their embeddings, comparing every pair
exactly. With one index: groups of images linked by similarity >= T (a group can chain through
intermediate images), most similar first. With --against: the pairs between the two indexes (built
with the same model) and the share of PATH's images that have a near-duplicate in OTHER — the
train/test overlap analysis of the CLIP paper.

  --db PATH         the index folder (built with \`clip-ts index\`)
  --against OTHER   a second index to compare with
  --threshold T     cosine similarity for a near-duplicate (default ${DEFAULT_DEDUP_THRESHOLD}); byte-identical
                    files score 1
  --max-pairs N     pairs listed with --against (default 100000; the most similar are kept)
  --json            the report as JSON on stdout instead of text
  --out FILE        also write the JSON report to FILE
  --threads N       compute threads of the native core (default: all cores)
  --quiet           no progress on stderr`;

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

function groupsJson(r: DuplicateGroupsReport): unknown {
  return {
    threshold: r.threshold,
    images: r.images,
    pairs: r.pairs,
    redundant: r.redundant,
    groups: r.groups.map((g) => ({
      maxSimilarity: g.maxSimilarity, minSimilarity: g.minSimilarity, identical: g.identical, images: g.images.map((i) => i.path),
    })),
  };
}

function overlapJson(r: OverlapReport): unknown {
  return {
    threshold: r.threshold,
    images: r.images,
    otherImages: r.otherImages,
    overlapping: r.overlapping,
    overlapFraction: r.overlapFraction,
    pairCount: r.pairCount,
    truncated: r.truncated,
    pairs: r.pairs.map((p) => ({ a: p.a.path, b: p.b.path, similarity: p.similarity, identical: p.identical })),
  };
}

function groupsText(r: DuplicateGroupsReport, db: string): string {
  const lines = [`${r.groups.length} group${r.groups.length === 1 ? '' : 's'} of near-duplicates (cosine >= ${r.threshold}) among ${r.images} images of ${db}; ` +
    `${r.redundant} image${r.redundant === 1 ? '' : 's'} could go, keeping one per group`];
  r.groups.forEach((g, k) => {
    const range = g.images.length > 2 && g.minSimilarity < g.maxSimilarity ? `${g.minSimilarity.toFixed(4)}-${g.maxSimilarity.toFixed(4)}` : g.maxSimilarity.toFixed(4);
    lines.push('', `group ${k + 1}: ${g.images.length} images, similarity ${range}${g.identical ? ' (identical files)' : ''}`);
    for (const img of g.images) lines.push(`  ${img.path}`);
  });
  return lines.join('\n');
}

function overlapText(r: OverlapReport, db: string, other: string): string {
  const lines = [`${r.overlapping} of ${r.images} images of ${db} (${pct(r.overlapFraction)}) have a near-duplicate among the ` +
    `${r.otherImages} images of ${other} (cosine >= ${r.threshold}); ${r.pairCount} pair${r.pairCount === 1 ? '' : 's'}` +
    (r.truncated ? `, the ${r.pairs.length} most similar listed` : '')];
  if (r.pairs.length > 0) lines.push('', 'similarity  image / near-duplicate');
  for (const p of r.pairs) lines.push(`${p.similarity.toFixed(4).padStart(10)}  ${p.a.path}${p.identical ? '  (identical file)' : ''}`, `${''.padStart(10)}  ${p.b.path}`);
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    db: { type: 'string' }, against: { type: 'string' }, threshold: { type: 'string', short: 't' }, 'max-pairs': { type: 'string' },
    json: { type: 'flag' }, out: { type: 'string', short: 'o' }, threads: { type: 'string' }, quiet: { type: 'flag', short: 'q' },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}" (the index is given with --db)`);
  const db = args.values.get('db');
  if (db === undefined || db === '') throw new UsageError('--db PATH is required (the index folder)');
  const against = args.values.get('against');
  if (against === '') throw new UsageError('--against needs an index folder');
  const threshold = numberOption(args, 'threshold', DEFAULT_DEDUP_THRESHOLD, { min: -1, max: 1 });
  const maxPairs = numberOption(args, 'max-pairs', 100_000, { min: 0, integer: true });
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  if (threads > 0) native().setThreads(threads);
  const out = args.values.get('out');
  const quiet = args.flags.has('quiet');

  let progress: Progress | undefined;
  const onProgress = (done: number, total: number): void => {
    // Only worth a line when the comparison takes a while (thousands of images).
    if (quiet || total < 5000) return;
    progress ??= new Progress({ label: 'comparing', total, unit: 'images' });
    progress.update(done);
  };
  const index = await ImageIndex.open(db);
  try {
    let json: unknown;
    let text: string;
    if (against !== undefined) {
      const other = await ImageIndex.open(against);
      try {
        const report = await findOverlap(index, other, { threshold, maxPairs, onProgress });
        json = overlapJson(report);
        text = overlapText(report, db, against);
      } finally {
        await other.close();
      }
    } else {
      const report = await findDuplicates(index, { threshold, onProgress });
      json = groupsJson(report);
      text = groupsText(report, db);
    }
    progress?.finish();
    const jsonText = JSON.stringify(json, null, 2) + '\n';
    if (out !== undefined) writeTextAtomic(out, jsonText);
    process.stdout.write(args.flags.has('json') ? jsonText : text + '\n');
    if (out !== undefined && !quiet) process.stderr.write(`clip-ts dedup: wrote the report to ${out}\n`);
    return 0;
  } finally {
    progress?.clear();
    await index.close();
  }
}
