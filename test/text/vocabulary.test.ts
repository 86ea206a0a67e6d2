// The vocabulary built from the merge file, and its error messages for bad files.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { defaultTokenizer, loadVocabulary, parseVocabulary } from '../../src/text/index.js';
import { BYTE_CHARS } from '../../src/text/byte-encoder.js';
import { pretokenize } from '../../src/text/pretokenize.js';

describe('vocabulary', () => {
  const v = defaultTokenizer().vocabulary;

  it('has 49,408 entries in OpenAI order', () => {
    assert.equal(v.tokens.length, 49_408);
    assert.equal(v.tokens[0], '!');
    assert.equal(v.tokens[187], '\u00ff');
    assert.equal(v.tokens[188], '\u0100');
    assert.equal(v.tokens[255], '\u0143');
    assert.equal(v.tokens[320], 'a</w>');
    assert.equal(v.tokens[512], 'in');
    assert.equal(v.tokens[49406], '<|startoftext|>');
    assert.equal(v.tokens[49407], '<|endoftext|>');
    assert.equal(v.ids.get('a</w>'), 320);
    assert.equal(v.mergeRanks.size, 48_894);
  });

  it('maps the 68 non-printable bytes to U+0100..U+0143 in order', () => {
    assert.equal(BYTE_CHARS[0x00], '\u0100');
    assert.equal(BYTE_CHARS[0x20], '\u0120');
    assert.equal(BYTE_CHARS[0x7f], '\u0121');
    assert.equal(BYTE_CHARS[0xad], '\u0143');
    assert.equal(BYTE_CHARS[0x41], 'A');
  });

  it('names the file and line of a malformed merge', () => {
    const lines = ['#version: 0.2', ...new Array<string>(48_894).fill('i n')];
    lines[1] = 'i n';
    lines[2] = 'in';
    assert.throws(() => parseVocabulary(lines.join('\n'), 'vocab.txt'), /^Error: vocab\.txt:3: expected a merge of two symbols/);
    assert.throws(() => parseVocabulary('#version\ni n\n', 'short.txt'), /short\.txt: expected a header line and at least 48894 merges/);
    lines[2] = 'q zz';
    assert.throws(() => parseVocabulary(lines.join('\n'), 'v'), /v:3: merge "q zz" uses a symbol no earlier line defines/);
  });

  it('reports an unreadable or non-gzip file by name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-vocab-'));
    const file = path.join(dir, 'bad.gz');
    writeFileSync(file, 'not gzip');
    assert.throws(() => loadVocabulary(file), new RegExp(`cannot read the BPE vocabulary ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.throws(() => loadVocabulary(path.join(dir, 'missing.gz')), /missing\.gz/);
    writeFileSync(file, new Uint8Array(gzipSync(new TextEncoder().encode('#v\n'))));
    assert.throws(() => loadVocabulary(file), /bad\.gz: expected a header line/);
  });
});

describe('pre-tokenizer', () => {
  it('splits like OpenAI: contractions, letter runs, single digits, other runs', () => {
    assert.deepEqual(pretokenize("don't stop 2024!! ca\u0301fe"), ['don', "'t", 'stop', '2', '0', '2', '4', '!!', 'ca', '\u0301', 'fe']);
    assert.deepEqual(pretokenize('a<|endoftext|>b'), ['a', '<|endoftext|>', 'b']);
    assert.deepEqual(pretokenize('\u00bd\u00b2\u2167'), ['\u00bd', '\u00b2', '\u2167']);
    // U+FEFF is not whitespace for the `regex` module, unlike JavaScript's \s.
    assert.deepEqual(pretokenize('a\ufeffb'), ['a', '\ufeff', 'b']);
  });

  it('matches the `regex` module under IGNORECASE: "\'ſ" is a contraction, U+0345 is in no piece', () => {
    assert.deepEqual(pretokenize("it'\u017f"), ['it', "'\u017f"]);
    assert.deepEqual(pretokenize('<|\u017ftartoftext|>'), ['<|\u017ftartoftext|>']);
    assert.deepEqual(pretokenize('\u0345'), []);
    assert.deepEqual(pretokenize('a\u0345a !\u0345!'), ['a', 'a', '!', '!']);
  });
});
