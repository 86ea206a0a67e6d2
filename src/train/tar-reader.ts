// A small reader of tar archives (POSIX ustar, with GNU long names and pax path records), enough
// for WebDataset shards: it walks the 512-byte headers, skipping member contents by offset, so a
// shard is indexed without being unpacked or read in full, and a member is later read in place.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const BLOCK = 512;

/** One regular file inside the archive. */
export interface TarMember {
  /** Path inside the archive (pax `path` or GNU long name when present). */
  name: string;
  /** Byte offset of the contents in the archive file. */
  offset: number;
  size: number;
}

export class TarFormatError extends Error {
  constructor(file: string, offset: number, why: string) {
    super(`${file}: not a valid tar archive at byte ${offset}: ${why}`);
    this.name = 'TarFormatError';
  }
}

function cString(b: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(start, end));
}

/** A numeric header field: octal text, or GNU base-256 (high bit set) for large sizes. */
function numberField(b: Uint8Array, start: number, len: number): number {
  if ((b[start] & 0x80) !== 0) {
    let v = b[start] & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[start + i];
    return v;
  }
  const text = cString(b, start, len).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return NaN;
  return parseInt(text, 8);
}

function checksumOk(h: Uint8Array): boolean {
  const stored = numberField(h, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === stored;
}

/** `path` from a pax extended header's records ("<len> key=value\n" each). */
function paxPath(records: Uint8Array): string | undefined {
  const text = new TextDecoder().decode(records);
  let at = 0;
  let found: string | undefined;
  while (at < text.length) {
    const space = text.indexOf(' ', at);
    if (space < 0) break;
    const len = Number(text.slice(at, space));
    if (!Number.isInteger(len) || len <= 0) break;
    const record = text.slice(space + 1, at + len - 1); // without the trailing newline
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') found = record.slice(eq + 1);
    at += len;
  }
  return found;
}

export interface TarScan {
  members: TarMember[];
  /** Set when the archive ends inside a member or header (the members before it are listed). */
  truncatedAt?: number;
}

/**
 * Lists the regular files of a tar archive. `wantContents(name)` selects members whose bytes are
 * read during the scan (small ones such as captions) and passed to `onContents`.
 */
export function scanTar(file: string, wantContents: (name: string) => boolean = () => false,
  onContents: (member: TarMember, bytes: Uint8Array) => void = () => {}): TarScan {
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    const members: TarMember[] = [];
    const header = new Uint8Array(BLOCK);
    let pos = 0;
    let longName: string | undefined;
    let paxName: string | undefined;
    const readAt = (buf: Uint8Array, at: number): number => {
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, at + got);
        if (n === 0) break;
        got += n;
      }
      return got;
    };
    while (pos + BLOCK <= total) {
      if (readAt(header, pos) < BLOCK) return { members, truncatedAt: pos };
      if (header.every((x) => x === 0)) break; // end-of-archive marker
      if (!checksumOk(header)) {
        throw new TarFormatError(file, pos, pos === 0 ? 'bad header checksum (is it a tar file? gzip-compressed shards are not supported)' : 'bad header checksum');
      }
      const size = numberField(header, 124, 12);
      if (!Number.isFinite(size) || size < 0) throw new TarFormatError(file, pos, 'bad size field');
      const type = String.fromCharCode(header[156] === 0 ? 0x30 : header[156]);
      const dataAt = pos + BLOCK;
      if (dataAt + size > total) return { members, truncatedAt: pos };
      const next = dataAt + Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L' || type === 'x') {
        const body = new Uint8Array(size);
        readAt(body, dataAt);
        if (type === 'L') longName = cString(body, 0, size);
        else paxName = paxPath(body) ?? paxName;
      } else if (type === '0' || type === '7') {
        const magic = cString(header, 257, 6);
        const prefix = magic.startsWith('ustar') ? cString(header, 345, 155) : '';
        const base = cString(header, 0, 100);
        const name = paxName ?? longName ?? (prefix !== '' ? `${prefix}/${base}` : base);
        const member: TarMember = { name, offset: dataAt, size };
        members.push(member);
        if (wantContents(name)) {
          const body = new Uint8Array(size);
          readAt(body, dataAt);
          onContents(member, body);
        }
        longName = undefined;
        paxName = undefined;
      } else {
        // Directories, links, global pax headers and the like carry no sample data.
        longName = undefined;
        paxName = undefined;
      }
      pos = next;
    }
    // A partial header at the end: the archive was cut off (a complete one ends with zero blocks).
    if (pos < total && pos + BLOCK > total) return { members, truncatedAt: pos };
    return { members };
  } finally {
    closeSync(fd);
  }
}

/** Reads `size` bytes at `offset` of `file` (a member found by scanTar). */
export function readRange(fd: number, offset: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, out, got, size - got, offset + got);
    if (n === 0) throw new Error(`unexpected end of file at byte ${offset + got}`);
    got += n;
  }
  return out;
}
