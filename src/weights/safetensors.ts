// safetensors reading, written from the format description (huggingface/safetensors README):
//
//   8 bytes   N, unsigned little-endian: the header length
//   N bytes   JSON: { name: { dtype, shape, data_offsets: [begin, end] }, ..., "__metadata__": {str: str} }
//   rest      the byte buffer; offsets are relative to its start
//
// The header is validated as strictly as the reference implementation does: bounded length,
// offsets inside the buffer, byte counts that match dtype × shape, no overlaps and no holes (so a
// truncated or padded file is caught here, not later as garbage numbers).
import { CheckpointError } from './errors.js';
import { DTYPE_BYTES, type StorageDType } from './dtype.js';
import type { FileSource } from './file-source.js';
import { contiguousStrides, FileRangeStorage, shapeNumel, StoredTensorEntry, type TensorEntry } from './tensor-entry.js';

/** safetensors' dtype names and ours. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, StorageDType>> = {
  F16: 'float16', BF16: 'bfloat16', F32: 'float32', F64: 'float64',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

/** The largest header the format allows (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsContents {
  entries: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  headerLength: number;
}

/** True when the first bytes look like a safetensors header (a sane length, then '{'). */
export function looksLikeSafetensors(head: Uint8Array, fileSize: number): boolean {
  if (head.length < 9) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8)) && head[8] === 0x7b;
}

export function readSafetensors(source: FileSource): SafetensorsContents {
  const file = source.path;
  const fail = (detail: string): never => {
    throw new CheckpointError(file, detail);
  };
  if (source.size < 8) fail(`too short for safetensors (${source.size} bytes)`);
  const lenBytes = source.read(0, 8, 'safetensors header length');
  const big = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (big > BigInt(MAX_HEADER_BYTES)) fail(`safetensors header length ${big} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(big);
  if (8 + n > source.size) fail(`safetensors header length ${n} runs past the end of the file (${source.size} bytes): truncated or not safetensors`);
  const headerBytes = source.read(8, n, 'safetensors header');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    return fail(`safetensors header is not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('safetensors header is not a JSON object');

  const dataStart = 8 + n;
  const dataSize = source.size - dataStart;
  const metadata: Record<string, string> = {};
  const ranges: { name: string; begin: number; end: number }[] = [];
  const entries = new Map<string, TensorEntry>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t === null || typeof t !== 'object') fail(`tensor ${name}: header entry is not an object`);
    if (typeof t.dtype !== 'string') fail(`tensor ${name}: missing dtype`);
    const dtype = SAFETENSORS_DTYPES[t.dtype as string];
    if (dtype === undefined) fail(`tensor ${name}: unsupported dtype ${String(t.dtype)}`);
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const offs = t.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name}: data_offsets must be [begin, end], got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as number[];
    if (begin > end) fail(`tensor ${name}: data_offsets [${begin}, ${end}] are reversed`);
    if (end > dataSize) fail(`tensor ${name}: data_offsets [${begin}, ${end}] run past the data buffer (${dataSize} bytes): truncated`);
    const need = shapeNumel(shape as number[]) * DTYPE_BYTES[dtype];
    if (end - begin !== need) {
      fail(`tensor ${name}: ${dtype} [${(shape as number[]).join(', ')}] needs ${need} bytes, data_offsets [${begin}, ${end}] give ${end - begin}`);
    }
    ranges.push({ name, begin, end });
    const storage = new FileRangeStorage(source, dataStart + begin, end - begin);
    entries.set(name, new StoredTensorEntry(file, name, dtype, shape as number[], contiguousStrides(shape as number[]), storage, 0));
  }
  // The tensors must tile the buffer exactly: no overlap, no hole, nothing after the last one.
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev = '';
  for (const r of ranges) {
    if (r.begin < at) fail(`tensors ${prev} and ${r.name} overlap (byte ${r.begin} < ${at})`);
    if (r.begin > at) fail(`hole in the data buffer: bytes ${at}..${r.begin} belong to no tensor (before ${r.name})`);
    at = r.end;
    prev = r.name;
  }
  if (at !== dataSize) fail(`data buffer has ${dataSize} bytes but the tensors cover ${at}: ${at < dataSize ? 'trailing bytes' : 'truncated'}`);
  return { entries, metadata, headerLength: n };
}
