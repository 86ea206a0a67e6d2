// Python's html.unescape, and ftfy's more cautious unescaper. Expected values were produced by
// CPython 3.11's html.unescape and by ftfy 6.3.1's documented examples.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { htmlUnescape } from '../../src/text/html-unescape.js';
import { unescapeHtml } from '../../src/text/ftfy/index.js';

const PYTHON_CASES: readonly [string, string][] = [
  ['&copy', '\u00a9'],
  ['&copy;', '\u00a9'],
  ['&notit;', '\u00acit;'],
  ['&not;it', '\u00acit'],
  ['&#133;', '\u2026'],
  ['&#13;', '\r'],
  ['&#0;', '\ufffd'],
  ['&#xD800;', '\ufffd'],
  ['&#x110000;', '\ufffd'],
  ['&#99999999999999999999;', '\ufffd'],
  ['&#1;', ''],
  ['&#x7f;', ''],
  ['&#xFDD0;', ''],
  ['&#x1FFFF;', ''],
  ['&#x10FFFE;', ''],
  ['&#65', 'A'],
  ['&#x41', 'A'],
  ['&#X41;', 'A'],
  ['&amp;amp;', '&amp;'],
  ['AT&T', 'AT&T'],
  ['&;', '&;'],
  ['&#;', '&#;'],
  ['&#x;', '&#x;'],
  ['&AMP;', '&'],
  ['&Amp;', '&Amp;'],
  ['&ampx', '&x'],
  ['&NotEqualTilde;', '\u2242\u0338'],
  ['&nbsp&nbsp', '\u00a0\u00a0'],
  ['&lt;3', '<3'],
  ['&#129;', '\u0081'],
  ['&#x9d;', '\u009d'],
  ['&zz;', '&zz;'],
  ['&a', '&a'],
  ['&ab;', '&ab;'],
  ['&amp\u00e9', '&\u00e9'],
  ['&\u00e9copy;', '&\u00e9copy;'],
  ['&' + 'a'.repeat(40) + ';', '&' + 'a'.repeat(40) + ';'],
  ['&#9;', '\t'],
  ['&#11;', ''],
  ['&#12;', '\f'],
  ['x &gt y', 'x > y'],
  ['&#x1F600;', '\u{1F600}'],
  ['&#128512;', '\u{1F600}'],
  ['&frac12;', '\u00bd'],
  ['&frac12', '\u00bd'],
  ['&frac123;', '\u00bd3;'],
];

describe("Python's html.unescape", () => {
  for (const [input, want] of PYTHON_CASES) {
    it(JSON.stringify(input), () => assert.equal(htmlUnescape(input), want));
  }
  it('leaves text without & untouched (same object)', () => {
    const s = 'plain text';
    assert.equal(htmlUnescape(s), s);
  });
});

describe("ftfy's unescape_html", () => {
  const cases: readonly [string, string][] = [
    ['&lt;tag&gt;', '<tag>'],
    ['&Jscr;ohn &HilbertSpace;ancock', '\u{1D4A5}ohn \u210Bancock'],
    ['&checkmark;', '\u2713'],
    ['P&eacute;rez', 'P\u00e9rez'],
    ['P&EACUTE;REZ', 'P\u00c9REZ'],
    ['BUNDESSTRA&SZLIG;E', 'BUNDESSTRASSE'],
    ['&ntilde; &Ntilde; &NTILDE; &nTILDE;', '\u00f1 \u00d1 \u00d1 &nTILDE;'],
    // Only complete references with ';' are decoded: informal '&' stays.
    ['this&not that', 'this&not that'],
    ['&copy 2024', '&copy 2024'],
    ['&#39;', "'"],
    ['&#39', '&#39'],
    // A numeric reference html.unescape decodes only in part is left whole.
    ['&#x41;', 'A'],
    ['&AMP;', '&'], // AMP; is itself an HTML5 name
    ['&ZZZ;', '&ZZZ;'],
  ];
  for (const [input, want] of cases) {
    it(JSON.stringify(input), () => assert.equal(unescapeHtml(input), want));
  }
});
