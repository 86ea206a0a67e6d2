// Layout ops: reshape (shares storage), transpose, narrow, cat, expand, row gathers, embedding.
import { record } from '../autograd.js';
import { native, type FloatArray } from '../native.js';
import { Tensor, allocate, allocateUninitialized, checkSameDType, shapeSize, shapeString, type Shape } from '../tensor.js';

/** A view with a new shape (one dimension may be -1). Shares storage with x. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const dims = [...shape];
  const unknown = dims.indexOf(-1);
  if (unknown >= 0) {
    const known = dims.reduce((a, d, i) => (i === unknown ? a : a * d), 1);
    if (known === 0 || x.size % known !== 0) throw new RangeError(`reshape: cannot reshape ${shapeString(x.shape)} into ${shapeString(shape)}`);
    dims[unknown] = x.size / known;
  }
  if (shapeSize(dims) !== x.size) throw new RangeError(`reshape: cannot reshape ${shapeString(x.shape)} into ${shapeString(shape)}`);
  return record(new Tensor(x.data, dims), 'reshape', [x], (g) => [g]);
}

/** Swaps the last two dimensions: [..., R, C] → [..., C, R]. */
export function transpose(x: Tensor): Tensor {
  if (x.rank < 2) throw new RangeError(`transpose: needs at least 2 dimensions, got ${shapeString(x.shape)}`);
  const R = x.dim(-2);
  const C = x.dim(-1);
  const batch = x.size / (R * C);
  const nat = native();
  const out = allocate(x.dtype, x.size);
  nat.transpose(x.data, batch, R, C, out);
  return record(new Tensor(out, [...x.shape.slice(0, -2), C, R]), 'transpose', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    nat.transpose(g, batch, C, R, gx);
    return [gx];
  });
}

function axisOf(x: Tensor, axis: number, op: string): number {
  const a = axis < 0 ? x.rank + axis : axis;
  if (a < 0 || a >= x.rank) throw new RangeError(`${op}: axis ${axis} out of range for ${shapeString(x.shape)}`);
  return a;
}

/** Copies a block of `len` rows of an [outer, rows, inner] layout between buffers. */
function copyBlock(src: FloatArray, srcRows: number, srcStart: number, dst: FloatArray, dstRows: number, dstStart: number,
  len: number, outer: number, inner: number, accumulate: boolean): void {
  for (let o = 0; o < outer; o++) {
    const s = (o * srcRows + srcStart) * inner;
    const d = (o * dstRows + dstStart) * inner;
    const n = len * inner;
    if (accumulate) for (let i = 0; i < n; i++) dst[d + i] += src[s + i];
    else dst.set(src.subarray(s, s + n), d);
  }
}

function splitAt(shape: Shape, axis: number): { outer: number; inner: number } {
  return { outer: shapeSize(shape.slice(0, axis)), inner: shapeSize(shape.slice(axis + 1)) };
}

/** x[..., start:start+length, ...] along `axis` (a copy). */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = axisOf(x, axis, 'narrow');
  const n = x.shape[a];
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > n) {
    throw new RangeError(`narrow: range [${start}, ${start + length}) out of bounds for dimension ${axis} of ${shapeString(x.shape)}`);
  }
  const { outer, inner } = splitAt(x.shape, a);
  const shape = [...x.shape];
  shape[a] = length;
  const out = allocate(x.dtype, outer * length * inner);
  copyBlock(x.data, n, start, out, length, 0, length, outer, inner, false);
  return record(new Tensor(out, shape), 'narrow', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    copyBlock(g, length, 0, gx, n, start, length, outer, inner, false);
    return [gx];
  });
}

/** Concatenates tensors along `axis`; all other dimensions must agree. */
export function cat(tensors: Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new RangeError('cat: needs at least one tensor');
  const first = tensors[0];
  const a = axisOf(first, axis, 'cat');
  for (const t of tensors) {
    checkSameDType('cat', first, t);
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new RangeError(`cat: shape mismatch: ${shapeString(first.shape)} vs ${shapeString(t.shape)} (only dimension ${axis} may differ)`);
    }
  }
  const total = tensors.reduce((s, t) => s + t.shape[a], 0);
  const { outer, inner } = splitAt(first.shape, a);
  const shape = [...first.shape];
  shape[a] = total;
  const out = allocate(first.dtype, outer * total * inner);
  let at = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(at);
    copyBlock(t.data, t.shape[a], 0, out, total, at, t.shape[a], outer, inner, false);
    at += t.shape[a];
  }
  return record(new Tensor(out, shape), 'cat', tensors, (g) => tensors.map((t, i) => {
    if (!t.requiresGrad) return null;
    const gt = allocate(t.dtype, t.size);
    copyBlock(g, total, starts[i], gt, t.shape[a], 0, t.shape[a], outer, inner, false);
    return gt;
  }));
}

/** Repeats x over new leading dimensions: [...] → [...lead, ...]. */
export function expand(x: Tensor, lead: Shape): Tensor {
  const copies = shapeSize(lead);
  const out = allocate(x.dtype, copies * x.size);
  for (let i = 0; i < copies; i++) out.set(x.data, i * x.size);
  return record(new Tensor(out, [...lead, ...x.shape]), 'expand', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    native().sumRows(g, copies, x.size, gx, false);
    return [gx];
  });
}

/** Rows idx of x viewed as [rows, last dim]: returns [idx.length, last dim]. */
export function selectRows(x: Tensor, idx: Int32Array): Tensor {
  const n = x.dim(-1);
  const rows = x.size / n;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= rows) throw new RangeError(`selectRows: row ${idx[i]} out of range for ${rows} rows of ${shapeString(x.shape)}`);
  }
  const nat = native();
  const out = allocate(x.dtype, idx.length * n);
  // A row gather is an embedding lookup in x viewed as a [rows, n] table.
  nat.embedding(x.data, idx, rows, n, out);
  return record(new Tensor(out, [idx.length, n]), 'selectRows', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    nat.embeddingBackward(g, idx, rows, n, gx);
    return [gx];
  });
}

/** Rows of an embedding table [V, D] for token ids; the result has shape [...idsShape, D]. */
export function embedding(weight: Tensor, ids: Int32Array, idsShape: Shape = [ids.length]): Tensor {
  if (weight.rank !== 2) throw new RangeError(`embedding: weight must be [vocab, dim], got ${shapeString(weight.shape)}`);
  if (shapeSize(idsShape) !== ids.length) throw new RangeError(`embedding: ${ids.length} ids do not fill shape ${shapeString(idsShape)}`);
  const [V, D] = weight.shape;
  const nat = native();
  const out = allocateUninitialized(weight.dtype, ids.length * D);
  nat.embedding(weight.data, ids, V, D, out);
  return record(new Tensor(out, [...idsShape, D]), 'embedding', [weight], (g) => {
    // Zeroed here rather than by the allocator, so a recycled buffer can serve (the token table's
    // gradient is 100 MB of mostly zeros, freshly faulted in at every step otherwise).
    const gw = allocateUninitialized(weight.dtype, weight.size).fill(0);
    nat.embeddingBackward(g, ids, V, D, gw);
    return [gw];
  });
}
