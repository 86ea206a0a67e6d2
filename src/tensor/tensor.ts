// The Tensor: a dense, row-major float32 or float64 array with a shape, plus what reverse-mode
// autograd needs (requiresGrad, grad, and the node that produced it).
//
// Storage is a plain typed array handed to the native core without copies. Tensors are always
// contiguous: ops that change the layout (transpose, permute) produce new storage, and reshape
// shares storage. That keeps every kernel simple and the backend interface narrow.
import type { FloatArray } from './native.js';
import type { GradNode } from './autograd.js';
import { uninitializedBuffer } from './buffer-pool.js';

export type DType = 'float32' | 'float64';

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Zero-filled storage. */
export function allocate(dtype: DType, n: number): FloatArray {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/**
 * Storage with unspecified contents, for an output that a kernel overwrites entirely right away.
 * `new Float32Array(n)` asks for zeroed memory, which for multi-megabyte activations means fresh
 * pages from the kernel, faulted in one by one on first write (tens of µs each on virtual
 * machines) plus a memset; `uninitializedBuffer` (buffer-pool.ts) reuses a buffer handed back with
 * `recycle`, else takes plain malloc'd memory that the C library recycles from freed activations.
 */
export function allocateUninitialized(dtype: DType, n: number): FloatArray {
  const bytesPer = dtype === 'float32' ? 4 : 8;
  if (n < 4096) return allocate(dtype, n); // small arrays: V8's own allocation is cheaper
  const buffer = uninitializedBuffer(n * bytesPer);
  return dtype === 'float32' ? new Float32Array(buffer, 0, n) : new Float64Array(buffer, 0, n);
}

/** The same for bfloat16 bit patterns (the bf16 copies of activations kept for backward). */
export function allocateUninitializedBf16(n: number): Uint16Array {
  if (n < 8192) return new Uint16Array(n);
  return new Uint16Array(uninitializedBuffer(n * 2), 0, n);
}

function checkShape(shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid shape ${shapeString(shape)}: dimensions must be non-negative integers`);
  }
}

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  /** Row-major values. Shared with reshaped views; never reallocated. */
  readonly data: FloatArray;
  /** Leaf tensors with requiresGrad collect gradients in `grad`; op outputs inherit it from inputs. */
  requiresGrad: boolean;
  grad: Tensor | null = null;
  /** The op that produced this tensor (null for leaves and under noGrad). */
  node: GradNode | null = null;
  /** Optional name (parameters), used in error messages and optimizers. */
  name: string | undefined;
  /** A bfloat16 copy of the values, kept for bf16 matrix multiplies (weights only). */
  bf16: Uint16Array | null = null;

  constructor(data: FloatArray, shape: Shape, requiresGrad = false) {
    checkShape(shape);
    const n = shapeSize(shape);
    if (data.length !== n) {
      throw new RangeError(`tensor data has ${data.length} values but shape ${shapeString(shape)} needs ${n}`);
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = data instanceof Float64Array ? 'float64' : 'float32';
    this.requiresGrad = requiresGrad;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The size of dimension `i` (negative counts from the end). */
  dim(i: number): number {
    const r = i < 0 ? this.shape.length + i : i;
    if (r < 0 || r >= this.shape.length) throw new RangeError(`dimension ${i} out of range for shape ${shapeString(this.shape)}`);
    return this.shape[r];
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new RangeError(`item() needs a one-element tensor, got shape ${shapeString(this.shape)}`);
    return this.data[0];
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${shapeString(this.shape)}${this.name !== undefined ? ', ' + this.name : ''})`;
  }

  /** A leaf copy with no history. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape, false);
  }
}

export function zeros(shape: Shape, dtype: DType = 'float32', requiresGrad = false): Tensor {
  return new Tensor(allocate(dtype, shapeSize(shape)), shape, requiresGrad);
}

export function full(shape: Shape, value: number, dtype: DType = 'float32'): Tensor {
  const t = zeros(shape, dtype);
  t.data.fill(value);
  return t;
}

export function fromArray(values: ArrayLike<number>, shape: Shape, dtype: DType = 'float32', requiresGrad = false): Tensor {
  const data = allocate(dtype, values.length);
  data.set(values as ArrayLike<number>);
  return new Tensor(data, shape, requiresGrad);
}

/** A tensor of the same dtype as `like`. */
export function zerosLike(like: Tensor, shape: Shape = like.shape): Tensor {
  return zeros(shape, like.dtype);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Throws unless a and b have the same dtype, naming the op and both tensors. */
export function checkSameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new TypeError(`${op}: dtype mismatch: ${a.dtype} ${shapeString(a.shape)} vs ${b.dtype} ${shapeString(b.shape)}`);
  }
}

export function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  checkSameDType(op, a, b);
  if (!sameShape(a.shape, b.shape)) {
    throw new RangeError(`${op}: shape mismatch: ${shapeString(a.shape)} vs ${shapeString(b.shape)}`);
  }
}
