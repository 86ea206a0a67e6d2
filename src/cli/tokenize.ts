// `clip-ts tokenize`: prints the CLIP token ids of texts, one JSON array per line.
import { readFileSync } from 'node:fs';
import { UsageError, numberOption, parseArgs } from './args.js';
import { DEFAULT_CONTEXT_LENGTH, defaultTokenizer } from '../text/index.js';

export const usage = `usage: clip-ts tokenize [--context-length N] [--truncate] [--file F] [--] TEXT...

Prints, for each text, one line holding a JSON array of CLIP token ids: the start id 49406, the
byte-level BPE ids of the cleaned text, the end id 49407, no padding. Identical to OpenAI's
clip.tokenize.

options:
  --context-length N  most ids per text, start and end included (default ${DEFAULT_CONTEXT_LENGTH})
  --truncate          cut a longer text to N ids, the last one the end id (default: fail)
  --file F            also read texts from file F, one per line ("-" reads standard input);
                      they come after the TEXT arguments
  --                  ends the options: later arguments are texts even if they start with "-"

example:
  clip-ts tokenize "a photo of a cat" -- "-1 degrees"`;

/** The lines of a text file: '\\n' or '\\r\\n' separated, without the empty line after a final newline. */
function readLines(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read --file ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    'context-length': { type: 'string' },
    truncate: { type: 'flag' },
    file: { type: 'list' },
  });
  const contextLength = numberOption(args, 'context-length', DEFAULT_CONTEXT_LENGTH, { min: 2, integer: true });
  const texts = [...args.positionals];
  for (const file of args.lists.get('file') ?? []) texts.push(...readLines(file));
  if (texts.length === 0) throw new UsageError('give at least one TEXT or --file');

  const tokenizer = defaultTokenizer();
  // Everything is tokenized before anything is printed, so a text that is too long fails the
  // command without leaving partial output behind.
  const batch = tokenizer.tokenize(texts, { contextLength, truncate: args.flags.has('truncate') });
  const lines: string[] = [];
  for (let r = 0; r < texts.length; r++) {
    const start = r * contextLength;
    lines.push(JSON.stringify(Array.from(batch.ids.subarray(start, start + batch.lengths[r]))));
  }
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
