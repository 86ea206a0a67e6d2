// Locates test/image/ in the source tree, both from test/image (tsx) and from dist/test/image
// (compiled), since tsc does not copy the golden files into dist/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { decodeImage, ImageDecodeError, preprocessFile } from '../../src/image/index.js';
import { packageRoot } from '../../src/paths.js';

export function imageTestDataDir(): string {
  const dir = path.join(packageRoot(), 'test', 'image');
  if (!existsSync(path.join(dir, 'golden', 'pil-golden.json'))) throw new Error(`image test data not found in ${dir}`);
  return dir;
}

/**
 * Both decodeImage and preprocessFile reject `file` with an ImageDecodeError of `kind` whose
 * message starts with the file's name.
 */
export async function assertDecodeError(file: string, kind: string, opts: { sync?: boolean } = {}): Promise<void> {
  for (const attempt of [() => decodeImage(file, opts), () => preprocessFile(file, 224, opts)]) {
    await assert.rejects(attempt, (err: unknown) => {
      assert.ok(err instanceof ImageDecodeError, `expected ImageDecodeError, got ${String(err)}`);
      assert.equal(err.kind, kind, err.message);
      assert.equal(err.file, file);
      assert.ok(err.message.startsWith(`${file}: `), err.message);
      return true;
    });
  }
}
