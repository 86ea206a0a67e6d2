// Reads the training data named on the command line: caption tables and WebDataset shards, in the
// order given, into one list of pairs.
import { readCaptionTable, tableFormat, type CaptionTableOptions } from './caption-table.js';
import type { PairDataset, PairSample } from './pair-dataset.js';
import { expandShardSpec, indexShard, isShardSpec } from './webdataset.js';

/** Pairs from every source; filters and column names apply to the tables. */
export function loadPairDataset(sources: readonly string[], opts: CaptionTableOptions = {}): PairDataset {
  if (sources.length === 0) throw new Error('no training data given');
  const samples: PairSample[] = [];
  const dropped: { where: string; why: string }[] = [];
  for (const spec of sources) {
    const before = samples.length;
    if (tableFormat(spec) !== undefined) {
      samples.push(...readCaptionTable(spec, opts));
    } else if (isShardSpec(spec)) {
      if ((opts.filters ?? []).length > 0) throw new Error(`${spec}: filters apply to caption tables, not to tar shards`);
      for (const shard of expandShardSpec(spec)) {
        const idx = indexShard(shard);
        samples.push(...idx.samples);
        dropped.push(...idx.dropped);
      }
    } else {
      throw new Error(`${spec}: not a caption table (.csv, .tsv, .jsonl) or tar shards (.tar, a folder of them, or shard-{0000..0009}.tar)`);
    }
    if (samples.length === before) throw new Error(`${spec}: no image-caption pairs${(opts.filters ?? []).length > 0 ? ' match the filters' : ''}`);
  }
  return { samples, sources: [...sources], dropped };
}
