// The single-byte codecs ftfy 6.3.1 tries when it repairs mojibake, including its "sloppy" ones.
//
// A sloppy codec is a Windows code page in which every byte decodes to something: the bytes the
// code page leaves undefined decode as in Latin-1, and byte 0x1A (SUBSTITUTE) stands for U+FFFD, so
// that text in which a decoder already replaced bytes by U+FFFD can still be re-encoded.
//
// Bytes are carried around as "binary strings" (one char per byte, U+0000..U+00FF) so that the
// byte-level patterns of ftfy can be written as ordinary regular expressions.
import { CODEC_HIGH_HALVES, type CodecName } from './codec-tables.generated.js';

export type CharmapEncoding =
  | 'latin-1'
  | 'sloppy-windows-1252'
  | 'sloppy-windows-1251'
  | 'sloppy-windows-1250'
  | 'sloppy-windows-1253'
  | 'sloppy-windows-1254'
  | 'sloppy-windows-1257'
  | 'iso-8859-2'
  | 'macroman'
  | 'cp437';

/** The order in which ftfy tries them: the first that decodes as UTF-8 wins. */
export const CHARMAP_ENCODINGS: readonly CharmapEncoding[] = [
  'latin-1',
  'sloppy-windows-1252',
  'sloppy-windows-1251',
  'sloppy-windows-1250',
  'sloppy-windows-1253',
  'sloppy-windows-1254',
  'sloppy-windows-1257',
  'iso-8859-2',
  'macroman',
  'cp437',
];

export interface SingleByteCodec {
  readonly name: string;
  /** Code point of each byte, -1 where the codec has none. */
  readonly decodeTable: Int32Array;
  /** Code point -> byte, for every byte that decodes. */
  readonly encodeMap: ReadonlyMap<number, number>;
}

function makeCodec(name: string, decodeTable: Int32Array): SingleByteCodec {
  const encodeMap = new Map<number, number>();
  for (let b = 0; b < 256; b++) {
    const cp = decodeTable[b];
    if (cp < 0) continue;
    // Every table used here is one-to-one; a clash would make encoding ambiguous.
    if (encodeMap.has(cp)) throw new Error(`codec ${name}: code point U+${cp.toString(16)} decoded from two bytes`);
    encodeMap.set(cp, b);
  }
  return { name, decodeTable, encodeMap };
}

function tableFor(base: CodecName | 'latin-1'): Int32Array {
  const table = new Int32Array(256);
  for (let b = 0; b < 128; b++) table[b] = b;
  for (let b = 128; b < 256; b++) table[b] = base === 'latin-1' ? b : CODEC_HIGH_HALVES[base][b - 128];
  return table;
}

function sloppyTableFor(base: CodecName): Int32Array {
  const table = tableFor(base);
  for (let b = 0; b < 256; b++) if (table[b] < 0) table[b] = b;
  table[0x1a] = 0xfffd;
  return table;
}

const codecs = new Map<string, SingleByteCodec>();

/** A codec by ftfy's name for it ('sloppy-windows-1252', 'latin-1', ...) or a strict 'windows-125x'. */
export function getCodec(name: CharmapEncoding | CodecName): SingleByteCodec {
  let codec = codecs.get(name);
  if (codec === undefined) {
    if (name === 'latin-1') codec = makeCodec(name, tableFor('latin-1'));
    else if (name.startsWith('sloppy-')) codec = makeCodec(name, sloppyTableFor(name.slice('sloppy-'.length) as CodecName));
    else codec = makeCodec(name, tableFor(name as CodecName));
    codecs.set(name, codec);
  }
  return codec;
}

/**
 * ftfy's `possible_encoding`: whether every character of `text` could have come out of `codec`.
 * ftfy checks this with a pattern built from bytes 0x00-0x19, 0x1B-0x7F, 0x80-0xFF and 0x1A, which
 * is exactly "the codec can encode every character" for the codecs above.
 */
export function canEncode(text: string, codec: SingleByteCodec): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80 && c !== 0x1a) continue;
    // A surrogate (paired or not) is never encodable: no table holds one or an astral character.
    if (!codec.encodeMap.has(c)) return false;
  }
  return true;
}

/** Encodes text the caller has checked with `canEncode`, as a binary string. */
export function encodeToBinary(text: string, codec: SingleByteCodec): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = c < 0x80 && c !== 0x1a ? c : codec.encodeMap.get(c);
    if (b === undefined) throw new Error(`codec ${codec.name} cannot encode U+${c.toString(16).padStart(4, '0')}`);
    out += String.fromCharCode(b);
  }
  return out;
}

/** Decodes a binary string; null when a byte is undefined in the codec (a strict decode error). */
export function decodeBinary(bytes: string, codec: SingleByteCodec): string | null {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const cp = codec.decodeTable[bytes.charCodeAt(i)];
    if (cp < 0) return null;
    out += String.fromCharCode(cp);
  }
  return out;
}
