// Full-width ASCII and half-width katakana/Hangul (the "Halfwidth and Fullwidth Forms" block,
// U+FF01..U+FFEF) become their ordinary forms, and the ideographic space U+3000 an ASCII space.
// The map is each character's NFKC form, exactly how ftfy builds it.
const WIDTH_MAP = new Map<string, string>([['\u3000', ' ']]);
for (let cp = 0xff01; cp < 0xfff0; cp++) {
  const c = String.fromCharCode(cp);
  const alt = c.normalize('NFKC');
  if (alt !== c) WIDTH_MAP.set(c, alt);
}

const WIDTH_RE = /[\u3000\uff01-\uffef]/g;

export function fixCharacterWidth(text: string): string {
  return text.replace(WIDTH_RE, (c) => WIDTH_MAP.get(c) ?? c);
}
