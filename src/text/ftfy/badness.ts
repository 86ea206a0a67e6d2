// ftfy 6.3.1's mojibake detector ("badness"): a pattern of character sequences that are far more
// likely to be mojibake than real text, for instance a lower-case accented letter followed by a
// currency sign. Re-decoding is only attempted on text in which it finds a match.
//
// The character classes are ftfy's categorisation of the few hundred characters that appear when
// UTF-8 is decoded as Latin-1, Windows-125x, MacRoman or CP437. They are written here as bodies of
// JavaScript character classes (`u` flag); Python's `\s` and `\w` are spelled out because
// JavaScript's differ (see ../python-whitespace.ts).
import { PY_SPACE_CLASS } from '../python-whitespace.js';

export const MOJIBAKE_CATEGORIES = {
  // Characters that appear in many contexts; sequences containing them are not inherently mojibake:
  // no-break space, soft hyphen, middle dot, acute accent, en/em dash, horizontal bar, ellipsis, ’.
  common: '\\u00a0\\u00ad\\u00b7\\u00b4\\u2013\\u2014\\u2015\\u2026\\u2019',
  // C1 controls: nobody uses them any more except by accident.
  c1: '\\u0080-\\u009f',
  // Nearly always mojibake: ¦ ¤ ¨ ¬ ¯ ¸ ƒ ˆ ˇ ˘ ˛ ˜ † ‡ ‰ ⌐ ◊ � ª º.
  bad: '\\u00a6\\u00a4\\u00a8\\u00ac\\u00af\\u00b8\\u0192\\u02c6\\u02c7\\u02d8\\u02db\\u02dc\\u2020\\u2021\\u2030' +
    '\\u2310\\u25ca\\ufffd\\u00aa\\u00ba',
  // Legalese: ¶ §.
  law: '\\u00b6\\u00a7',
  // ¢ £ ¥ ₧ €.
  currency: '\\u00a2\\u00a3\\u00a5\\u20a7\\u20ac',
  // ¡ « ¿ © ΄ ΅ ‘ ‚ “ „ • ‹ and U+F8FF (a private-use character, the Apple logo on Macs).
  start_punctuation: '\\u00a1\\u00ab\\u00bf\\u00a9\\u0384\\u0385\\u2018\\u201a\\u201c\\u201e\\u2022\\u2039\\uf8ff',
  // ® » ˝ ” › ™.
  end_punctuation: '\\u00ae\\u00bb\\u02dd\\u201d\\u203a\\u2122',
  // ² ³ ¹ ± ¼ ½ ¾ × µ ÷ ⁄ ∂ ∆ ∏ ∑ √ ∞ ∩ ∫ ≈ ≠ ≡ ≤ ≥ №.
  numeric: '\\u00b2\\u00b3\\u00b9\\u00b1\\u00bc\\u00bd\\u00be\\u00d7\\u00b5\\u00f7\\u2044\\u2202\\u2206\\u220f' +
    '\\u2211\\u221a\\u221e\\u2229\\u222b\\u2248\\u2260\\u2261\\u2264\\u2265\\u2116',
  // Letters that make faces (kaomoji) and so appear in improbable-looking company:
  // Ò-Ö, Ù-Ü, ò-ö, ø-ü, Ő, Ō, Ū, Ų, °.
  kaomoji: '\\u00d2-\\u00d6\\u00d9-\\u00dc\\u00f2-\\u00f6\\u00f8-\\u00fc\\u0150\\u014c\\u016a\\u0172\\u00b0',
  // À-Ñ, Ø Ü Ý, then Latin capitals with breve/macron/ogonek/acute/caron/stroke/cedilla/dot, Œ,
  // Ÿ, and Ґ (the O's and U's that kaomoji use are left out).
  upper_accented: '\\u00c0-\\u00d1\\u00d8\\u00dc\\u00dd\\u0102\\u0100\\u0104\\u0106\\u010c\\u010e\\u0110\\u0118' +
    '\\u011a\\u0112\\u0116\\u011e\\u0122\\u0130\\u012a\\u0136\\u0139\\u013d\\u0141\\u013b\\u0143\\u0147\\u0145' +
    '\\u0152\\u0158\\u015a\\u015e\\u0160\\u0162\\u0164\\u016e\\u0170\\u0178\\u0179\\u017b\\u017d\\u0490',
  // ß, à-ñ, the matching small letters, œ, ü, ґ and the ligatures ﬁ ﬂ.
  lower_accented: '\\u00df\\u00e0-\\u00f1\\u0103\\u0105\\u0101\\u0107\\u010d\\u010f\\u0111\\u0119\\u011b\\u0113' +
    '\\u0117\\u011f\\u0123\\u012f\\u012b\\u0137\\u013a\\u013e\\u0142\\u013c\\u0153\\u0155\\u015b\\u015f\\u0161' +
    '\\u0165\\u00fc\\u017a\\u017c\\u017e\\u0491\\ufb01\\ufb02',
  // Þ, Greek capitals Α-Ω with the tonos/dialytika forms, Cyrillic capitals Ё-Я.
  upper_common: '\\u00de\\u0391-\\u03a9\\u0386\\u0388\\u0389\\u038a\\u038c\\u038e\\u038f\\u03aa\\u03ab\\u0401-\\u042f',
  // Greek small letters α-ω with tonos forms, Cyrillic small letters а-џ.
  lower_common: '\\u03b1-\\u03c9\\u03ac\\u03ad\\u03ae\\u03af\\u03b0\\u0430-\\u045f',
  // Box drawing and block characters (not the single horizontal line, which kaomoji use).
  box: '\\u2502\\u250c\\u2510\\u2518\\u251c\\u2524\\u252c\\u253c\\u2550-\\u256c\\u2580\\u2584\\u2588\\u258c\\u2590' +
    '\\u2591\\u2592\\u2593',
} as const;

