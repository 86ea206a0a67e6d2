// `clip-ts tokenize`, run in-process through the dispatcher with stdout and stderr captured.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runCliCaptured, type CliResult } from '../helpers/capture-output.js';

function cli(...argv: string[]): Promise<CliResult> {
  return runCliCaptured(['tokenize', ...argv]);
}

describe('clip-ts tokenize', () => {
  it('prints one JSON array per text, with SOT and EOT and no padding', async () => {
    const r = await cli('a photo of a cat', 'a dog');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '[49406,320,1125,539,320,2368,49407]\n[49406,320,1929,49407]\n');
  });

  it('takes texts starting with "-" after --', async () => {
    const r = await cli('--', '-1 degrees', '--truncate');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as number[]);
    assert.equal(lines.length, 2);
    assert.equal(lines[0][1], 268); // "-"
  });

  it('fails on a text that is too long unless --truncate, naming it', async () => {
    const long = 'word '.repeat(100);
    const refused = await cli(long);
    assert.equal(refused.code, 1);
    assert.equal(refused.stdout, '');
    assert.match(refused.stderr, /clip-ts tokenize: Input 0 "word word/);
    const cut = await cli('--truncate', long);
    assert.equal(cut.code, 0);
    const ids = JSON.parse(cut.stdout) as number[];
    assert.equal(ids.length, 77);
    assert.equal(ids[76], 49407);
  });

  it('honours --context-length', async () => {
    const r = await cli('--context-length', '4', '--truncate', 'a photo of a cat');
    assert.equal(r.stdout, '[49406,320,1125,49407]\n');
    const bad = await cli('--context-length', '1', 'x');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--context-length must be at least 2/);
  });

  it('reads one text per line with --file (CRLF too), after the TEXT arguments', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clip-ts-tok-'));
    const file = path.join(dir, 'texts.txt');
    writeFileSync(file, 'a dog\r\n\r\na cat\n');
    const r = await cli('hello', '--file', file);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '[49406,3306,49407]\n[49406,320,1929,49407]\n[49406,49407]\n[49406,320,2368,49407]\n');
    const missing = await cli('--file', path.join(dir, 'nope.txt'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read --file .*nope\.txt/);
  });

  it('is a usage error without any text', async () => {
    const r = await cli();
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give at least one TEXT or --file/);
    assert.match(r.stderr, /usage: clip-ts tokenize/);
  });
});
