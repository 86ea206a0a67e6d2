// ANSI terminal escapes (ESC '[' digits/semicolons letter), as in colour codes, are removed.
// Python's `\d` is any decimal digit (Nd), not only 0-9.
const ANSI_RE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;

export function removeTerminalEscapes(text: string): string {
  return text.includes('\x1b') ? text.replace(ANSI_RE, '') : text;
}
