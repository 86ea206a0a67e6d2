// Locations inside the installed package, found from this file so they work from `src/` (tsx),
// from `dist/src/` (compiled) and from node_modules.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding clip-ts's package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'binding.gyp'))) break;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('clip-ts: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  root = dir;
  return dir;
}

/** A file shipped in the package's assets/ folder (vocabulary, templates, default model). */
export function assetPath(...parts: string[]): string {
  return path.join(packageRoot(), 'assets', ...parts);
}
