// ftfy's mojibake repair (`fix_encoding`): while the text looks bad, find a single-byte codec that
// can re-encode all of it into bytes that decode as UTF-8, else fix the UTF-8-looking runs inside it
// one by one, else reinterpret C1 controls as Windows-1252.
import { isBad } from './badness.js';
import { hasAlteredUtf8, replaceLossySequences, restoreByteA0 } from './byte-repairs.js';
import { CHARMAP_ENCODINGS, canEncode, decodeBinary, encodeToBinary, getCodec, type CharmapEncoding } from './codecs.js';
import { fixC1Controls, hasC1Controls } from './c1-controls.js';
import { UTF8_DETECTOR_RE, UTF8_DETECTOR_RE_ALL } from './utf8-clues.js';
import { decodeUtf8Variants } from './utf8-variants.js';

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

/** Re-encodes with `encoding` and decodes as UTF-8; null when the bytes are not (near-)UTF-8. */
function redecode(text: string, encoding: CharmapEncoding): string | null {
  let bytes = encodeToBinary(text, getCodec(encoding));
  // A space where a 0xA0 byte belongs (not for MacRoman, where "– " would match far too often).
  if (encoding !== 'macroman' && hasAlteredUtf8(bytes)) bytes = restoreByteA0(bytes);
  // Sequences in which a sloppy decoder lost bytes become U+FFFD instead of blocking the decode.
  if (encoding.startsWith('sloppy')) bytes = replaceLossySequences(bytes);
  return decodeUtf8Variants(bytes);
}

/** One step of repair; returns the input itself when no step applies. */
function fixEncodingOneStep(text: string): string {
  if (text.length === 0 || isAscii(text) || !isBad(text)) return text;

  let latin1Possible = false;
  for (const encoding of CHARMAP_ENCODINGS) {
    if (!canEncode(text, getCodec(encoding))) continue;
    if (encoding === 'latin-1') latin1Possible = true;
    const fixed = redecode(text, encoding);
    if (fixed !== null) return fixed;
  }

  // Runs that look like UTF-8 inside text that does not re-decode as a whole.
  if (UTF8_DETECTOR_RE.test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }

  // Latin-1 that was meant as Windows-1252: the only characters that are in Latin-1 but not in
  // Windows-1252 are the C1 controls. (ftfy also has a branch for text that is in both, but it
  // compares against a name that never occurs in its list, so that branch never runs.)
  if (latin1Possible) {
    const bytes = encodeToBinary(text, getCodec('latin-1'));
    const fixed = decodeBinary(bytes, getCodec('windows-1252'));
    if (fixed !== null && fixed !== text) return fixed;
  }

  if (hasC1Controls(text)) return fixC1Controls(text);
  return text;
}

/** ftfy's `fix_encoding` with its default settings: repeat single steps until nothing changes. */
export function fixEncoding(text: string): string {
  for (;;) {
    const next = fixEncodingOneStep(text);
    if (next === text) return text;
    text = next;
  }
}

/**
 * ftfy's `decode_inconsistent_utf8`: fix each UTF-8-looking run on its own, when the run itself
 * looks bad and is shorter than the whole text (which keeps the recursion finite).
 */
export function decodeInconsistentUtf8(text: string): string {
  return text.replace(UTF8_DETECTOR_RE_ALL, (run) => (run.length < text.length && isBad(run) ? fixEncoding(run) : run));
}
