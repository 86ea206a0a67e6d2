// ftfy's own HTML unescaping, more cautious than Python's `html.unescape`: only complete references
// that end in ';' are decoded (so "this&not that" stays), plus all-caps spellings of the entities
// whose name is lower case, such as "&EACUTE;" -> "É", when that spelling means nothing else.
import { HTML5_ENTITY_LIST } from '../html5-entities.generated.js';
import { htmlUnescape } from '../html-unescape.js';

const ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g;

let entities: Map<string, string> | undefined;

function entityTable(): Map<string, string> {
  if (entities !== undefined) return entities;
  const table = new Map<string, string>();
  for (const [name, value] of HTML5_ENTITY_LIST) {
    if (!name.endsWith(';')) continue;
    table.set('&' + name, value);
    if (name === name.toLowerCase()) {
      const upper = '&' + name.toUpperCase();
      if (htmlUnescape(upper) === upper) table.set(upper, value.toUpperCase());
    }
  }
  entities = table;
  return table;
}

function unescapeOne(ref: string): string {
  const named = entityTable().get(ref);
  if (named !== undefined) return named;
  if (ref.startsWith('&#')) {
    const decoded = htmlUnescape(ref);
    // A numeric reference must be consumed whole, semicolon included.
    return decoded.includes(';') ? ref : decoded;
  }
  return ref;
}

export function unescapeHtml(text: string): string {
  return text.includes('&') ? text.replace(ENTITY_RE, unescapeOne) : text;
}
