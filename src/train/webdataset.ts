// WebDataset-style shards: tar files in which the members of one sample share a key (the member
// path up to the first dot of its file name) and differ in extension, e.g. `000123.jpg` and
// `000123.txt`. Each shard is indexed by walking its headers (captions are read, images only
// located), so images are later read in place, one member at a time.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PairSample } from './pair-dataset.js';
import { scanTar } from './tar-reader.js';

/** Image extensions recognised in shards, in order of preference when a sample has several. */
export const SHARD_IMAGE_EXTENSIONS: readonly string[] = ['jpg', 'jpeg', 'png', 'webp'];
/** Caption extensions, in order of preference. */
export const SHARD_CAPTION_EXTENSIONS: readonly string[] = ['txt', 'caption', 'text'];

/**
 * The shard files of a spec: a `.tar` file, a folder (its `.tar` files, sorted), or a brace range
 * as WebDataset writes it (`data/shard-{0000..0099}.tar`, zero-padded like the bounds).
 */
export function expandShardSpec(spec: string): string[] {
  const m = /\{(\d+)\.\.(\d+)\}/.exec(spec);
  if (m !== null) {
    const [lo, hi] = [Number(m[1]), Number(m[2])];
    if (hi < lo) throw new Error(`${spec}: empty brace range`);
    const width = m[1].length;
    const out: string[] = [];
    for (let i = lo; i <= hi; i++) out.push(...expandShardSpec(spec.replace(m[0], String(i).padStart(width, '0'))));
    return out;
  }
  if (!existsSync(spec)) throw new Error(`${spec}: no such file or folder`);
  if (statSync(spec).isDirectory()) {
    const files = readdirSync(spec).filter((f) => f.toLowerCase().endsWith('.tar') && !f.startsWith('.')).sort().map((f) => path.join(spec, f));
    if (files.length === 0) throw new Error(`${spec}: no .tar shards in this folder`);
    return files;
  }
  return [spec];
}

/** True when a data spec names tar shards rather than a caption table. */
export function isShardSpec(spec: string): boolean {
  return /\.tar$/i.test(spec) || /\{\d+\.\.\d+\}/.test(spec) || (existsSync(spec) && statSync(spec).isDirectory());
}

function splitKey(name: string): { key: string; ext: string } {
  const slash = name.lastIndexOf('/');
  const dot = name.indexOf('.', slash + 1);
  return dot < 0 ? { key: name, ext: '' } : { key: name.slice(0, dot), ext: name.slice(dot + 1).toLowerCase() };
}

export interface ShardIndex {
  samples: PairSample[];
  /** Samples without an image or a caption, and a shard's truncation. */
  dropped: { where: string; why: string }[];
}

/** Indexes one shard into image–caption samples. */
export function indexShard(shard: string): ShardIndex {
  const captions = new Map<string, string>();
  const scan = scanTar(shard, (name) => SHARD_CAPTION_EXTENSIONS.includes(splitKey(name).ext), (m, bytes) => {
    captions.set(m.name, new TextDecoder().decode(bytes).trim());
  });
  // Group by key in archive order (WebDataset keeps a sample's members together, but grouping by
  // key does not depend on it).
  const groups = new Map<string, Map<string, { offset: number; size: number; name: string }>>();
  for (const m of scan.members) {
    const { key, ext } = splitKey(m.name);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = new Map()));
    g.set(ext, { offset: m.offset, size: m.size, name: m.name });
  }
  const samples: PairSample[] = [];
  const dropped: { where: string; why: string }[] = [];
  for (const [key, g] of groups) {
    const where = `${shard}: ${key}`;
    const imageExt = SHARD_IMAGE_EXTENSIONS.find((e) => g.has(e));
    const captionExt = SHARD_CAPTION_EXTENSIONS.find((e) => g.has(e));
    if (imageExt === undefined) { dropped.push({ where, why: `no image member (${SHARD_IMAGE_EXTENSIONS.join('/')})` }); continue; }
    if (captionExt === undefined) { dropped.push({ where, why: `no caption member (${SHARD_CAPTION_EXTENSIONS.join('/')})` }); continue; }
    const caption = captions.get((g.get(captionExt) as { name: string }).name) ?? '';
    if (caption === '') { dropped.push({ where, why: 'empty caption' }); continue; }
    const img = g.get(imageExt) as { offset: number; size: number; name: string };
    samples.push({ image: { kind: 'tar', shard, offset: img.offset, size: img.size, name: img.name }, caption, key: `${path.basename(shard)}:${img.name}`, where });
  }
  if (scan.truncatedAt !== undefined) dropped.push({ where: shard, why: `archive truncated at byte ${scan.truncatedAt} (the members before it are used)` });
  return { samples, dropped };
}
