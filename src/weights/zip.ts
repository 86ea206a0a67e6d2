// A read-only ZIP reader, written from PKWARE's APPNOTE, for PyTorch archives.
//
// Only the central directory is read at open (found from the end-of-central-directory record,
// through the ZIP64 locator when the 32-bit fields are saturated). Members are located lazily:
// a stored (method 0) member's bytes sit at a known file offset and are read directly, which is
// how PyTorch writes tensor storages (uncompressed, 64-byte aligned); deflate (method 8) members
// are inflated whole with node:zlib.
import { inflateRawSync } from 'node:zlib';
import { CheckpointError } from './errors.js';
import type { FileSource } from './file-source.js';

export interface ZipMember {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

let crcTable: Uint32Array | undefined;

/** CRC-32 (the ZIP/PNG polynomial 0xEDB88320), continued from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`64-bit value ${v} too large`);
  return Number(v);
}

export class ZipArchive {
  readonly source: FileSource;
  readonly members: ReadonlyMap<string, ZipMember>;
  private readonly dataOffsets = new Map<string, number>();

  private constructor(source: FileSource, members: Map<string, ZipMember>) {
    this.source = source;
    this.members = members;
  }

  static open(source: FileSource): ZipArchive {
    const file = source.path;
    const fail = (detail: string): never => {
      throw new CheckpointError(file, detail);
    };
    if (source.size < EOCD_SIZE) fail(`too short for a ZIP archive (${source.size} bytes)`);

    // The EOCD record is the last 22 bytes unless the archive has a comment (up to 64 KiB).
    const tailLen = Math.min(source.size, EOCD_SIZE + MAX_COMMENT);
    const tailStart = source.size - tailLen;
    const tail = source.read(tailStart, tailLen, 'ZIP end-of-central-directory search');
    const tv = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
      if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tv.getUint16(i + 20, true) <= tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) fail('no ZIP end-of-central-directory record (truncated file, or not a ZIP archive)');

    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // ZIP64: the locator sits immediately before the EOCD record.
      const locAt = tailStart + eocd - 20;
      if (locAt < 0) fail('ZIP64 fields are saturated but there is no ZIP64 locator');
      const loc = source.read(locAt, 20, 'ZIP64 end-of-central-directory locator');
      const lv = new DataView(loc.buffer);
      if (lv.getUint32(0, true) !== SIG_ZIP64_LOCATOR) fail(`no ZIP64 locator at byte ${locAt}`);
      const recAt = u64(lv, 8);
      const rec = source.read(recAt, 56, 'ZIP64 end-of-central-directory record');
      const rv = new DataView(rec.buffer);
      if (rv.getUint32(0, true) !== SIG_ZIP64_EOCD) fail(`no ZIP64 end-of-central-directory record at byte ${recAt}`);
      count = u64(rv, 32);
      cdSize = u64(rv, 40);
      cdOffset = u64(rv, 48);
    }
    if (cdOffset + cdSize > source.size) {
      fail(`central directory (bytes ${cdOffset}..${cdOffset + cdSize}) lies past the end of the file (${source.size} bytes): truncated`);
    }

    const cd = source.read(cdOffset, cdSize, 'ZIP central directory');
    const cv = new DataView(cd.buffer);
    const decoder = new TextDecoder('utf-8');
    const members = new Map<string, ZipMember>();
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cdSize || cv.getUint32(p, true) !== SIG_CENTRAL) {
        fail(`central directory entry ${k} at byte ${cdOffset + p} is malformed`);
      }
      const flags = cv.getUint16(p + 8, true);
      const method = cv.getUint16(p + 10, true);
      const crc = cv.getUint32(p + 16, true);
      let compressedSize = cv.getUint32(p + 20, true);
      let size = cv.getUint32(p + 24, true);
      const nameLen = cv.getUint16(p + 28, true);
      const extraLen = cv.getUint16(p + 30, true);
      const commentLen = cv.getUint16(p + 32, true);
      let localHeaderOffset = cv.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen + commentLen > cdSize) fail(`central directory entry ${k} runs past the directory`);
      const name = decoder.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: 64-bit values for exactly the fields saturated above, in order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cv.getUint16(e, true);
        const len = cv.getUint16(e + 2, true);
        if (id === 0x0001) {
          let q = e + 4;
          const take = (): number => {
            if (q + 8 > e + 4 + len) fail(`member ${name}: short ZIP64 extra field`);
            const v = u64(cv, q);
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        e += 4 + len;
      }
      if ((flags & 1) !== 0) fail(`member ${name} is encrypted`);
      if (method !== 0 && method !== 8) fail(`member ${name} uses compression method ${method} (only stored and deflate are supported)`);
      if (method === 0 && compressedSize !== size) fail(`stored member ${name} has compressed size ${compressedSize} != size ${size}`);
      members.set(name, { name, method, compressedSize, size, crc32: crc, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
    return new ZipArchive(source, members);
  }

  /** File offset of the first byte of a member's (possibly compressed) data. */
  dataOffset(member: ZipMember): number {
    const known = this.dataOffsets.get(member.name);
    if (known !== undefined) return known;
    const src = this.source;
    const hdr = src.read(member.localHeaderOffset, 30, `local header of ${member.name}`);
    const hv = new DataView(hdr.buffer);
    if (hv.getUint32(0, true) !== SIG_LOCAL) {
      throw new CheckpointError(src.path, `member ${member.name}: no local header at byte ${member.localHeaderOffset}`);
    }
    // The local header's name/extra lengths may differ from the central ones (PyTorch pads the
    // local extra field to align the data), so the data offset comes from here.
    const at = member.localHeaderOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (at + member.compressedSize > src.size) {
      throw new CheckpointError(src.path,
        `member ${member.name}: data at bytes ${at}..${at + member.compressedSize} lie past the end of the file (${src.size} bytes): truncated`);
    }
    this.dataOffsets.set(member.name, at);
    return at;
  }

