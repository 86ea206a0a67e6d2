// Characters that betray UTF-8 read as a Latin-1-like code page, and the pattern that finds runs of
// them even where the whole text cannot be re-decoded (ftfy's UTF8_CLUES and UTF8_DETECTOR_RE).
//
// ftfy lists these characters by name; they are exactly what the relevant bytes decode to in
// Latin-1 and Windows-1250/1251/1252/1253/1254/1257, so they are derived here from the codec tables.
// (test/text/ftfy-internals.test.ts pins the resulting set sizes: 124, 66, 9, 94 and 83.)
import { getCodec } from './codecs.js';

const LEAD_CODECS = ['latin-1', 'windows-1250', 'windows-1251', 'windows-1253', 'windows-1254', 'windows-1257'] as const;
const CONTINUATION_CODECS = ['windows-1250', 'windows-1251', 'windows-1252', 'windows-1253', 'windows-1254', 'windows-1257'] as const;

function decodedSet(codecNames: readonly (typeof LEAD_CODECS[number] | typeof CONTINUATION_CODECS[number])[], bytes: readonly number[]): Set<number> {
  const out = new Set<number>();
  for (const name of codecNames) {
    const table = getCodec(name).decodeTable;
    for (const b of bytes) if (table[b] >= 0) out.add(table[b]);
  }
  return out;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let b = from; b <= to; b++) out.push(b);
  return out;
}

/** Leading bytes of 2-byte sequences (C2..DF) as characters. */
export const UTF8_FIRST_OF_2 = decodedSet(LEAD_CODECS, range(0xc2, 0xdf));
/** Leading bytes of 3-byte sequences (E0..EF). */
export const UTF8_FIRST_OF_3 = decodedSet(LEAD_CODECS, range(0xe0, 0xef));
/** Leading bytes F0 and F3 of 4-byte sequences (the others lead only to unassigned planes). */
export const UTF8_FIRST_OF_4 = decodedSet(LEAD_CODECS, [0xf0, 0xf3]);

/** Continuation bytes 80..BF as characters, outside U+0080..U+00BF (which is always included). */
export const UTF8_CONTINUATION_EXTRA = new Set([...decodedSet(CONTINUATION_CODECS, range(0x80, 0xbf))].filter((c) => c < 0x80 || c > 0xbf));

// Continuation characters that often stand for themselves next to mojibake: dashes, quotation marks,
// the bullet and the ellipsis (and the space that may stand for U+00A0).
const SELF_STANDING = new Set([0x2013, 0x2014, 0x2015, 0x2018, 0x2019, 0x201a, 0x201c, 0x201d, 0x201e, 0x2022, 0x2026]);

/** Continuation characters that are not plausible on their own next to mojibake. */
export const UTF8_CONTINUATION_STRICT_EXTRA = new Set([...UTF8_CONTINUATION_EXTRA].filter((c) => !SELF_STANDING.has(c)));

function classBody(codes: Iterable<number>): string {
  let out = '';
  for (const c of [...codes].sort((a, b) => a - b)) out += '\\u' + c.toString(16).padStart(4, '0');
  return out;
}

const FIRST_OF_2 = '[' + classBody(UTF8_FIRST_OF_2) + ']';
const FIRST_OF_3 = '[' + classBody(UTF8_FIRST_OF_3) + ']';
const FIRST_OF_4 = '[' + classBody(UTF8_FIRST_OF_4) + ']';
// A space may stand for U+00A0 (see byte-repairs.ts), so it counts as a continuation here.
const CONTINUATION = '[\\u0080-\\u00bf ' + classBody(UTF8_CONTINUATION_EXTRA) + ']';
const CONTINUATION_STRICT = '[\\u0080-\\u00bf' + classBody(UTF8_CONTINUATION_STRICT_EXTRA) + ']';

// Runs of what looks like UTF-8 sequences, not preceded by a strict continuation character (so a
// few characters in the middle of a large garble are not "fixed" on their own).
const DETECTOR_SOURCE =
  `(?<!${CONTINUATION_STRICT})(?:${FIRST_OF_2}${CONTINUATION}|${FIRST_OF_3}${CONTINUATION}{2}|${FIRST_OF_4}${CONTINUATION}{3})+`;

export const UTF8_DETECTOR_RE = new RegExp(DETECTOR_SOURCE, 'u');
export const UTF8_DETECTOR_RE_ALL = new RegExp(DETECTOR_SOURCE, 'gu');
