// Python's two notions of whitespace, which CLIP's cleaning relies on and which both differ from
// JavaScript's `\s` (that one also matches U+FEFF and misses U+0085).
//
// * `str.isspace()` / `str.strip()` and the `re` module's `\s`: 29 code points.
// * The `regex` module's `\s` (used by CLIP's `whitespace_clean` and its pre-tokenizer): the same set
//   without the four "information separators" U+001C..U+001F, 25 code points.
//
// The sets were read off Python 3.11 (`[c for c in range(0x110000) if chr(c).isspace()]`).

/** Body of a regex character class (for the `u` flag) matching what `regex`'s `\s` matches. */
export const REGEX_MODULE_SPACE_CLASS =
  '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Body of a regex character class matching Python's `str.isspace()` (and `re`'s `\s`). */
export const PY_SPACE_CLASS = REGEX_MODULE_SPACE_CLASS + '\\x1c-\\x1f';

function isPySpace(code: number): boolean {
  if (code <= 0x20) return code === 0x20 || (code >= 0x09 && code <= 0x0d) || (code >= 0x1c && code <= 0x1f);
  if (code < 0x85) return false;
  return code === 0x85 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000;
}

/** Python's `str.strip()` with no argument. (Every Python space is in the BMP, so code units do.) */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isPySpace(text.charCodeAt(start))) start++;
  while (end > start && isPySpace(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}
