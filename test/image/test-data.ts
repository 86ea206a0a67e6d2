// Locates test/image/ in the source tree, both from test/image (tsx) and from dist/test/image
// (compiled), since tsc does not copy the golden files into dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/paths.js';

export function imageTestDataDir(): string {
  const dir = path.join(packageRoot(), 'test', 'image');
  if (!existsSync(path.join(dir, 'golden', 'pil-golden.json'))) throw new Error(`image test data not found in ${dir}`);
  return dir;
}
