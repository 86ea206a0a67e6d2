// Byte-level byte-pair encoding of one pre-tokenized piece, with a cache.
//
// The piece is UTF-8 encoded, each byte becomes its byte character (as a token id), and "</w>" is
// attached to the last one. Then, repeatedly, the adjacent pair with the lowest merge rank is found
// and every occurrence of it is merged, left to right without overlaps, until no adjacent pair has a
// rank. Working on ids rather than strings gives the same result because every token text has
// exactly one id.
import { BYTE_TOKEN_ID } from './byte-encoder.js';
import type { PairTable } from './pair-table.js';
import type { Vocabulary } from './vocabulary.js';

const END_OF_WORD_OFFSET = 256;
const FIRST_MERGE_ID = 512;

/** UTF-8 bytes of `piece` into `out` (grown as needed); returns the byte count. */
function utf8Encode(piece: string, out: { buf: Uint8Array }): number {
  if (out.buf.length < piece.length * 3) out.buf = new Uint8Array(piece.length * 3);
  const buf = out.buf;
  let n = 0;
  for (let i = 0; i < piece.length; i++) {
    let c = piece.charCodeAt(i);
    if (c < 0x80) {
      buf[n++] = c;
    } else if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = piece.charCodeAt(i + 1);
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          buf[n++] = 0xf0 | (c >> 18);
          buf[n++] = 0x80 | ((c >> 12) & 0x3f);
          buf[n++] = 0x80 | ((c >> 6) & 0x3f);
          buf[n++] = 0x80 | (c & 0x3f);
          continue;
        }
        // A lone surrogate cannot be UTF-8 encoded (Python would raise); cleaning never lets one
        // through, and here it is encoded as U+FFFD like TextEncoder does.
        c = 0xfffd;
      }
      buf[n++] = 0xe0 | (c >> 12);
      buf[n++] = 0x80 | ((c >> 6) & 0x3f);
      buf[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

export interface BpeOptions {
  /** Most pieces kept in the cache; when full it is emptied. 0 disables caching. */
  cacheSize?: number;
}

export class BytePairEncoder {
  private readonly ranks: PairTable;
  private readonly cache = new Map<string, Int32Array>();
  private readonly cacheSize: number;
  private readonly bytes = { buf: new Uint8Array(256) };
  private word = new Int32Array(256);

  constructor(vocab: Vocabulary, options: BpeOptions = {}) {
    this.ranks = vocab.mergeRanks;
    this.cacheSize = options.cacheSize ?? 100_000;
  }

  /** Appends the token ids of one piece to `out`. */
  encodePiece(piece: string, out: number[]): void {
    const cached = this.cache.get(piece);
    if (cached !== undefined) {
      for (let i = 0; i < cached.length; i++) out.push(cached[i]);
      return;
    }
    const ids = this.merge(piece);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.clear();
      this.cache.set(piece, ids);
    }
  }

  clearCache(): void {
    this.cache.clear();
  }

  get cachedPieces(): number {
    return this.cache.size;
  }

  private merge(piece: string): Int32Array {
    const n = utf8Encode(piece, this.bytes);
    const bytes = this.bytes.buf;
    if (this.word.length < n) this.word = new Int32Array(n);
    const word = this.word;
    for (let i = 0; i < n; i++) word[i] = BYTE_TOKEN_ID[bytes[i]];
    word[n - 1] += END_OF_WORD_OFFSET;
    let len = n;
    const ranks = this.ranks;
    while (len > 1) {
      let best = -1;
      let left = 0;
      let right = 0;
      for (let i = 0; i + 1 < len; i++) {
        const r = ranks.get(word[i], word[i + 1]);
        if (r >= 0 && (best < 0 || r < best)) {
          best = r;
          left = word[i];
          right = word[i + 1];
        }
      }
      if (best < 0) break;
      const merged = FIRST_MERGE_ID + best;
      let j = 0;
      for (let i = 0; i < len; ) {
        if (i + 1 < len && word[i] === left && word[i + 1] === right) {
          word[j++] = merged;
          i += 2;
        } else {
          word[j++] = word[i++];
        }
      }
      len = j;
    }
    return word.slice(0, len);
  }
}
