// CLIP's tokenizer: cleaning (ftfy, HTML unescaping, whitespace, lower case), pre-tokenizing,
// byte-level BPE, and `tokenize` with OpenAI's padding and truncation rules. Produces exactly the
// ids of OpenAI's `clip.tokenize` / `SimpleTokenizer.encode`.
import { BytePairEncoder, type BpeOptions } from './bpe.js';
import { CHAR_TO_BYTE } from './byte-encoder.js';
import { cleanText } from './clean.js';
import { pieceRegExp, piecesInput } from './pretokenize.js';
import { EOT_TOKEN, SOT_TOKEN, loadVocabulary, type Vocabulary } from './vocabulary.js';

/** Id of `<|startoftext|>`. */
export const SOT = 49406;
/** Id of `<|endoftext|>`. */
export const EOT = 49407;
/** Vocabulary size of every CLIP text tower. */
export const VOCAB_SIZE = 49408;
/** CLIP's text context length. */
export const DEFAULT_CONTEXT_LENGTH = 77;

export interface TokenizeOptions {
  /** Positions per row (default 77). */
  contextLength?: number;
  /** Cut texts that are too long (keeping the first ids and ending with EOT) instead of failing. */
  truncate?: boolean;
}

/** The result of `tokenize`: a zero-padded [rows, contextLength] matrix of ids. */
export interface TokenizedBatch {
  /** Row-major ids, shape [rows, contextLength], padding 0. */
  ids: Int32Array;
  shape: [rows: number, contextLength: number];
  /** Ids in each row before the padding (SOT and EOT included). */
  lengths: Int32Array;
  /** Position of the first EOT in each row: the one CLIP's text tower pools (its argmax over ids). */
  eotIndex: Int32Array;
  /** Whether each row was cut to fit. */
  truncated: boolean[];
}

/** Thrown by `tokenize` without `truncate` when a text needs more than `contextLength` ids. */
export class TextTooLongError extends Error {
  constructor(readonly index: number, readonly text: string, readonly tokenCount: number, readonly contextLength: number) {
    // Long texts are shown by their first 200 code points (never half a surrogate pair).
    const chars = Array.from(text);
    const preview = chars.length > 200 ? JSON.stringify(chars.slice(0, 200).join('')) + '…' : JSON.stringify(text);
    super(`Input ${index} ${preview} is too long for context length ${contextLength} ` +
      `(${tokenCount} ids with the start and end ids); truncate (--truncate) would cut it`);
    this.name = 'TextTooLongError';
  }
}

export interface TokenizerOptions extends BpeOptions {
  /** A gzip-compressed merge file other than the one in assets/. */
  vocabularyFile?: string;
  /** An already-built vocabulary (wins over vocabularyFile). */
  vocabulary?: Vocabulary;
}

export class Tokenizer {
  readonly vocabulary: Vocabulary;
  private readonly bpe: BytePairEncoder;
  private readonly pieces = pieceRegExp();

  constructor(options: TokenizerOptions = {}) {
    this.vocabulary = options.vocabulary ?? loadVocabulary(options.vocabularyFile);
    this.bpe = new BytePairEncoder(this.vocabulary, options);
  }

  /** The cleaned text the pre-tokenizer sees (OpenAI's `whitespace_clean(basic_clean(t)).lower()`). */
  clean(text: string): string {
    return cleanText(text);
  }

  /** BPE ids of a text, without SOT/EOT and without truncation (OpenAI's `SimpleTokenizer.encode`). */
  encode(text: string): number[] {
    const out: number[] = [];
    const cleaned = piecesInput(cleanText(text));
    const re = this.pieces;
    re.lastIndex = 0;
    for (let m = re.exec(cleaned); m !== null; m = re.exec(cleaned)) {
      const piece = m[0];
      // The special strings are whole pieces and map straight to their ids (OpenAI seeds its BPE
      // cache with them).
      if (piece === EOT_TOKEN) out.push(this.vocabulary.eot);
      else if (piece === SOT_TOKEN) out.push(this.vocabulary.sot);
      else this.bpe.encodePiece(piece, out);
    }
    return out;
  }

