// Lone UTF-16 surrogates become U+FFFD. (Properly paired surrogates are simply the astral character
// in a JavaScript string, which is what ftfy makes of them too.)
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function fixSurrogates(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}
