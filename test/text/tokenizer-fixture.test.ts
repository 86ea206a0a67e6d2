// Every string of ../shared/fixtures/tokenizer.jsonl must give OpenAI's ids exactly: the cleaned
// text, the BPE ids (`encode`) and `clip.tokenize(text, truncate=True)`.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fixturesDir, sharedDir } from '../helpers/fixtures.js';
import { EOT, SOT, TextTooLongError, Tokenizer, defaultTokenizer } from '../../src/text/index.js';
import { assetPath } from '../../src/paths.js';

interface FixtureRow {
  id: number;
  category: string;
  text: string;
  tokens: number[];
  encode: number[];
  cleaned: string;
  truncated: boolean;
}

function readRows(): FixtureRow[] {
  const file = path.join(fixturesDir(), 'tokenizer.jsonl');
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((line, i) => {
    try {
      return JSON.parse(line) as FixtureRow;
    } catch (err) {
      throw new Error(`${file}:${i + 1}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

const rows = readRows();

/** At most a few failures, described so that the first one can be reproduced by id. */
function describeMismatches(bad: string[]): string {
  return `${bad.length} of ${rows.length} strings differ:\n` + bad.slice(0, 8).join('\n');
}

describe('tokenizer fixture (OpenAI reference ids)', () => {
  const tok = defaultTokenizer();

  it('has the 1,006 strings the README announces', () => {
    assert.equal(rows.length, 1006);
  });

  it('ships the reference vocabulary byte for byte', () => {
    const meta = JSON.parse(readFileSync(path.join(fixturesDir(), 'tokenizer.meta.json'), 'utf8')) as { vocab_sha256: string };
    const shipped = createHash('sha256').update(new Uint8Array(readFileSync(assetPath('bpe_simple_vocab_16e6.txt.gz')))).digest('hex');
    assert.equal(shipped, meta.vocab_sha256);
    const shared = createHash('sha256').update(new Uint8Array(readFileSync(path.join(sharedDir(), 'data', 'bpe_simple_vocab_16e6.txt.gz')))).digest('hex');
    assert.equal(shared, meta.vocab_sha256);
  });

  it('cleans every string exactly like ftfy + html.unescape + whitespace_clean + lower', () => {
    const bad = rows.filter((r) => tok.clean(r.text) !== r.cleaned)
      .map((r) => `  id ${r.id} (${r.category}): got ${JSON.stringify(tok.clean(r.text))}, want ${JSON.stringify(r.cleaned)}`);
    assert.equal(bad.length, 0, describeMismatches(bad));
  });

  it('encodes every string to the same BPE ids', () => {
    const bad = rows.filter((r) => JSON.stringify(tok.encode(r.text)) !== JSON.stringify(r.encode))
      .map((r) => `  id ${r.id} (${r.category}): got ${JSON.stringify(tok.encode(r.text))}, want ${JSON.stringify(r.encode)}`);
    assert.equal(bad.length, 0, describeMismatches(bad));
  });

  it('tokenizes all strings in one batch like clip.tokenize(texts, truncate=True)', () => {
    const batch = tok.tokenize(rows.map((r) => r.text), { truncate: true });
    assert.deepEqual(batch.shape, [rows.length, 77]);
    assert.equal(batch.ids.length, rows.length * 77);
    const bad: string[] = [];
    rows.forEach((r, i) => {
      const row = Array.from(batch.ids.subarray(i * 77, (i + 1) * 77));
      const want = [...r.tokens, ...new Array<number>(77 - r.tokens.length).fill(0)];
      if (JSON.stringify(row) !== JSON.stringify(want)) bad.push(`  id ${r.id}: got ${JSON.stringify(row)}`);
      if (batch.lengths[i] !== r.tokens.length) bad.push(`  id ${r.id}: length ${batch.lengths[i]}, want ${r.tokens.length}`);
      if (batch.truncated[i] !== r.truncated) bad.push(`  id ${r.id}: truncated ${batch.truncated[i]}, want ${r.truncated}`);
      if (batch.eotIndex[i] !== r.tokens.indexOf(EOT)) bad.push(`  id ${r.id}: eotIndex ${batch.eotIndex[i]}`);
    });
    assert.equal(bad.length, 0, describeMismatches(bad));
  });

  it('refuses, without truncate, exactly the 48 strings that need truncating, naming them', () => {
    const refused: number[] = [];
    for (const r of rows) {
      try {
        tok.tokenize(r.text);
      } catch (err) {
        assert.ok(err instanceof TextTooLongError, `id ${r.id}: ${String(err)}`);
        assert.ok(err.message.includes(JSON.stringify(Array.from(r.text).slice(0, 50).join('')).slice(0, -1)), err.message);
        assert.equal(err.tokenCount, r.encode.length + 2);
        refused.push(r.id);
      }
    }
    assert.deepEqual(refused, rows.filter((r) => r.truncated).map((r) => r.id));
    assert.equal(refused.length, 48);
  });

  it('gives the same ids with the BPE cache switched off', () => {
    const uncached = new Tokenizer({ vocabulary: tok.vocabulary, cacheSize: 0 });
    const bad = rows.filter((r) => JSON.stringify(uncached.encode(r.text)) !== JSON.stringify(r.encode)).map((r) => `  id ${r.id}`);
    assert.equal(bad.length, 0, describeMismatches(bad));
  });

  it('starts every row with SOT', () => {
    for (const r of rows) assert.equal(r.tokens[0], SOT);
  });
});
