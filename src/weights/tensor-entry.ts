// TensorEntry: one named tensor of a checkpoint, read lazily.
//
// An entry knows where its bytes live (a byte range of the file, or of an inflated ZIP member) and
// how they are laid out (PyTorch's storage offset and strides), and reads them only when asked.
// `readInto` converts straight into the caller's Float32Array: float32 data is read by the kernel
// directly into it, other types go through a bounded scratch buffer, so no full-size intermediate
// copy is ever made for contiguous tensors.
import { CheckpointError } from './errors.js';
import { DTYPE_BYTES, decodeToFloat32, type StorageDType } from './dtype.js';
import type { FileSource } from './file-source.js';

export interface TensorEntry {
  /** The key in the checkpoint (or, after mapping, the OpenAI key). */
  readonly name: string;
  /** Element type as stored. */
  readonly dtype: StorageDType;
  /** Shape; [] for a 0-dim tensor (one element). */
  readonly shape: readonly number[];
  /** Number of elements (product of the shape). */
  readonly numel: number;
  /** The values as float32 (fp16/bf16 convert exactly; int64 through Number). */
  toFloat32(): Float32Array;
  /** Writes the values as float32 into `dst`, which must have exactly `numel` elements. */
  readInto(dst: Float32Array): void;
  /** The stored bytes in row-major (C) order, little-endian, `numel * bytesPerElement` long. */
  rawBytes(): Uint8Array;
}

/** Where a storage's bytes are: reads `dst.length` bytes from `byteOffset` within the storage. */
export interface StorageBytes {
  readonly byteLength: number;
  read(byteOffset: number, dst: Uint8Array, what: string): void;
}

/** A storage that is a byte range of the file (a stored ZIP member, a safetensors data range). */
export class FileRangeStorage implements StorageBytes {
  constructor(readonly source: FileSource, readonly fileOffset: number, readonly byteLength: number) {}
  read(byteOffset: number, dst: Uint8Array, what: string): void {
    if (byteOffset < 0 || byteOffset + dst.length > this.byteLength) {
      throw new CheckpointError(this.source.path, `${what}: bytes ${byteOffset}..${byteOffset + dst.length} outside its storage of ${this.byteLength} bytes`);
    }
    this.source.readInto(this.fileOffset + byteOffset, dst, what);
  }
}

/** A storage held in memory (an inflated, i.e. compressed, ZIP member). */
export class MemoryStorage implements StorageBytes {
  constructor(readonly file: string, private readonly load: () => Uint8Array, readonly byteLength: number) {}
  private bytes: Uint8Array | undefined;
  read(byteOffset: number, dst: Uint8Array, what: string): void {
    if (this.bytes === undefined) this.bytes = this.load();
    if (byteOffset < 0 || byteOffset + dst.length > this.bytes.length) {
      throw new CheckpointError(this.file, `${what}: bytes ${byteOffset}..${byteOffset + dst.length} outside its storage of ${this.bytes.length} bytes`);
    }
    dst.set(this.bytes.subarray(byteOffset, byteOffset + dst.length));
  }
}

export function shapeNumel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

// Conversion works through this many bytes at a time, so that a 100 MB fp16 embedding never
// needs a second 100 MB buffer.
const CHUNK_BYTES = 1 << 22;

/** Checks `dst` has room for exactly `numel` values. */
export function checkDestination(file: string, name: string, numel: number, dst: Float32Array): void {
  if (dst.length !== numel) {
    throw new CheckpointError(file, `tensor ${name}: readInto needs a Float32Array of ${numel} elements, got ${dst.length}`);
  }
}

/** A tensor whose elements live in a storage, at PyTorch's (storage offset, shape, strides). */
export class StoredTensorEntry implements TensorEntry {
  readonly numel: number;
  private readonly contiguous: boolean;

