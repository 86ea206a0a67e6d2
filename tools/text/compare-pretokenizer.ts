// Compares src/text/pretokenize.ts with the output of tools/text/pretokenizer_reference.py
// (Python's `regex` module, as used by OpenAI's tokenizer) on every assigned code point.
//
//   npx tsx tools/text/compare-pretokenizer.ts /tmp/pretokenizer-reference.jsonl
import { readFileSync } from 'node:fs';
import { pretokenize } from '../../src/text/pretokenize.js';

const CONTEXTS: ((c: string) => string)[] = [
  (c) => c, (c) => 'a' + c + 'a', (c) => "'" + c, (c) => '1' + c + '1', (c) => c + c, (c) => ' ' + c + ' ',
  (c) => '!' + c + '!', (c) => "'" + c + 'd',
];

const file = process.argv[2];
if (file === undefined) {
  process.stderr.write('usage: npx tsx tools/text/compare-pretokenizer.ts REFERENCE.jsonl\n');
  process.exit(2);
}
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
let mismatches = 0;
lines.forEach((line, i) => {
  const [cp, expected] = JSON.parse(line) as [number, string[][]];
  if (expected.length !== CONTEXTS.length) throw new Error(`${file}:${i + 1}: expected ${CONTEXTS.length} contexts`);
  const c = String.fromCodePoint(cp);
  const actual = CONTEXTS.map((ctx) => pretokenize(ctx(c)));
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    mismatches++;
    if (mismatches <= 20) process.stdout.write(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}: want ${JSON.stringify(expected)} got ${JSON.stringify(actual)}\n`);
  }
});
process.stdout.write(`${mismatches} mismatches in ${lines.length} code points\n`);
process.exitCode = mismatches === 0 ? 0 : 1;
