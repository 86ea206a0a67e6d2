// Tensor entries computed from other entries, for key mapping: a renamed view, a concatenation
// along the first axis (Hugging Face's separate q/k/v projections → one in_proj), and a 2-D
// transpose (a Linear weight [out, in] → OpenAI's projection matrix [in, out]). They stay lazy:
// nothing is read until the model asks for the values.
import { CheckpointError } from './errors.js';
import { DTYPE_BYTES, type StorageDType } from './dtype.js';
import { checkDestination, shapeNumel, type TensorEntry } from './tensor-entry.js';

/** The same tensor under another name (and, for a one-element tensor, possibly another shape). */
export class RenamedEntry implements TensorEntry {
  readonly dtype: StorageDType;
  readonly shape: readonly number[];
  readonly numel: number;
  constructor(readonly name: string, private readonly src: TensorEntry, shape?: readonly number[]) {
    this.dtype = src.dtype;
    this.shape = shape ?? src.shape;
    this.numel = src.numel;
  }
  toFloat32(): Float32Array { return this.src.toFloat32(); }
  readInto(dst: Float32Array): void { this.src.readInto(dst); }
  rawBytes(): Uint8Array { return this.src.rawBytes(); }
}

/** Entries stacked along axis 0 (all with the same dtype and trailing dimensions). */
export class ConcatEntry implements TensorEntry {
  readonly dtype: StorageDType;
  readonly shape: readonly number[];
  readonly numel: number;
  constructor(private readonly file: string, readonly name: string, private readonly parts: readonly TensorEntry[]) {
    const first = parts[0];
    const rest = first.shape.slice(1);
    for (const p of parts) {
      if (p.dtype !== first.dtype) {
        throw new CheckpointError(file, `cannot fuse ${parts.map((q) => q.name).join(', ')} into ${name}: dtypes differ (${p.name} is ${p.dtype}, ${first.name} is ${first.dtype})`);
      }
      if (p.shape.length !== first.shape.length || p.shape.length === 0 || p.shape.slice(1).some((d, i) => d !== rest[i]) || p.shape[0] !== first.shape[0]) {
        throw new CheckpointError(file, `cannot fuse ${parts.map((q) => `${q.name} [${q.shape.join(', ')}]`).join(', ')} into ${name}: shapes differ`);
      }
    }
    this.dtype = first.dtype;
    this.shape = [parts.reduce((s, p) => s + p.shape[0], 0), ...rest];
    this.numel = shapeNumel(this.shape);
  }
  readInto(dst: Float32Array): void {
    checkDestination(this.file, this.name, this.numel, dst);
    let at = 0;
    for (const p of this.parts) {
      p.readInto(dst.subarray(at, at + p.numel));
      at += p.numel;
    }
  }
  toFloat32(): Float32Array {
    const out = new Float32Array(this.numel);
    this.readInto(out);
    return out;
  }
  rawBytes(): Uint8Array {
    const out = new Uint8Array(this.numel * DTYPE_BYTES[this.dtype]);
    let at = 0;
    for (const p of this.parts) {
      const b = p.rawBytes();
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
}

/** The transpose of a 2-D entry. */
export class TransposedEntry implements TensorEntry {
  readonly dtype: StorageDType;
  readonly shape: readonly number[];
  readonly numel: number;
  constructor(private readonly file: string, readonly name: string, private readonly src: TensorEntry) {
    if (src.shape.length !== 2) {
      throw new CheckpointError(file, `cannot transpose ${src.name} [${src.shape.join(', ')}] into ${name}: not 2-D`);
    }
    this.dtype = src.dtype;
    this.shape = [src.shape[1], src.shape[0]];
    this.numel = src.numel;
  }
  readInto(dst: Float32Array): void {
    checkDestination(this.file, this.name, this.numel, dst);
    const [rows, cols] = this.src.shape;
    const s = this.src.toFloat32();
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = s[r * cols + c];
  }
  toFloat32(): Float32Array {
    const out = new Float32Array(this.numel);
    this.readInto(out);
    return out;
  }
  rawBytes(): Uint8Array {
    const [rows, cols] = this.src.shape;
    const esz = DTYPE_BYTES[this.dtype];
    const s = this.src.rawBytes();
    const out = new Uint8Array(s.length);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const from = (r * cols + c) * esz;
        out.set(s.subarray(from, from + esz), (c * rows + r) * esz);
      }
    }
    return out;
  }
}
