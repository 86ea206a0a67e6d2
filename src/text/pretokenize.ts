// CLIP's pre-tokenizer: the cleaned text is cut into the pieces that BPE encodes one by one.
//
//   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | letters+ | one number character
//   | run of anything else but whitespace
//
// OpenAI compiles it with IGNORECASE (hence the `i` flag: "'ſ" counts as "'s"); alternatives are
// tried in this order at each position, and whitespace is never part of a piece. "Whitespace" is the
// `regex` module's `\s`, not JavaScript's (which would also match U+FEFF).
//
// One character needs help: U+0345 COMBINING GREEK YPOGEGRAMMENI, a mark whose case folding is the
// letter ι. Under IGNORECASE the `regex` module matches it with neither `\p{L}` nor the negated
// "other" class, so it is never part of a piece and separates pieces like a space; JavaScript's
// `iu` matching counts it as a letter. Checked against regex 2022.10.31 (the reference's version)
// on every code point assigned in Unicode 14: with U+0345 read as a space, all agree.
import { REGEX_MODULE_SPACE_CLASS } from './python-whitespace.js';

const PIECE_SOURCE =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^" +
  REGEX_MODULE_SPACE_CLASS + '\\p{L}\\p{N}]+';

/** A fresh global regex matching one piece at a time (use on `piecesInput(cleaned)`). */
export function pieceRegExp(): RegExp {
  return new RegExp(PIECE_SOURCE, 'giu');
}

/** The string to run the piece regex on: `cleaned` with U+0345 turned into a space (see above). */
export function piecesInput(cleaned: string): string {
  return cleaned.includes('\u0345') ? cleaned.replaceAll('\u0345', ' ') : cleaned;
}

/** All pieces of `cleaned`, left to right. */
export function pretokenize(cleaned: string): string[] {
  return piecesInput(cleaned).match(pieceRegExp()) ?? [];
}
