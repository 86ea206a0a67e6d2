// Strict UTF-8 decoding of a binary string, plus the two non-standard forms ftfy's
// "utf-8-variants" codec accepts:
//
// * CESU-8: an astral character written as the UTF-8 encodings of its two UTF-16 surrogates,
//   ED A0-AF 80-BF ED B0-BF 80-BF (what UTF-8 layered on UTF-16 produces);
// * Java's "modified UTF-8" NUL, C0 80.
//
// Everything else must be well-formed UTF-8 (shortest form, no surrogates, at most U+10FFFF).
// On well-formed UTF-8 the result is the same as a plain UTF-8 decoder's, so the same function
// serves ftfy's "utf-8" and "utf-8-variants" decodings.

function isCont(b: number): boolean {
  return b >= 0x80 && b <= 0xbf;
}

/** The decoded text, or null where Python's decoder would raise UnicodeDecodeError. */
export function decodeUtf8Variants(bytes: string): string | null {
  const n = bytes.length;
  const parts: string[] = [];
  let run = '';
  let i = 0;
  while (i < n) {
    const b0 = bytes.charCodeAt(i);
    if (b0 < 0x80) {
      run += bytes[i];
      i++;
      continue;
    }
    let cp: number;
    if (b0 === 0xc0 && i + 1 < n && bytes.charCodeAt(i + 1) === 0x80) {
      cp = 0;
      i += 2;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      if (i + 1 >= n) return null;
      const b1 = bytes.charCodeAt(i + 1);
      if (!isCont(b1)) return null;
      cp = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
      i += 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      if (b0 === 0xed && i + 5 < n) {
        const s1 = bytes.charCodeAt(i + 1);
        const s2 = bytes.charCodeAt(i + 2);
        const s3 = bytes.charCodeAt(i + 3);
        const s4 = bytes.charCodeAt(i + 4);
        const s5 = bytes.charCodeAt(i + 5);
        if (s1 >= 0xa0 && s1 <= 0xaf && isCont(s2) && s3 === 0xed && s4 >= 0xb0 && s4 <= 0xbf && isCont(s5)) {
          cp = 0x10000 + ((s1 & 0x0f) << 16) + ((s2 & 0x3f) << 10) + ((s4 & 0x0f) << 6) + (s5 & 0x3f);
          parts.push(run, String.fromCodePoint(cp));
          run = '';
          i += 6;
          continue;
        }
      }
      if (i + 2 >= n) return null;
      const b1 = bytes.charCodeAt(i + 1);
      const b2 = bytes.charCodeAt(i + 2);
      const lo = b0 === 0xe0 ? 0xa0 : 0x80;
      const hi = b0 === 0xed ? 0x9f : 0xbf;
      if (b1 < lo || b1 > hi || !isCont(b2)) return null;
      cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      i += 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      if (i + 3 >= n) return null;
      const b1 = bytes.charCodeAt(i + 1);
      const b2 = bytes.charCodeAt(i + 2);
      const b3 = bytes.charCodeAt(i + 3);
      const lo = b0 === 0xf0 ? 0x90 : 0x80;
      const hi = b0 === 0xf4 ? 0x8f : 0xbf;
      if (b1 < lo || b1 > hi || !isCont(b2) || !isCont(b3)) return null;
      cp = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
      i += 4;
    } else {
      return null;
    }
    run += String.fromCodePoint(cp);
  }
  parts.push(run);
  return parts.join('');
}
