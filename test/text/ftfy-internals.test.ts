// The building blocks of the ftfy port: codecs, UTF-8 variants, byte repairs, the UTF-8 clue sets,
// the individual fixers and fix_text's line-by-line rules.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHARMAP_ENCODINGS, canEncode, decodeBinary, encodeToBinary, getCodec } from '../../src/text/ftfy/codecs.js';
import { decodeUtf8Variants } from '../../src/text/ftfy/utf8-variants.js';
import { replaceLossySequences, restoreByteA0 } from '../../src/text/ftfy/byte-repairs.js';
import {
  UTF8_CONTINUATION_EXTRA, UTF8_CONTINUATION_STRICT_EXTRA, UTF8_FIRST_OF_2, UTF8_FIRST_OF_3, UTF8_FIRST_OF_4,
} from '../../src/text/ftfy/utf8-clues.js';
import { fixC1Controls } from '../../src/text/ftfy/c1-controls.js';
import { fixLatinLigatures } from '../../src/text/ftfy/ligatures.js';
import { fixCharacterWidth } from '../../src/text/ftfy/character-width.js';
import { uncurlQuotes } from '../../src/text/ftfy/quotes.js';
import { fixLineBreaks } from '../../src/text/ftfy/line-breaks.js';
import { fixSurrogates } from '../../src/text/ftfy/surrogates.js';
import { removeTerminalEscapes } from '../../src/text/ftfy/terminal-escapes.js';
import { removeControlChars } from '../../src/text/ftfy/control-chars.js';
import { badness, fixEncoding, fixText, isBad } from '../../src/text/ftfy/index.js';

const bin = (...bytes: number[]): string => String.fromCharCode(...bytes);

describe('single-byte codecs', () => {
  it('every codec ftfy tries decodes all 256 bytes, one to one', () => {
    for (const name of CHARMAP_ENCODINGS) {
      const codec = getCodec(name);
      assert.equal(codec.encodeMap.size, 256, name);
      for (let b = 0; b < 256; b++) assert.equal(codec.encodeMap.get(codec.decodeTable[b]), b, `${name} byte ${b}`);
    }
  });
  it('sloppy codecs fill undefined bytes from Latin-1 and use 0x1A for U+FFFD', () => {
    const sloppy = getCodec('sloppy-windows-1252');
    assert.equal(sloppy.decodeTable[0x81], 0x81);
    assert.equal(sloppy.decodeTable[0x80], 0x20ac);
    assert.equal(sloppy.decodeTable[0x1a], 0xfffd);
    assert.equal(canEncode('\ufffd', sloppy), true);
    assert.equal(canEncode('\x1a', sloppy), false);
    assert.equal(canEncode('\x1a', getCodec('latin-1')), true);
    assert.equal(encodeToBinary('\u20ac\ufffd', sloppy), bin(0x80, 0x1a));
  });
  it('strict Windows-1252 refuses its undefined bytes', () => {
    assert.equal(decodeBinary(bin(0x41, 0x81), getCodec('windows-1252')), null);
    assert.equal(decodeBinary(bin(0x93, 0x94), getCodec('windows-1252')), '\u201c\u201d');
  });
  it('astral characters and surrogates are never encodable', () => {
    assert.equal(canEncode('\u{1F600}', getCodec('latin-1')), false);
  });
});

describe('utf-8-variants decoding', () => {
  it('decodes well-formed UTF-8', () => {
    assert.equal(decodeUtf8Variants(bin(0x63, 0x61, 0x66, 0xc3, 0xa9)), 'caf\u00e9');
    assert.equal(decodeUtf8Variants(bin(0xf0, 0x9f, 0x98, 0x80)), '\u{1F600}');
  });
  it('decodes CESU-8 surrogate pairs and the Java NUL', () => {
    assert.equal(decodeUtf8Variants(bin(0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80)), '\u{1F600}');
    assert.equal(decodeUtf8Variants(bin(0x61, 0xc0, 0x80, 0x62)), 'a\u0000b');
  });
  it('refuses what Python refuses', () => {
    for (const bad of [[0x80], [0xc3], [0xc0, 0x41], [0xc1, 0x81], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xed, 0xa0, 0xbd, 0xed, 0xb8]]) {
      assert.equal(decodeUtf8Variants(bin(...bad)), null, JSON.stringify(bad));
    }
  });
});