type Category = keyof typeof MOJIBAKE_CATEGORIES;

/** `[...]` holding the union of some categories plus extra class syntax. */
function cls(cats: readonly Category[], extra = ''): string {
  return '[' + cats.map((c) => MOJIBAKE_CATEGORIES[c]).join('') + extra + ']';
}

const PY_SPACE = '[' + PY_SPACE_CLASS + ']';
const PY_WORD = '[\\p{L}\\p{N}_]'; // Python's `\w` (checked equal on all of Unicode 14)

// The alternatives, in ftfy's order. Literal characters are escaped so the source stays ASCII:
// Â=\u00c2 Ã=\u00c3 Ă=\u0102 Î=\u00ce Ð=\u00d0 Ø=\u00d8 Ù=\u00d9 à=\u00e0 √=\u221a ≈=\u2248 ‚=\u201a
// Ä=\u00c4 в=\u0432 Ђ=\u0402 В=\u0412 Г=\u0413 Р=\u0420 С=\u0421 ў=\u045e β=\u03b2 €=\u20ac
// Β=\u0392 Γ=\u0393 Ξ=\u039e Ο=\u039f ā=\u0101 Œ=\u0152 œ=\u0153 ×=\u00d7.
const LETTERS_AND_SYMBOLS: readonly Category[] =
  ['bad', 'lower_accented', 'upper_accented', 'box', 'start_punctuation', 'end_punctuation', 'currency', 'numeric', 'law'];
const SYMBOLS_AFTER_BAD: readonly Category[] =
  ['lower_accented', 'upper_accented', 'box', 'start_punctuation', 'end_punctuation', 'currency', 'numeric', 'law'];
const ARABIC_SECOND: string = cls(['common', 'currency', 'bad', 'numeric', 'start_punctuation'], '\\u0178\\u0160\\u00ae\\u00b0\\u00b5\\u00bb');

