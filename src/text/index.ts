// CLIP's text pipeline: ftfy-compatible cleaning and the byte-level BPE tokenizer.
export {
  DEFAULT_CONTEXT_LENGTH,
  EOT,
  SOT,
  TextTooLongError,
  Tokenizer,
  VOCAB_SIZE,
  decode,
  defaultTokenizer,
  encode,
  tokenize,
  type TokenizeOptions,
  type TokenizedBatch,
  type TokenizerOptions,
} from './tokenizer.js';
export { basicClean, cleanText, whitespaceClean } from './clean.js';
export { htmlUnescape } from './html-unescape.js';
export { pretokenize } from './pretokenize.js';
export { fixText, fixEncoding } from './ftfy/index.js';
export { loadVocabulary, parseVocabulary, type Vocabulary } from './vocabulary.js';
