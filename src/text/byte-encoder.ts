// GPT-2/CLIP's reversible mapping from bytes to printable characters, so that BPE can work on
// strings without whitespace or control characters in them: the 188 "printable" bytes 0x21-0x7E,
// 0xA1-0xAC and 0xAE-0xFF stand for themselves, the other 68 bytes (in increasing order) become
// U+0100, U+0101, ... U+0143.

function buildByteOrder(): number[] {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  for (let b = 0; b < 256; b++) if (!order.includes(b)) order.push(b);
  return order;
}

/** Bytes in vocabulary order: BYTE_ORDER[id] is the byte whose character has token id `id` (0..255). */
export const BYTE_ORDER: readonly number[] = buildByteOrder();

/** BYTE_CHARS[b] is the character byte b is written as. */
export const BYTE_CHARS: readonly string[] = (() => {
  const chars = new Array<string>(256);
  let extra = 0;
  for (const b of BYTE_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCharCode(printable ? b : 0x100 + extra++);
  }
  return chars;
})();

/** BYTE_TOKEN_ID[b] is the vocabulary id of byte b's character (0..255); +256 for the "</w>" form. */
export const BYTE_TOKEN_ID: Int32Array = (() => {
  const ids = new Int32Array(256);
  BYTE_ORDER.forEach((b, id) => {
    ids[b] = id;
  });
  return ids;
})();

/** Character -> byte, the inverse of BYTE_CHARS. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_CHARS.map((c, b) => [c, b]));
