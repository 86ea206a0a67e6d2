// Recycled storage for inference temporaries.
//
// A forward pass allocates the same few activation sizes over and over (a ViT-B/32 block at batch
// 32 makes nine arrays of 5–20 MB). Left to the garbage collector, every new ArrayBuffer adds to
// V8's external memory and, every ~64 MB, triggers a collection: 60 collections and ~200 ms per
// ViT-B/32 pass at batch 32, on top of first-touch page faults of fresh memory. Model code that
// knows an intermediate is dead (inference only, no other view of its storage) hands it back with
// `recycle`, and the next allocation of the same size takes it instead of a new buffer. The
// backward pass does the same with each gradient buffer once it has been consumed (autograd.ts).
import { isGradEnabled } from './autograd.js';
import type { FloatArray } from './native.js';
import type { Tensor } from './tensor.js';

/** Buffers smaller than this are left to V8 (cheap to allocate, not worth tracking). */
const MIN_BYTES = 1 << 16;
/**
 * The most bytes kept waiting for reuse (CLIP_TS_POOL_MB, default 1024); beyond it released
 * buffers are simply dropped to the garbage collector.
 */
const MAX_POOLED_BYTES = poolLimit();

function poolLimit(): number {
  const mb = Number(process.env.CLIP_TS_POOL_MB ?? 1024);
  return Number.isFinite(mb) && mb >= 0 ? mb * 2 ** 20 : 2 ** 30;
}

const free = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;

/** A released buffer of exactly `bytes` bytes, if one is waiting. */
function takePooledBuffer(bytes: number): ArrayBuffer | undefined {
  const list = free.get(bytes);
  const buffer = list?.pop();
  if (buffer !== undefined) pooledBytes -= bytes;
  return buffer;
}

/**
 * `bytes` of storage with unspecified contents: a released buffer of that size if one is waiting,
 * else plain malloc'd memory from `Buffer.allocUnsafeSlow` (its own ArrayBuffer, not Node's shared
 * pool, so it can be transferred to another thread).
 */
export function uninitializedBuffer(bytes: number): ArrayBuffer {
  return takePooledBuffer(bytes) ?? Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
}

/**
 * Hands the storage of dead intermediates back for reuse. Only while gradients are not recorded
 * (no autograd node can still read them), and only for tensors whose storage nothing else views:
 * the caller guarantees both that and that it never reads the tensors again. Storage that does not
 * cover its whole buffer (a view, a subarray) is left alone.
 */
export function recycle(...tensors: Tensor[]): void {
  if (isGradEnabled()) return;
  for (const t of tensors) recycleArray(t.data);
}

/**
 * The same for a bare array that the caller owns outright (the backward pass's dead gradient
 * buffers): no other array may view its buffer, and nothing may read it afterwards.
 */
export function recycleArray(data: FloatArray | Uint16Array): void {
  const { buffer, byteOffset, byteLength } = data;
  if (byteOffset !== 0 || byteLength !== buffer.byteLength || byteLength < MIN_BYTES) return;
  if (!(buffer instanceof ArrayBuffer) || pooledBytes + byteLength > MAX_POOLED_BYTES) return;
  let list = free.get(byteLength);
  if (list === undefined) free.set(byteLength, (list = []));
  if (list.includes(buffer)) return; // released twice
  list.push(buffer);
  pooledBytes += byteLength;
}

/** Drops every pooled buffer (tests; memory-sensitive callers after a large batch). */
export function clearBufferPool(): void {
  free.clear();
  pooledBytes = 0;
}

/** Bytes currently waiting for reuse. */
export function pooledBufferBytes(): number {
  return pooledBytes;
}
