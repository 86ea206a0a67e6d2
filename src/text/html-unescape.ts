// Python's `html.unescape`, the HTML5 "consume a character reference" rules as CPython implements
// them. CLIP applies it twice after ftfy, so every quirk matters for the token ids:
//
// * a named reference is recognised from the table with or without ';'; when the whole name is not
//   in the table, the longest prefix (at least 2 characters) that is wins and the rest is kept
//   (`&notit;` -> `¬it;`, because "not" is one of the names valid without ';');
// * numeric references: 0x80..0x9F are read as Windows-1252 (like browsers), 0 becomes U+FFFD and
//   13 becomes '\r'; surrogates and numbers above U+10FFFF become U+FFFD; other C0/C1 controls and
//   non-characters are dropped.
import { HTML5_ENTITIES, LONGEST_ENTITY_NAME } from './html5-entities.js';

// One reference: decimal, hexadecimal, or a run of up to 32 characters that can form a name. The
// name alphabet is deliberately loose (anything but tab, LF, FF, space, '<', '&', '#', ';'): it is
// what CPython matches, and it decides where an unknown reference ends.
const CHARREF_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

// Numeric references that the HTML5 spec maps to something other than their code point.
// 0x80..0x9F follow Windows-1252; its five undefined bytes keep their own value.
const REMAPPED_NUMERIC: ReadonlyMap<number, string> = new Map<number, string>([
  [0x00, '\ufffd'], [0x0d, '\r'],
  [0x80, '\u20ac'], [0x81, '\x81'], [0x82, '\u201a'], [0x83, '\u0192'], [0x84, '\u201e'], [0x85, '\u2026'],
  [0x86, '\u2020'], [0x87, '\u2021'], [0x88, '\u02c6'], [0x89, '\u2030'], [0x8a, '\u0160'], [0x8b, '\u2039'],
  [0x8c, '\u0152'], [0x8d, '\x8d'], [0x8e, '\u017d'], [0x8f, '\x8f'], [0x90, '\x90'], [0x91, '\u2018'],
  [0x92, '\u2019'], [0x93, '\u201c'], [0x94, '\u201d'], [0x95, '\u2022'], [0x96, '\u2013'], [0x97, '\u2014'],
  [0x98, '\u02dc'], [0x99, '\u2122'], [0x9a, '\u0161'], [0x9b, '\u203a'], [0x9c, '\u0153'], [0x9d, '\x9d'],
  [0x9e, '\u017e'], [0x9f, '\u0178'],
]);

/** Code points whose numeric references are dropped: C0/C1 controls (bar whitespace) and non-characters. */
function isDroppedCodePoint(n: number): boolean {
  if ((n >= 0x01 && n <= 0x08) || n === 0x0b || (n >= 0x0e && n <= 0x1f) || (n >= 0x7f && n <= 0x9f)) return true;
  if (n >= 0xfdd0 && n <= 0xfdef) return true;
  return (n & 0xfffe) === 0xfffe; // U+xxFFFE and U+xxFFFF in every plane
}

function numericReference(digits: string, radix: 10 | 16): string {
  // parseInt on a huge digit string gives a huge double (or Infinity): still "> 0x10FFFF".
  const n = parseInt(digits, radix);
  const remapped = REMAPPED_NUMERIC.get(n);
  if (remapped !== undefined) return remapped;
  if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return '\ufffd';
  if (isDroppedCodePoint(n)) return '';
  return String.fromCodePoint(n);
}

function replaceReference(whole: string, body: string): string {
  if (body.charCodeAt(0) === 0x23 /* # */) {
    const semi = body.endsWith(';') ? 1 : 0;
    const hex = body.charCodeAt(1) === 0x78 || body.charCodeAt(1) === 0x58;
    return hex
      ? numericReference(body.slice(2, body.length - semi), 16)
      : numericReference(body.slice(1, body.length - semi), 10);
  }
  const exact = HTML5_ENTITIES.get(body);
  if (exact !== undefined) return exact;
  // Longest known prefix of at least two characters. Names are ASCII, so a prefix that cuts a
  // surrogate pair can never match and code-unit lengths give CPython's (code-point) answer.
  for (let len = Math.min(body.length - 1, LONGEST_ENTITY_NAME); len > 1; len--) {
    const hit = HTML5_ENTITIES.get(body.slice(0, len));
    if (hit !== undefined) return hit + body.slice(len);
  }
  return whole;
}

/** Python's `html.unescape(text)`. */
export function htmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF_RE, replaceReference);
}
