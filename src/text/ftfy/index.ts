// A port of the parts of ftfy 6.3.1 (Robyn Speer's "fixes text for you") that CLIP's tokenizer
// uses: `fix_text` with default settings and the mojibake repair behind it.
export { fixText, fixSegment, MAX_SEGMENT_LENGTH } from './fix-text.js';
export { fixEncoding, decodeInconsistentUtf8 } from './fix-encoding.js';
export { isBad, badness } from './badness.js';
export { unescapeHtml } from './html-entities.js';
