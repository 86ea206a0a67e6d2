// ftfy's own conformance cases (../shared/data/ftfy-test-cases), asserted the way ftfy's test
// suite does: for "pass" cases fix_text, the encoding repair alone and one extra layer of
// UTF-8-read-as-Latin-1 damage must all give the stated answer; "fail" cases document where ftfy
// 6.3.1 is wrong, and a faithful port must be wrong there too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sharedDir } from '../helpers/fixtures.js';
import { fixEncoding, fixText } from '../../src/text/ftfy/index.js';

interface FtfyCase {
  label: string;
  original: string;
  fixed: string;
  'fixed-encoding'?: string;
  expect: 'pass' | 'fail';
}

const FILES = ['in-the-wild.json', 'synthetic.json', 'negative.json', 'language-names.json', 'known-failures.json'];

/** UTF-8 bytes of the text read back as Latin-1: one more layer of mojibake. */
function utf8AsLatin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

function loadCases(file: string): FtfyCase[] {
  const full = path.join(sharedDir(), 'data', 'ftfy-test-cases', file);
  const cases = JSON.parse(readFileSync(full, 'utf8')) as FtfyCase[];
  cases.forEach((c, i) => {
    for (const field of ['label', 'original', 'fixed', 'expect'] as const) {
      if (typeof c[field] !== 'string') throw new Error(`${full}: case ${i} has no string field "${field}"`);
    }
  });
  return cases;
}

let passCount = 0;
let failCount = 0;

for (const file of FILES) {
  describe(`ftfy conformance: ${file}`, () => {
    for (const c of loadCases(file)) {
      const fixedEncoding = c['fixed-encoding'] ?? c.fixed;
      if (c.expect === 'pass') {
        passCount++;
        it(c.label, () => {
          assert.equal(fixText(c.original), c.fixed, 'fix_text');
          assert.equal(fixEncoding(c.original), fixedEncoding, 'encoding repair alone');
          assert.equal(fixText(utf8AsLatin1(c.original)), c.fixed, 'with one more layer of mojibake');
        });
      } else {
        failCount++;
        it(`(known ftfy failure, reproduced) ${c.label}`, () => {
          const allRight = fixText(c.original) === c.fixed && fixEncoding(c.original) === fixedEncoding &&
            fixText(utf8AsLatin1(c.original)) === c.fixed;
          assert.equal(allRight, false, 'ftfy 6.3.1 gets this case wrong, so a faithful port must too');
        });
      }
    }
  });
}

describe('ftfy conformance: totals', () => {
  it('covers the 151 passing and 10 failing cases', () => {
    assert.equal(passCount, 151);
    assert.equal(failCount, 10);
  });
});
