// Shared by the weights tests: the committed test checkpoints, temporary folders, and a tiny ZIP
// writer for building malformed archives on the fly.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after } from 'node:test';
import { packageRoot } from '../../src/paths.js';
import { crc32 } from '../../src/weights/zip.js';

/** test/data/weights in the checkout. */
export function weightsDataDir(): string {
  return path.join(packageRoot(), 'test', 'data', 'weights');
}

export function dataFile(name: string): string {
  return path.join(weightsDataDir(), name);
}

export interface TestManifest {
  models: Record<string, {
    config: Record<string, number | number[] | null>;
    files?: Record<string, string>;
    checkpoint?: { file: string; sha256_uncompressed: string; bytes_uncompressed: number };
    inputs?: { images: { file: string; shape: number[] } };
    outputs?: Record<string, { file: string; shape: number[] }>;
  }>;
}

export function testManifest(): TestManifest {
  return JSON.parse(readFileSync(dataFile('manifest.json'), 'utf8')) as TestManifest;
}

const tempRoots: string[] = [];

/** A fresh temporary folder, removed when the test file finishes. */
export function tempDir(prefix = 'clip-ts-weights-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  if (tempRoots.length === 0) {
    after(() => {
      for (const d of tempRoots) rmSync(d, { recursive: true, force: true });
    });
  }
  tempRoots.push(dir);
  return dir;
}

/** Gunzips a committed `.gz` checkpoint into a temporary folder and returns its path. */
export function gunzipToTemp(gzName: string): string {
  const out = path.join(tempDir(), gzName.replace(/\.gz$/, ''));
  if (!existsSync(out)) writeFileSync(out, bytesOf(gunzipSync(readBytes(dataFile(gzName)))));
  return out;
}

/** A file's bytes as a plain Uint8Array (Node's Buffer type does not fit every API's signature). */
export function readBytes(file: string): Uint8Array {
  const b = readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** A Buffer viewed as a plain Uint8Array. */
export function bytesOf(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** 0 stored (default), 8 deflate (data is then given already deflated, with `size` the original). */
  method?: number;
  size?: number;
  crc?: number;
}

/**
 * A minimal ZIP writer (local headers, central directory, end record). `zip64` writes the sizes
 * and offsets through ZIP64 extra fields and a ZIP64 end record, as large archives do.
 */
export function buildZip(members: ZipInput[], opts: { zip64?: boolean; comment?: string } = {}): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  for (const m of members) {
    const name = enc.encode(m.name);
    const size = m.size ?? m.data.length;
    const crc = m.crc ?? crc32(m.method === 8 ? new Uint8Array(0) : m.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, m.method ?? 0, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, m.data.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    chunks.push(local, m.data);
    const extra = opts.zip64 === true ? new Uint8Array(4 + 24) : new Uint8Array(0);
    if (opts.zip64 === true) {
      const ev = new DataView(extra.buffer);
      ev.setUint16(0, 0x0001, true);
      ev.setUint16(2, 24, true);
      ev.setBigUint64(4, BigInt(size), true);
      ev.setBigUint64(12, BigInt(m.data.length), true);
      ev.setBigUint64(20, BigInt(offset), true);
    }
    const c = new Uint8Array(46 + name.length + extra.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, m.method ?? 0, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, opts.zip64 === true ? 0xffffffff : m.data.length, true);
    cv.setUint32(24, opts.zip64 === true ? 0xffffffff : size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, extra.length, true);
    cv.setUint32(42, opts.zip64 === true ? 0xffffffff : offset, true);
    c.set(name, 46);
    c.set(extra, 46 + name.length);
    central.push(c);
    offset += local.length + m.data.length;
  }
  const cdStart = offset;
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  chunks.push(...central);
  offset += cdSize;
  if (opts.zip64 === true) {
    const rec = new Uint8Array(56);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setBigUint64(24, BigInt(members.length), true);
    rv.setBigUint64(32, BigInt(members.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdStart), true);
    const loc = new Uint8Array(20);
    const lv = new DataView(loc.buffer);
    lv.setUint32(0, 0x07064b50, true);
    lv.setBigUint64(8, BigInt(offset), true);
    lv.setUint32(16, 1, true);
    chunks.push(rec, loc);
  }
  const comment = enc.encode(opts.comment ?? '');
  const end = new Uint8Array(22 + comment.length);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, opts.zip64 === true ? 0xffff : members.length, true);
  ev.setUint16(10, opts.zip64 === true ? 0xffff : members.length, true);
  ev.setUint32(12, opts.zip64 === true ? 0xffffffff : cdSize, true);
  ev.setUint32(16, opts.zip64 === true ? 0xffffffff : cdStart, true);
  ev.setUint16(20, comment.length, true);
  end.set(comment, 22);
  chunks.push(end);
  const total = chunks.reduce((s, c) => s + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Hand-assembled pickle bytes: strings are latin-1 literal opcodes/arguments, arrays raw bytes. */
export function pickleBytes(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (let i = 0; i < p.length; i++) out.push(p.charCodeAt(i));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

/** BINUNICODE of a string. */
export function binUnicode(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(5 + b.length);
  out[0] = 0x58;
  new DataView(out.buffer).setUint32(1, b.length, true);
  out.set(b, 5);
  return out;
}

/**
 * A torch.save-style ZIP (`<root>/data.pkl`, `<root>/data/<key>`, `<root>/version`) from a pickle
 * and raw storages.
 */
export function torchSaveZip(root: string, pkl: Uint8Array, storages: Record<string, Uint8Array> = {}): Uint8Array {
  const members: ZipInput[] = [{ name: `${root}/data.pkl`, data: pkl }];
  for (const [k, v] of Object.entries(storages)) members.push({ name: `${root}/data/${k}`, data: v });
  members.push({ name: `${root}/version`, data: new TextEncoder().encode('3\n') });
  return buildZip(members);
}