const ALTERNATIVES: readonly string[] = [
  cls(['c1']),
  cls(LETTERS_AND_SYMBOLS) + cls(['bad']),
  '[a-zA-Z]' + cls(['lower_common', 'upper_common']) + cls(['bad']),
  cls(['bad']) + cls(SYMBOLS_AFTER_BAD),
  cls(['lower_accented', 'lower_common', 'box', 'end_punctuation', 'currency', 'numeric']) + cls(['upper_accented']),
  cls(['box', 'end_punctuation', 'currency', 'numeric']) + cls(['lower_accented']),
  cls(['lower_accented', 'box', 'end_punctuation']) + cls(['currency']),
  PY_SPACE + cls(['upper_accented']) + cls(['currency']),
  cls(['upper_accented', 'box']) + cls(['numeric', 'law']),
  cls(['lower_accented', 'upper_accented', 'box', 'currency', 'end_punctuation']) + cls(['start_punctuation']) + cls(['numeric']),
  cls(['lower_accented', 'upper_accented', 'currency', 'numeric', 'box', 'law']) + cls(['end_punctuation']) + cls(['start_punctuation']),
  cls(['currency', 'numeric', 'box']) + cls(['start_punctuation']),
  '[a-z]' + cls(['upper_accented']) + cls(['start_punctuation', 'currency']),
  cls(['box']) + cls(['kaomoji']),
  cls(['lower_accented', 'upper_accented', 'currency', 'numeric', 'start_punctuation', 'end_punctuation', 'law']) + cls(['box']),
  cls(['box']) + cls(['end_punctuation']),
  cls(['lower_accented', 'upper_accented']) + cls(['start_punctuation', 'end_punctuation']) + PY_WORD,
  // The ligature œ when not followed by an unaccented Latin letter.
  '[\\u0152\\u0153][^A-Za-z]',
  // A degree sign after a capital letter.
  cls(['upper_accented']) + '\\u00b0',
  // Common two-character Windows-1252 mojibake not covered above.
  '[\\u00c2\\u00c3\\u00ce\\u00d0]' +
    cls(['start_punctuation', 'end_punctuation'],
      '\\u20ac\\u0153\\u0160\\u0161\\u00a2\\u00a3\\u0178\\u017e\\u00a0\\u00ad\\u00ae\\u00a9\\u00b0\\u00b7\\u00bb\\u2013\\u2014\\u00b4'),
  '\\u00d7[\\u00b2\\u00b3]',
  // Windows-1252 mojibake of Arabic includes "common" characters, so four characters are required.
  '[\\u00d8\\u00d9]' + ARABIC_SECOND + '[\\u00d8\\u00d9]' + ARABIC_SECOND,
  // Windows-1252 mojibake starting three-byte sequences of some South Asian scripts.
  '\\u00e0[\\u00b2\\u00b5\\u00b9\\u00bc\\u00bd\\u00be]',
  // MacRoman mojibake not covered above.
  '\\u221a[\\u00b1\\u2202\\u2020\\u2260\\u00ae\\u2122\\u00b4\\u2264\\u2265\\u00a5\\u00b5\\u00f8]',
  '\\u2248[\\u00b0\\u00a2]',
  '\\u201a\\u00c4[\\u00ec\\u00ee\\u00ef\\u00f2\\u00f4\\u00fa\\u00f9\\u00fb\\u2020\\u00b0\\u00a2\\u03c0]',
  '\\u201a[\\u00e2\\u00f3][\\u00e0\\u00e4\\u00b0\\u00ea]',
  // Windows-1251 mojibake of characters in the U+2000 block.
  '\\u0432\\u0402',
  // Windows-1251 mojibake of Latin-1 or Cyrillic: three characters required.
  '[\\u0412\\u0413\\u0420\\u0421]' + cls(['c1', 'bad', 'start_punctuation', 'end_punctuation', 'currency'], '\\u00b0\\u00b5') +
    '[\\u0412\\u0413\\u0420\\u0421]',
  // Windows-1251 over Latin-1 over Windows-1252, with a Latin letter nearby. (Python's '.' = not '\n'.)
  '\\u0413\\u045e\\u0412\\u0402\\u0412[^\\n][A-Za-z ]',
  // Windows-1252 encodings of 'à' and 'á', and of U+00A0 itself.
  '\\u00c3[\\u00a0\\u00a1]',
  '[a-z]' + PY_SPACE + '?[\\u00c3\\u00c2] ',
  '^[\\u00c3\\u00c2] ',
  // Â encoding exactly the character after it, when that character is common enough.
  '[a-z.,?!' + MOJIBAKE_CATEGORIES.end_punctuation + ']\\u00c2' + cls(['start_punctuation', 'end_punctuation'], ' '),
  // Windows-1253 mojibake of characters in the U+2000 block.
  '\\u03b2\\u20ac[\\u2122\\u00a0\\u0386\\u00ad\\u00ae\\u00b0]',
  // Windows-1253 mojibake of Latin-1 or Greek: three characters required.
  '[\\u0392\\u0393\\u039e\\u039f]' + cls(['c1', 'bad', 'start_punctuation', 'end_punctuation', 'currency'], '\\u00b0') +
    '[\\u0392\\u0393\\u039e\\u039f]',
  // Windows-1257 mojibake of characters in the U+2000 block.
  '\\u0101\\u20ac',
];

const BADNESS_RE = new RegExp(ALTERNATIVES.join('|'), 'u');
const BADNESS_RE_ALL = new RegExp(ALTERNATIVES.join('|'), 'gu');

/** Whether the text looks like it contains mojibake (ftfy's `is_bad`). */
export function isBad(text: string): boolean {
  return BADNESS_RE.test(text);
}

/** The number of non-overlapping suspicious sequences (ftfy's `badness`). */
export function badness(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(BADNESS_RE_ALL)) n++;
  return n;
}
