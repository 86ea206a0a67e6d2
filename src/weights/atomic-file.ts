// Atomic file output: write a temporary file in the destination's folder, flush it to disk, then
// rename it over the destination. Readers see the old file or the complete new one, never a
// partial write, and a crash leaves at most a stray `.tmp` file (rename is atomic only within one
// file system, hence the same folder).
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/** A temporary path beside `target` (same folder, hidden, unique). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Creates `target` atomically; `write` receives an open file descriptor and writes the content. */
export function writeFileAtomic(target: string, write: (fd: number) => void): void {
  const tmp = tempPathFor(target);
  const fd = openSync(tmp, 'wx', 0o644);
  let ok = false;
  try {
    write(fd);
    fsyncSync(fd);
    ok = true;
  } finally {
    closeSync(fd);
    if (!ok) {
      try { unlinkSync(tmp); } catch { /* already gone */ }
    }
  }
  try {
    renameSync(tmp, target);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
}

/** Writes all of `bytes` at the descriptor's current position. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/** Atomically replaces `target` with `text` (UTF-8). */
export function writeTextAtomic(target: string, text: string): void {
  writeFileAtomic(target, (fd) => writeAll(fd, new TextEncoder().encode(text)));
}
