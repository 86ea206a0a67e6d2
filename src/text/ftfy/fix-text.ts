// ftfy 6.3.1's `fix_text` with its default configuration, the first step of CLIP's text cleaning.
//
// The text is fixed in segments that end after each '\n' (at most a million characters each).
// Within a segment every fix is applied in ftfy's order, and the whole sequence is repeated until
// the segment stops changing, which resolves several layers of escaping or mojibake at once.
// HTML unescaping is skipped in a segment that contains '<' (it is probably real HTML) and, from
// then on, in every later segment of the same text.
import { fixCharacterWidth } from './character-width.js';
import { fixC1Controls } from './c1-controls.js';
import { removeControlChars } from './control-chars.js';
import { fixEncoding } from './fix-encoding.js';
import { unescapeHtml } from './html-entities.js';
import { fixLatinLigatures } from './ligatures.js';
import { fixLineBreaks } from './line-breaks.js';
import { uncurlQuotes } from './quotes.js';
import { fixSurrogates } from './surrogates.js';
import { removeTerminalEscapes } from './terminal-escapes.js';

/** ftfy's `max_decode_length`: longer lines are cut into pieces of this many characters. */
export const MAX_SEGMENT_LENGTH = 1_000_000;

// Text made only of these characters passes through every fix unchanged: printable ASCII without
// '&', plus tab, LF and FF (ftfy keeps those three control characters). Checking for it first is
// what makes cleaning typical captions cheap.
const UNCHANGED_BY_FTFY = /^[\t\n\f\x20-\x25\x27-\x7e]*$/;

/** One segment, fixed until it stops changing (ftfy's `fix_and_explain` without the explanation). */
export function fixSegment(text: string, unescape: boolean): string {
  for (;;) {
    const before = text;
    if (unescape) text = unescapeHtml(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = fixLatinLigatures(text);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = fixSurrogates(text);
    text = removeTerminalEscapes(text);
    text = removeControlChars(text);
    text = text.normalize('NFC');
    if (text === before) return text;
  }
}

/** ftfy's `fix_text(text)` with default settings. */
export function fixText(text: string): string {
  if (UNCHANGED_BY_FTFY.test(text)) return text;
  const out: string[] = [];
  let unescape = true;
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos) + 1;
    if (end === 0) end = text.length;
    // ftfy counts code points; a cut that would split a surrogate pair moves one unit further.
    end = Math.min(end, cutAfterCodePoints(text, pos, MAX_SEGMENT_LENGTH));
    const segment = text.slice(pos, end);
    // Once a segment looks like HTML, entities are left alone for the rest of the text.
    if (unescape && segment.includes('<')) unescape = false;
    out.push(fixSegment(segment, unescape));
    pos = end;
  }
  return out.join('');
}

/** The index `count` code points after `start` (or the end of the text). */
function cutAfterCodePoints(text: string, start: number, count: number): number {
  // Fast answer for the common case: fewer code units than the limit means fewer code points.
  if (text.length - start <= count) return text.length;
  let i = start;
  for (let n = 0; n < count && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return i;
}