  /** The whole (decompressed) content of a member, CRC-checked. */
  read(member: ZipMember): Uint8Array {
    const src = this.source;
    const raw = src.read(this.dataOffset(member), member.compressedSize, `member ${member.name}`);
    let data: Uint8Array;
    if (member.method === 0) {
      data = raw;
    } else {
      try {
        const inflated = inflateRawSync(raw, { maxOutputLength: Math.max(member.size, 1) });
        data = new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
      } catch (err) {
        throw new CheckpointError(src.path, `member ${member.name}: cannot inflate: ${(err as Error).message}`);
      }
      if (data.length !== member.size) {
        throw new CheckpointError(src.path, `member ${member.name}: inflated to ${data.length} bytes, expected ${member.size}`);
      }
    }
    const crc = crc32(data);
    if (crc !== member.crc32) {
      throw new CheckpointError(src.path,
        `member ${member.name}: CRC-32 mismatch (stored ${member.crc32.toString(16)}, computed ${crc.toString(16)}): corrupt file`);
    }
    return data;
  }

  /** CRC-checks a member by streaming it (stored members) or inflating it; throws on mismatch. */
  verify(member: ZipMember): void {
    if (member.method !== 0) {
      this.read(member);
      return;
    }
    const start = this.dataOffset(member);
    const chunk = new Uint8Array(Math.min(member.size, 1 << 22));
    let crc = 0;
    for (let done = 0; done < member.size; done += chunk.length) {
      const n = Math.min(chunk.length, member.size - done);
      const view = n === chunk.length ? chunk : chunk.subarray(0, n);
      this.source.readInto(start + done, view, `member ${member.name}`);
      crc = crc32(view, crc);
    }
    if (crc !== member.crc32) {
      throw new CheckpointError(this.source.path,
        `member ${member.name}: CRC-32 mismatch (stored ${member.crc32.toString(16)}, computed ${crc.toString(16)}): corrupt file`);
    }
  }
}