  constructor(
    readonly file: string,
    readonly name: string,
    readonly dtype: StorageDType,
    readonly shape: readonly number[],
    private readonly strides: readonly number[],
    private readonly storage: StorageBytes,
    private readonly storageOffset: number,
  ) {
    if (shape.length !== strides.length) {
      throw new CheckpointError(file, `tensor ${name}: shape [${shape.join(', ')}] and strides [${strides.join(', ')}] differ in length`);
    }
    for (const d of shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new CheckpointError(file, `tensor ${name}: bad dimension ${d} in shape [${shape.join(', ')}]`);
    }
    for (const s of strides) {
      if (!Number.isSafeInteger(s) || s < 0) throw new CheckpointError(file, `tensor ${name}: unsupported stride ${s} in [${strides.join(', ')}]`);
    }
    if (!Number.isSafeInteger(storageOffset) || storageOffset < 0) {
      throw new CheckpointError(file, `tensor ${name}: bad storage offset ${storageOffset}`);
    }
    this.numel = shapeNumel(shape);
    const esz = DTYPE_BYTES[dtype];
    if (this.numel > 0) {
      let last = storageOffset;
      for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * strides[i];
      if ((last + 1) * esz > storage.byteLength) {
        throw new CheckpointError(file,
          `tensor ${name}: shape [${shape.join(', ')}], strides [${strides.join(', ')}] at storage offset ${storageOffset} ` +
          `need ${(last + 1) * esz} bytes of ${dtype}, but its storage has ${storage.byteLength}`);
      }
    }
    // Size-1 dimensions may carry any stride; they do not break contiguity.
    const want = contiguousStrides(shape);
    this.contiguous = shape.every((d, i) => d <= 1 || strides[i] === want[i]);
  }

  rawBytes(): Uint8Array {
    const esz = DTYPE_BYTES[this.dtype];
    const out = new Uint8Array(this.numel * esz);
    if (this.numel === 0) return out;
    const what = `tensor ${this.name}`;
    if (this.contiguous) {
      this.storage.read(this.storageOffset * esz, out, what);
      return out;
    }
    // Strided view: read the covering span once, then gather element by element in C order.
    let last = 0;
    for (let i = 0; i < this.shape.length; i++) last += (this.shape[i] - 1) * this.strides[i];
    const span = new Uint8Array((last + 1) * esz);
    this.storage.read(this.storageOffset * esz, span, what);
    const nd = this.shape.length;
    const idx = new Array<number>(nd).fill(0);
    let src = 0;
    for (let k = 0; k < this.numel; k++) {
      out.set(span.subarray(src * esz, src * esz + esz), k * esz);
      for (let d = nd - 1; d >= 0; d--) {
        idx[d]++;
        src += this.strides[d];
        if (idx[d] < this.shape[d]) break;
        src -= this.strides[d] * this.shape[d];
        idx[d] = 0;
      }
    }
    return out;
  }

  readInto(dst: Float32Array): void {
    checkDestination(this.file, this.name, this.numel, dst);
    if (this.numel === 0) return;
    const esz = DTYPE_BYTES[this.dtype];
    const what = `tensor ${this.name}`;
    if (!this.contiguous) {
      const raw = this.rawBytes();
      decodeToFloat32(this.dtype, raw, dst, 0, this.numel);
      return;
    }
    const base = this.storageOffset * esz;
    if (this.dtype === 'float32') {
      // The kernel copies the file bytes straight into the destination.
      this.storage.read(base, new Uint8Array(dst.buffer, dst.byteOffset, this.numel * 4), what);
      return;
    }
    const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / esz));
    const scratch = new Uint8Array(Math.min(this.numel, perChunk) * esz);
    for (let done = 0; done < this.numel; done += perChunk) {
      const n = Math.min(perChunk, this.numel - done);
      const view = scratch.subarray(0, n * esz);
      this.storage.read(base + done * esz, view, what);
      decodeToFloat32(this.dtype, view, dst, done, n);
    }
  }

  toFloat32(): Float32Array {
    const out = new Float32Array(this.numel);
    this.readInto(out);
    return out;
  }
}