describe('byte repairs', () => {
  it('restore_byte_a0 puts 0xA0 back inside UTF-8 sequences', () => {
    // "voilÃ  le" in Latin-1 bytes: C3 followed by a space.
    assert.equal(restoreByteA0(bin(0x76, 0xc3, 0x20, 0x6c)), bin(0x76, 0xc3, 0xa0, 0x20, 0x6c));
    // Portuguese "Ã s" keeps its single space: no byte is restored.
    assert.equal(restoreByteA0(bin(0xc3, 0x20, 0x73, 0x20)), bin(0xc3, 0xa0, 0x73, 0x20));
  });
  it('replace_lossy_sequences turns damaged sequences into U+FFFD', () => {
    assert.equal(replaceLossySequences(bin(0xe2, 0x80, 0x1a)), bin(0xef, 0xbf, 0xbd));
    assert.equal(replaceLossySequences(bin(0x41, 0x1a)), bin(0x41, 0xef, 0xbf, 0xbd));
  });
});

describe('UTF-8 clue sets (sizes of ftfy 6.3.1 lists)', () => {
  it('has 124 / 66 / 9 lead characters and 94 / 83 continuation extras', () => {
    assert.equal(UTF8_FIRST_OF_2.size, 124);
    assert.equal(UTF8_FIRST_OF_3.size, 66);
    assert.equal(UTF8_FIRST_OF_4.size, 9);
    assert.equal(UTF8_CONTINUATION_EXTRA.size, 94);
    assert.equal(UTF8_CONTINUATION_STRICT_EXTRA.size, 83);
  });
});

describe('individual fixers', () => {
  it('fix_c1_controls reads C1 controls as Windows-1252, keeping undefined ones', () => {
    assert.equal(fixC1Controls('\x80\x81\x9f'), '\u20ac\x81\u0178');
  });
  it('fix_latin_ligatures', () => {
    assert.equal(fixLatinLigatures('\ufb02u\ufb03e\ufb06'), 'fluffiest');
    assert.equal(fixLatinLigatures('\u0149 \u01c6'), '\u02bcn d\u017e');
  });
  it('fix_character_width', () => {
    assert.equal(fixCharacterWidth('\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33'), 'LOUD NOISES');
    assert.equal(fixCharacterWidth('\uff35\uff80\uff70\uff9d'), 'U\u30bf\u30fc\u30f3');
  });
  it('uncurl_quotes', () => {
    assert.equal(uncurlQuotes('\u201chere\u2019s a test\u201d \u02bc\u201b\u201f'), '"here\'s a test" \'\'"');
  });
  it('fix_line_breaks', () => {
    assert.equal(fixLineBreaks('a\r\nb\rc\u2028d\u2029e\u0085f'), 'a\nb\nc\nd\ne\nf');
  });
  it('fix_surrogates replaces only unpaired surrogates', () => {
    assert.equal(fixSurrogates('\ud83d\ude00 \ud83d x\ude00'), '\u{1F600} \ufffd x\ufffd');
  });
  it('remove_terminal_escapes', () => {
    assert.equal(removeTerminalEscapes("\x1b[36;44mI'm blue\x1b[0m"), "I'm blue");
  });
  it('remove_control_chars keeps tab, LF, FF, CR and C1', () => {
    assert.equal(removeControlChars('\x00a\x07\tb\n\x0b\x0c\r\x7f\u206a\ufeff\ufffc\x85'), 'a\tb\n\x0c\r\x85');
  });
  it('badness flags mojibake and leaves normal text alone', () => {
    assert.equal(isBad('don\u00e2\u20ac\u2122t'), true);
    assert.equal(isBad('Charlotte Bront\u00eb\u2026\u201d'), false);
    assert.equal(badness('plain text'), 0);
  });
  it('fix_encoding repairs double mojibake', () => {
    assert.equal(fixEncoding('\u00c3\u00a2\u00e2\u201a\u00ac\u00c5\u201c'), '\u201c');
  });
});

describe('fix_text line rules', () => {
  it('works line by line: HTML is unescaped until a line contains "<", then never again', () => {
    assert.equal(fixText('&amp;\n<b>&amp;</b>\n&amp;'), '&\n<b>&amp;</b>\n&amp;');
    assert.equal(fixText('&amp;amp;amp;'), '&');
  });
  it('turns all line breaks into \\n but keeps them', () => {
    assert.equal(fixText('a\r\nb\u2028c'), 'a\nb\nc');
  });
  it('applies NFC', () => {
    assert.equal(fixText('cafe\u0301'), 'caf\u00e9');
  });
  it('returns ASCII text as is', () => {
    const s = 'A photo of a cat, 2 dogs; (tab)\there.';
    assert.equal(fixText(s), s);
  });
});
