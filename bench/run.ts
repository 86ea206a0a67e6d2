// `npm run bench`: runs each benchmark module in its own process, one after another.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// Order matters only for reading the output; every module is independent.
const MODULES = ['kernels', 'blocks', 'conv', 'tokenizer', 'preprocess', 'weights', 'model', 'probe', 'train', 'index', 'server'];
const only = process.argv.slice(2);

let failed = 0;
for (const name of MODULES) {
  if (only.length > 0 && !only.includes(name)) continue;
  const file = path.join(here, `${name}.js`);
  if (!existsSync(file)) continue;
  process.stdout.write(`\n## bench/${name}\n\n`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`bench/${name} failed with exit code ${r.status}\n`);
  }
}
process.exitCode = failed === 0 ? 0 : 1;
