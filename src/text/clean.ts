// CLIP's text cleaning, step by step as in OpenAI's simple_tokenizer.py:
//
//   basic_clean:      ftfy.fix_text, then html.unescape twice, then strip()
//   whitespace_clean: every run of whitespace -> one space, then strip()
//   and finally lower().
//
// "Whitespace" in the run-collapsing step is the `regex` module's `\s` and strip() is Python's
// str.strip(); neither is JavaScript's `\s` (see python-whitespace.ts).
import { fixText } from './ftfy/index.js';
import { htmlUnescape } from './html-unescape.js';
import { REGEX_MODULE_SPACE_CLASS, pyStrip } from './python-whitespace.js';

const SPACE_RUNS = new RegExp('[' + REGEX_MODULE_SPACE_CLASS + ']+', 'gu');

/** ftfy, HTML unescaping twice (so `&amp;amp;` becomes `&` even where ftfy left it), strip. */
export function basicClean(text: string): string {
  return pyStrip(htmlUnescape(htmlUnescape(fixText(text))));
}

/** Runs of whitespace become one space; then strip. */
export function whitespaceClean(text: string): string {
  return pyStrip(text.replace(SPACE_RUNS, ' '));
}

/** The exact string CLIP's pre-tokenizer sees (`whitespace_clean(basic_clean(text)).lower()`). */
export function cleanText(text: string): string {
  // Python's str.lower() and toLowerCase() both use the full Unicode mapping, final sigma included.
  return whitespaceClean(basicClean(text)).toLowerCase();
}
