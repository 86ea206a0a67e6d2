// The HTML5 named character references as a lookup table (Python's `html.entities.html5`).
import { HTML5_ENTITY_LIST } from './html5-entities.generated.js';

/** Name without the leading '&' (e.g. "amp;", "amp", "NotEqualTilde;") -> replacement text. */
export const HTML5_ENTITIES: ReadonlyMap<string, string> = new Map(HTML5_ENTITY_LIST);

/** Length of the longest name, so prefix searches can start there instead of at the text's end. */
export const LONGEST_ENTITY_NAME = HTML5_ENTITY_LIST.reduce((m, [name]) => Math.max(m, name.length), 0);