  /** `[SOT, ...encode(text), EOT]`, cut to `contextLength` (ending in EOT) when `truncate` is set. */
  tokens(text: string, options: TokenizeOptions = {}): number[] {
    const contextLength = checkContextLength(options.contextLength);
    const ids = [this.vocabulary.sot, ...this.encode(text), this.vocabulary.eot];
    if (ids.length > contextLength) {
      if (options.truncate !== true) throw new TextTooLongError(0, text, ids.length, contextLength);
      ids.length = contextLength;
      ids[contextLength - 1] = this.vocabulary.eot;
    }
    return ids;
  }

  /** OpenAI's `clip.tokenize(texts, context_length, truncate)`, as an Int32Array [rows, contextLength]. */
  tokenize(texts: string | readonly string[], options: TokenizeOptions = {}): TokenizedBatch {
    const list = typeof texts === 'string' ? [texts] : texts;
    const contextLength = checkContextLength(options.contextLength);
    const rows = list.length;
    const ids = new Int32Array(rows * contextLength);
    const lengths = new Int32Array(rows);
    const eotIndex = new Int32Array(rows);
    const truncated: boolean[] = [];
    const eot = this.vocabulary.eot;
    for (let r = 0; r < rows; r++) {
      const text = list[r];
      if (typeof text !== 'string') throw new TypeError(`tokenize: text ${r} is ${typeof text}, not a string`);
      const row = [this.vocabulary.sot, ...this.encode(text), eot];
      const cut = row.length > contextLength;
      if (cut) {
        if (options.truncate !== true) throw new TextTooLongError(r, text, row.length, contextLength);
        row.length = contextLength;
        row[contextLength - 1] = eot;
      }
      ids.set(row, r * contextLength);
      lengths[r] = row.length;
      eotIndex[r] = row.indexOf(eot);
      truncated.push(cut);
    }
    return { ids, shape: [rows, contextLength], lengths, eotIndex, truncated };
  }

  /**
   * Text of a list of ids (OpenAI's `SimpleTokenizer.decode`): token texts joined, bytes decoded
   * as UTF-8 with U+FFFD for invalid sequences, and each "</w>" turned into a space. Special
   * tokens come out as their text; 0 is a real token ("!"), so strip padding first.
   */
  decode(ids: ArrayLike<number>): string {
    const tokens = this.vocabulary.tokens;
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const token = Number.isInteger(id) ? tokens[id] : undefined;
      if (token === undefined) throw new RangeError(`decode: id ${id} at position ${i} is not in the vocabulary (0..${tokens.length - 1})`);
      for (const ch of token) {
        const b = CHAR_TO_BYTE.get(ch);
        // Every token is made of byte characters; the special tokens are printable ASCII.
        if (b === undefined) throw new Error(`decode: token ${id} holds a character that is not a byte character`);
        bytes.push(b);
      }
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes)).replaceAll('</w>', ' ');
  }

  /** Forgets cached BPE results (for benchmarks, or to free memory). */
  clearCache(): void {
    this.bpe.clearCache();
  }
}

function checkContextLength(value: number | undefined): number {
  const n = value ?? DEFAULT_CONTEXT_LENGTH;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`contextLength must be a positive integer, got ${String(value)}`);
  return n;
}

let shared: Tokenizer | undefined;

/** The tokenizer with the bundled vocabulary, loaded on first use. */
export function defaultTokenizer(): Tokenizer {
  shared ??= new Tokenizer();
  return shared;
}

/** `defaultTokenizer().tokenize(...)`. */
export function tokenize(texts: string | readonly string[], options: TokenizeOptions = {}): TokenizedBatch {
  return defaultTokenizer().tokenize(texts, options);
}

/** `defaultTokenizer().encode(text)`: BPE ids without SOT/EOT. */
export function encode(text: string): number[] {
  return defaultTokenizer().encode(text);
}

/** `defaultTokenizer().decode(ids)`. */
export function decode(ids: ArrayLike<number>): string {
  return defaultTokenizer().decode(ids);
}
