// saveSafetensors: writes float32 data as a safetensors file (F32, F16 or BF16), atomically.
//
// Layout (the format's own): 8-byte little-endian header length, a JSON header padded with spaces
// to a multiple of 8 bytes (so the data starts aligned), then the tensors back to back in the
// order given. Conversion to fp16/bf16 rounds to nearest, ties to even, in bounded chunks, so a
// large model is never copied whole.
import { writeAll, writeFileAtomic } from './atomic-file.js';
import { encodeBFloat16, encodeFloat16 } from './dtype.js';
import { CheckpointError } from './errors.js';
import { shapeNumel } from './tensor-entry.js';

export type SaveDType = 'float32' | 'float16' | 'bfloat16';

export interface TensorToSave {
  readonly name: string;
  readonly dtype: SaveDType;
  readonly shape: readonly number[];
  /** Row-major values; length must equal the product of `shape`. */
  readonly data: Float32Array;
}

const CODES: Readonly<Record<SaveDType, string>> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
const BYTES: Readonly<Record<SaveDType, number>> = { float32: 4, float16: 2, bfloat16: 2 };
const CHUNK = 1 << 20; // elements per conversion chunk

/** The header JSON bytes (padded) for these tensors; exported for tests and size estimates. */
export function safetensorsHeader(tensors: readonly TensorToSave[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = shapeNumel(t.shape) * BYTES[t.dtype];
    header[t.name] = { dtype: CODES[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  padded.set(json);
  return padded;
}

export function saveSafetensors(path: string, tensors: readonly TensorToSave[], metadata?: Readonly<Record<string, string>>): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '' || t.name === '__metadata__') throw new CheckpointError(path, `invalid tensor name "${t.name}"`);
    if (seen.has(t.name)) throw new CheckpointError(path, `tensor ${t.name} is given twice`);
    seen.add(t.name);
    if (!(t.dtype in CODES)) throw new CheckpointError(path, `tensor ${t.name}: cannot save as ${String(t.dtype)} (float32, float16 or bfloat16)`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new CheckpointError(path, `tensor ${t.name}: bad shape [${t.shape.join(', ')}]`);
    }
    const n = shapeNumel(t.shape);
    if (t.data.length !== n) throw new CheckpointError(path, `tensor ${t.name}: shape [${t.shape.join(', ')}] has ${n} elements, data has ${t.data.length}`);
  }
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(path, `metadata ${k} must be a string`);
    }
  }
  const header = safetensorsHeader(tensors, metadata);
  writeFileAtomic(path, (fd) => {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(header.length), true);
    writeAll(fd, len);
    writeAll(fd, header);
    for (const t of tensors) {
      if (t.dtype === 'float32') {
        writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
        continue;
      }
      const encode = t.dtype === 'float16' ? encodeFloat16 : encodeBFloat16;
      const scratch = new Uint8Array(Math.min(t.data.length, CHUNK) * 2);
      for (let i = 0; i < t.data.length; i += CHUNK) {
        const part = t.data.subarray(i, Math.min(i + CHUNK, t.data.length));
        const out = scratch.subarray(0, part.length * 2);
        encode(part, out);
        writeAll(fd, out);
      }
    }
  });
}
