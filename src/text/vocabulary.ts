// CLIP's BPE vocabulary, built from the merge list `bpe_simple_vocab_16e6.txt.gz` shipped in
// assets/ (MIT, OpenAI; see assets/LICENSE-openai-clip.txt).
//
// Ids 0..255 are the 256 byte characters, 256..511 the same with "</w>" (end of word) appended,
// 512..49405 the merges in file order (each the concatenation of its two halves) and 49406/49407
// the start and end tokens. The file's first line is a header; only the next 48,894 merges are
// used, as in OpenAI's code (the file holds more).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { assetPath } from '../paths.js';
import { BYTE_CHARS, BYTE_ORDER } from './byte-encoder.js';
import { PairTable } from './pair-table.js';

export const SOT_TOKEN = '<|startoftext|>';
export const EOT_TOKEN = '<|endoftext|>';
/** Number of merges used: 49152 - 256 - 2, as in OpenAI's simple_tokenizer.py. */
export const MERGE_COUNT = 48_894;
const FIRST_MERGE_ID = 512;

export interface Vocabulary {
  /** id -> token text (byte characters, possibly ending in "</w>"). */
  readonly tokens: readonly string[];
  /** token text -> id. */
  readonly ids: ReadonlyMap<string, number>;
  /** (left id, right id) -> merge rank (-1 if they do not merge); the merge's own id is 512 + rank. */
  readonly mergeRanks: PairTable;
  readonly sot: number;
  readonly eot: number;
}

export function defaultVocabularyPath(): string {
  return assetPath('bpe_simple_vocab_16e6.txt.gz');
}

/** Builds the vocabulary from the text of the merge file. `source` names it in error messages. */
export function parseVocabulary(text: string, source: string): Vocabulary {
  const lines = text.split('\n');
  if (lines.length < MERGE_COUNT + 1) {
    throw new Error(`${source}: expected a header line and at least ${MERGE_COUNT} merges, found ${lines.length} lines`);
  }
  const tokens: string[] = [];
  for (const b of BYTE_ORDER) tokens.push(BYTE_CHARS[b]);
  for (const b of BYTE_ORDER) tokens.push(BYTE_CHARS[b] + '</w>');
  const ids = new Map<string, number>();
  tokens.forEach((t, id) => ids.set(t, id));
  const mergeRanks = new PairTable(MERGE_COUNT);
  for (let rank = 0; rank < MERGE_COUNT; rank++) {
    const lineNo = rank + 2; // 1-based, after the header
    const line = lines[rank + 1];
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new Error(`${source}:${lineNo}: expected a merge of two symbols separated by one space, got ${JSON.stringify(line)}`);
    }
    const left = ids.get(parts[0]);
    const right = ids.get(parts[1]);
    if (left === undefined || right === undefined) {
      throw new Error(`${source}:${lineNo}: merge ${JSON.stringify(line)} uses a symbol no earlier line defines`);
    }
    const merged = parts[0] + parts[1];
    if (ids.has(merged)) throw new Error(`${source}:${lineNo}: merge ${JSON.stringify(line)} repeats the token ${JSON.stringify(merged)}`);
    if (mergeRanks.get(left, right) >= 0) throw new Error(`${source}:${lineNo}: merge ${JSON.stringify(line)} appears twice`);
    mergeRanks.set(left, right, rank);
    ids.set(merged, FIRST_MERGE_ID + rank);
    tokens.push(merged);
  }
  const sot = tokens.length;
  tokens.push(SOT_TOKEN);
  ids.set(SOT_TOKEN, sot);
  const eot = tokens.length;
  tokens.push(EOT_TOKEN);
  ids.set(EOT_TOKEN, eot);
  return { tokens, ids, mergeRanks, sot, eot };
}

/** Reads a gzip-compressed merge file (by default the one in assets/). */
export function loadVocabulary(file: string = defaultVocabularyPath()): Vocabulary {
  let text: string;
  try {
    const compressed = new Uint8Array(readFileSync(file));
    text = gunzipSync(compressed).toString('utf8');
  } catch (err) {
    throw new Error(`cannot read the BPE vocabulary ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseVocabulary(text, file);
}
