// Random access to a checkpoint file through one file descriptor.
//
// Tensors are read on demand at their offsets (`fs.readSync` with a position), so opening a
// ViT-L/14 archive costs a few kilobytes and reading a tensor costs that tensor's bytes: the file is
// never held in memory as a whole, and never twice.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CheckpointError } from './errors.js';

export class FileSource {
  readonly path: string;
  readonly size: number;
  private fd: number | undefined;

  constructor(path: string) {
    this.path = path;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new CheckpointError(path, `cannot open: ${(err as Error).message}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new CheckpointError(path, 'not a regular file');
      this.size = st.size;
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    this.fd = fd;
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Fills `dst` with the bytes at [offset, offset + dst.length); `what` names them in errors. */
  readInto(offset: number, dst: Uint8Array, what: string): void {
    const fd = this.fd;
    if (fd === undefined) throw new CheckpointError(this.path, `${what}: the checkpoint was closed`);
    const end = offset + dst.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || end > this.size) {
      throw new CheckpointError(this.path,
        `${what}: bytes ${offset}..${end} lie outside the file (${this.size} bytes; truncated?)`);
    }
    let done = 0;
    while (done < dst.length) {
      // One read may return fewer bytes than asked (large reads, some file systems): loop.
      const n = readSync(fd, dst, done, Math.min(dst.length - done, 1 << 30), offset + done);
      if (n === 0) throw new CheckpointError(this.path, `${what}: unexpected end of file at byte ${offset + done}`);
      done += n;
    }
  }

  /** A fresh buffer holding the bytes at [offset, offset + length). */
  read(offset: number, length: number, what: string): Uint8Array {
    const out = new Uint8Array(length);
    this.readInto(offset, out, what);
    return out;
  }

  close(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}
