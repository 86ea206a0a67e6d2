// Curly quotation marks become straight ones: ʼ ‘ ’ ‚ ‛ -> ' and “ ” „ ‟ -> ".
const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTES = /[\u201c-\u201f]/g;

export function uncurlQuotes(text: string): string {
  return text.replace(DOUBLE_QUOTES, '"').replace(SINGLE_QUOTES, "'");
}
