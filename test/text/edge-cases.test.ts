// Inputs at the edges: nothing, only whitespace, only emoji, very long texts, lone surrogates, NUL
// bytes; plus the options and errors of tokenize/decode. The behaviour asserted here is the one
// documented in docs/proposed/tokenizer-README.md.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EOT, SOT, TextTooLongError, Tokenizer, VOCAB_SIZE, decode, defaultTokenizer, encode, tokenize } from '../../src/text/index.js';

const tok = defaultTokenizer();
const row = (text: string, contextLength = 77): number[] => {
  const b = tok.tokenize(text, { contextLength, truncate: true });
  return Array.from(b.ids.subarray(0, b.lengths[0]));
};

describe('edge cases', () => {
  it('empty string: just SOT and EOT, padded with zeros', () => {
    const b = tokenize('');
    assert.deepEqual(Array.from(b.ids.subarray(0, 3)), [SOT, EOT, 0]);
    assert.equal(b.lengths[0], 2);
    assert.deepEqual(encode(''), []);
  });

  it('only whitespace (including Python-only spaces): same as empty', () => {
    for (const ws of [' ', '   \t\n\r ', '\u00a0\u3000\u2028\u2029\u000b\u001c\u001f', '\ufeff']) {
      assert.deepEqual(row(ws), [SOT, EOT], JSON.stringify(ws));
    }
    // U+0085 (NEXT LINE) is whitespace to Python, but ftfy reads a C1 control as Windows-1252 first.
    assert.equal(tok.clean(' \u0085 '), '\u2026');
  });

  it('only emoji: byte-level BPE ids, decodable back', () => {
    const ids = encode('\u{1F680}\u{1F525}\u{1F9EC}');
    assert.ok(ids.length > 0);
    assert.equal(decode(ids), '\u{1F680}\u{1F525}\u{1F9EC} ');
  });

  it('10,000-character inputs: truncated to 77 with truncate, refused without', () => {
    const long = 'a photo of a cat '.repeat(600).slice(0, 10_000);
    const ids = row(long);
    assert.equal(ids.length, 77);
    assert.equal(ids[0], SOT);
    assert.equal(ids[76], EOT);
    assert.throws(() => tokenize(long), (err: unknown) => err instanceof TextTooLongError && err.index === 0 && /too long for context length 77/.test(err.message));
    // 588 whole repetitions of 5 ids, then "a ph" (2 ids).
    assert.equal(encode(long).length, 588 * 5 + 2);
  });

  it('10,000-character single words (letters, digits, CJK, emoji) finish and round-trip', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const letters = Array.from({ length: 10_000 }, () => String.fromCharCode(97 + Math.floor(rnd() * 26))).join('');
    const cjk = Array.from({ length: 10_000 }, () => String.fromCodePoint(0x4e00 + Math.floor(rnd() * 2000))).join('');
    for (const text of [letters, cjk, '\u{1F600}'.repeat(5_000)]) {
      const ids = encode(text);
      assert.equal(decode(ids), text + ' ');
    }
    // Every digit is its own piece.
    assert.equal(encode('7'.repeat(10_000)).length, 10_000);
  });

  it('lone surrogates become U+FFFD (ftfy) instead of failing', () => {
    assert.deepEqual(encode('\ud800'), encode('\ufffd'));
    assert.deepEqual(encode('a\udc00b'), encode('a\ufffdb'));
    assert.deepEqual(encode('\ud83d\ude00'), encode('\u{1F600}'));
  });

  it('NUL and other control bytes are removed (ftfy), not tokenized', () => {
    assert.deepEqual(encode('a\u0000b'), encode('ab'));
    assert.deepEqual(row('\u0000\u0001\u0002'), [SOT, EOT]);
    assert.deepEqual(encode('a\u000bb'), encode('ab'));
  });

  it('special strings inside a text are single ids; eotIndex is the first EOT', () => {
    const b = tokenize('a <|endoftext|> b');
    assert.deepEqual(Array.from(b.ids.subarray(0, 5)), [SOT, 320, EOT, 321, EOT]);
    assert.equal(b.eotIndex[0], 2);
    assert.deepEqual(encode('<|STARTOFTEXT|>'), [SOT]);
  });

  it('a look-alike of a special string is one piece but ordinary BPE ids', () => {
    const ids = encode('<|\u017ftartoftext|>');
    assert.ok(!ids.includes(SOT) && ids.length > 1);
  });

  it('tokens(): one text with SOT/EOT, no padding', () => {
    assert.deepEqual(tok.tokens('a dog'), [SOT, 320, 1929, EOT]);
    assert.deepEqual(tok.tokens('a photo of a cat', { contextLength: 3, truncate: true }), [SOT, 320, EOT]);
    assert.throws(() => tok.tokens('a photo of a cat', { contextLength: 3 }), TextTooLongError);
  });

  it('IGNORECASE contractions: ASCII apostrophe only', () => {
    assert.deepEqual(encode("don't"), [847, 713]);
    assert.deepEqual(encode('don\u2019t'), [847, 713]);
  });
});

