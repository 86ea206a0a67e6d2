// Byte-level repairs ftfy applies between re-encoding mojibake and decoding it as UTF-8. They work
// on binary strings (see codecs.ts), so the byte patterns are plain regular expressions.

// UTF-8 sequences that would be valid if one byte 0xA0 had not been turned into a space (0x20) by
// something that treated "no-break space" as "space". Only lead bytes that commonly precede 0xA0
// are trusted: C2 (U+00A0), C3 (U+00E0 à), C5 (Š), CE (Π), D0 (Р), D9 (Arabic-Indic zero) for two
// bytes; E2/E3 when the space is the second byte and E0..E3 when it is the third; F0 for four bytes.
const ALTERED_UTF8_SOURCE =
  '[\\xc2\\xc3\\xc5\\xce\\xd0\\xd9] ' +
  '|[\\xe2\\xe3] [\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf]' +
  '|[\\xe0-\\xe3][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf] ' +
  '|\\xf0 [\\x80-\\xbf][\\x80-\\xbf]' +
  '|\\xf0[\\x80-\\xbf] [\\x80-\\xbf]' +
  '|\\xf0[\\x80-\\xbf][\\x80-\\xbf] ';
const ALTERED_UTF8_TEST = new RegExp(ALTERED_UTF8_SOURCE);
const ALTERED_UTF8_ALL = new RegExp(ALTERED_UTF8_SOURCE, 'g');

// "Ã " standing alone is nearly always the French/Portuguese word "à" whose no-break space became
// a space; keep a space after it so it does not glue onto the next word. Portuguese contractions
// such as "às" and "àquele" are the exception, and so is a double space.
const A_GRAVE_WORD = /\xc3 (?! |quele|quela|quilo|s )/g;

/** True when the bytes contain a sequence `restoreByteA0` would repair. */
export function hasAlteredUtf8(bytes: string): boolean {
  return ALTERED_UTF8_TEST.test(bytes);
}

/** ftfy's `restore_byte_a0`: put back the 0xA0 bytes that became spaces inside UTF-8 sequences. */
export function restoreByteA0(bytes: string): string {
  const spaced = bytes.replace(A_GRAVE_WORD, '\xc3\xa0 ');
  return spaced.replace(ALTERED_UTF8_ALL, (m) => m.replaceAll(' ', '\xa0'));
}

// UTF-8 (and CESU-8) sequences in which some continuation bytes were lost: byte 0x1A stands for a
// character a sloppy codec produced from U+FFFD, and '?' for one replaced by a question mark (at most
// once per sequence). A lone 0x1A also matches, so that it turns back into U+FFFD.
const LOSSY_UTF8 = new RegExp(
  '[\\xc2-\\xdf]\\x1a' +
  '|[\\xc2-\\xc3]\\?' +
  '|\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]' +
  '|\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]' +
  '|[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]' +
  '|[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]' +
  '|[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]' +
  '|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]' +
  '|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]' +
  '|\\x1a',
  'g',
);

const UTF8_REPLACEMENT_CHARACTER = '\xef\xbf\xbd';

/** ftfy's `replace_lossy_sequences`: such sequences become the UTF-8 bytes of U+FFFD. */
export function replaceLossySequences(bytes: string): string {
  return bytes.replace(LOSSY_UTF8, UTF8_REPLACEMENT_CHARACTER);
}
