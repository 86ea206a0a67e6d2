#!/usr/bin/env node
// The clip-ts command line: runs the compiled CLI (npm ci compiles src/ into dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('clip-ts: dist/ is missing; run `npm run build` in the package folder first\n');
  process.exit(1);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
