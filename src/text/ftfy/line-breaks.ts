// All line-break conventions become '\n': CRLF, CR, LINE SEPARATOR, PARAGRAPH SEPARATOR and NEXT LINE.
export function fixLineBreaks(text: string): string {
  return text.replace(/\r\n?|[\u2028\u2029\u0085]/g, '\n');
}
