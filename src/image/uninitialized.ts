// Large output arrays that are fully overwritten right away: allocated without zero-filling.
//
// `new Float32Array(n)` asks for zeroed memory, which for multi-megabyte batches usually means
// fresh pages from the kernel, faulted in one by one on first write; on some virtualised machines
// that costs more than preprocessing the images. The tensor library's `uninitializedBuffer` takes
// plain malloc'd memory (its own ArrayBuffer, so it can be transferred), which the C library can
// recycle from earlier batches, or a buffer recycled by the tensor code.
import { uninitializedBuffer } from '../tensor/buffer-pool.js';

/** A Float32Array of `length` elements with unspecified contents; the caller writes every element. */
export function uninitializedFloat32(length: number): Float32Array {
  return new Float32Array(uninitializedBuffer(length * 4), 0, length);
}
