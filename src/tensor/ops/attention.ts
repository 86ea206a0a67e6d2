// Multi-head scaled dot-product attention, fused in the native core.
//
// selfAttention reads the packed output of an in-projection, [B, T, 3W] = (q | k | v), in place;
// attention takes separate q [B, Tq, W], k and v [B, Tk, W] (attention pooling queries one token).
// Heads are contiguous column blocks of width W / heads, as in PyTorch's nn.MultiheadAttention.
import { isGradEnabled, record } from '../autograd.js';
import { recycleArray } from '../buffer-pool.js';
import { native, type FloatArray } from '../native.js';
import { Tensor, allocate, allocateUninitialized, checkSameDType, shapeString, type DType } from '../tensor.js';

/** Strided views of q, k, v (row strides in elements) and where their gradients go. */
interface Layout {
  q: FloatArray; k: FloatArray; v: FloatArray;
  qs: number; ks: number; vs: number;
  /** Allocates gradient buffers laid out like q, k, v and the per-input gradients they form. */
  gradients(): { dq: FloatArray; dk: FloatArray; dv: FloatArray; inputs: (FloatArray | null)[] };
}

function run(op: string, inputs: Tensor[], L: Layout, B: number, H: number, Tq: number, Tk: number, D: number, causal: boolean): Tensor {
  const nat = native();
  const W = H * D;
  const scale = 1 / Math.sqrt(D);
  const dtype: DType = inputs[0].dtype;
  const out = allocateUninitialized(dtype, B * Tq * W);
  // The attention probabilities are only kept when a backward pass can follow.
  const keep = isGradEnabled() && inputs.some((t) => t.requiresGrad);
  const probs = keep ? allocate(dtype, B * H * Tq * Tk) : null;
  nat.attention(L.q, L.k, L.v, out, probs, B, H, Tq, Tk, D, L.qs, L.ks, L.vs, W, scale, causal);
  return record(new Tensor(out, [B, Tq, W]), op, inputs, (g, lastUse) => {
    const grads = L.gradients();
    nat.attentionBackward(L.q, L.k, L.v, probs as FloatArray, g, grads.dq, grads.dk, grads.dv, B, H, Tq, Tk, D, L.qs, L.ks, L.vs, W, scale);
    if (lastUse && probs !== null) recycleArray(probs); // only this closure held it
    return grads.inputs;
  });
}

/** Self-attention on a packed [B, T, 3W] q|k|v tensor; `causal` masks future positions. Returns [B, T, W]. */
export function selfAttention(qkv: Tensor, heads: number, causal: boolean): Tensor {
  if (qkv.rank !== 3 || qkv.dim(2) % (3 * heads) !== 0) {
    throw new RangeError(`selfAttention: expected [B, T, 3W] with W divisible by ${heads} heads, got ${shapeString(qkv.shape)}`);
  }
  const [B, T, W3] = qkv.shape;
  const W = W3 / 3;
  const d = qkv.data;
  return run('selfAttention', [qkv], {
    q: d, k: d.subarray(W), v: d.subarray(2 * W), qs: W3, ks: W3, vs: W3,
    // One packed gradient buffer: the kernel writes dq, dk, dv into their own column blocks.
    gradients: () => {
      const g = allocate(qkv.dtype, qkv.size);
      return { dq: g, dk: g.subarray(W), dv: g.subarray(2 * W), inputs: [g] };
    },
  }, B, heads, T, T, W / heads, causal);
}

/** Attention with separate q [B, Tq, W], k and v [B, Tk, W]; no mask. Returns [B, Tq, W]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, heads: number): Tensor {
  checkSameDType('attention', q, k);
  checkSameDType('attention', q, v);
  if (q.rank !== 3 || k.rank !== 3 || v.rank !== 3 || q.dim(0) !== k.dim(0) || k.dim(0) !== v.dim(0) ||
    q.dim(2) !== k.dim(2) || k.dim(2) !== v.dim(2) || k.dim(1) !== v.dim(1) || q.dim(2) % heads !== 0) {
    throw new RangeError(`attention: shape mismatch: q ${shapeString(q.shape)}, k ${shapeString(k.shape)}, v ${shapeString(v.shape)} (${heads} heads)`);
  }
  const [B, Tq, W] = q.shape;
  const Tk = k.dim(1);
  return run('attention', [q, k, v], {
    q: q.data, k: k.data, v: v.data, qs: W, ks: W, vs: W,
    gradients: () => {
      const dq = allocate(q.dtype, q.size);
      const dk = allocate(q.dtype, k.size);
      const dv = allocate(q.dtype, v.size);
      return { dq, dk, dv, inputs: [q.requiresGrad ? dq : null, k.requiresGrad ? dk : null, v.requiresGrad ? dv : null] };
    },
  }, B, heads, Tq, Tk, W / heads, false);
}