describe('tokenize options and errors', () => {
  it('a batch is one row-major Int32Array', () => {
    const b = tokenize(['a dog', 'a cat'], { contextLength: 6 });
    assert.ok(b.ids instanceof Int32Array);
    assert.deepEqual(b.shape, [2, 6]);
    assert.deepEqual(Array.from(b.ids), [SOT, 320, 1929, EOT, 0, 0, SOT, 320, 2368, EOT, 0, 0]);
    assert.deepEqual(b.truncated, [false, false]);
  });

  it('truncation keeps the first ids and forces the last to EOT', () => {
    assert.deepEqual(row('a photo of a cat', 4), [SOT, 320, 1125, EOT]);
    assert.deepEqual(row('a photo of a cat', 2), [SOT, EOT]);
  });

  it('a text that exactly fills the context is not truncated', () => {
    const text = 'a '.repeat(75);
    const b = tokenize(text);
    assert.equal(b.lengths[0], 77);
    assert.equal(b.truncated[0], false);
  });

  it('the error names the text and its position in the batch', () => {
    const long = 'word '.repeat(100);
    assert.throws(() => tokenize(['ok', long]), (err: unknown) => {
      assert.ok(err instanceof TextTooLongError);
      assert.equal(err.index, 1);
      assert.equal(err.tokenCount, 102);
      assert.match(err.message, /^Input 1 "word word/);
      return true;
    });
  });

  it('rejects a bad context length and non-string texts', () => {
    assert.throws(() => tokenize('a', { contextLength: 0 }), RangeError);
    assert.throws(() => tokenize('a', { contextLength: 2.5 }), RangeError);
    assert.throws(() => tokenize([42 as unknown as string]), /text 0 is number/);
  });

  it('decode: "</w>" becomes a space, bad ids are named', () => {
    assert.equal(decode(encode('A photo of a cat.')), 'a photo of a cat . ');
    assert.equal(decode([SOT, 320, EOT]), '<|startoftext|>a <|endoftext|>');
    assert.throws(() => decode([320, VOCAB_SIZE]), /id 49408 at position 1/);
    assert.throws(() => decode([1.5]), /position 0/);
  });

  it('decode replaces invalid UTF-8 (a lone byte token) with U+FFFD', () => {
    // Id 94 is the byte 0xA1 on its own: not valid UTF-8.
    assert.equal(decode([94]), '\ufffd');
  });

  it('the BPE cache does not change results and can be cleared', () => {
    const t = new Tokenizer({ vocabulary: tok.vocabulary, cacheSize: 2 });
    const texts = ['alpha beta gamma delta', 'épsilon zêta', 'alpha beta gamma delta'];
    for (const text of texts) assert.deepEqual(t.encode(text), encode(text));
    t.clearCache();
    assert.deepEqual(t.encode(texts[0]), encode(texts[0]));
  });
});
