// C1 control characters (U+0080..U+009F) left in text are almost always Windows-1252 bytes that
// were decoded as Latin-1; ftfy reads each one as Windows-1252, as web browsers do. The five bytes
// Windows-1252 leaves undefined (81, 8D, 8F, 90, 9D) stay as they are.
import { getCodec } from './codecs.js';

const C1_TEST = /[\x80-\x9f]/;
const C1_ALL = /[\x80-\x9f]/g;

export function hasC1Controls(text: string): boolean {
  return C1_TEST.test(text);
}

export function fixC1Controls(text: string): string {
  const table = getCodec('sloppy-windows-1252').decodeTable;
  return text.replace(C1_ALL, (c) => String.fromCharCode(table[c.charCodeAt(0)]));
}
