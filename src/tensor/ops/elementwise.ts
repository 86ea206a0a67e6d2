// Elementwise ops: add (with suffix broadcasting), mul, scale, activations, exp.
import { record } from '../autograd.js';
import { native, type FloatArray } from '../native.js';
import { Tensor, allocate, allocateUninitialized, checkSameDType, checkSameShape, shapeString } from '../tensor.js';

/** True when `b`'s shape is a suffix of `a`'s (b is repeated over a's leading dimensions). */
function isSuffix(a: Tensor, b: Tensor): boolean {
  if (b.rank > a.rank) return false;
  const off = a.rank - b.rank;
  return b.shape.every((d, i) => d === a.shape[off + i]);
}

/**
 * a + b. `b` may have the shape of a trailing part of `a` (positional embeddings [T, W] added to
 * [B, T, W], biases); its gradient is then summed over the repeated dimensions.
 */
export function add(a: Tensor, b: Tensor): Tensor {
  checkSameDType('add', a, b);
  if (!isSuffix(a, b)) throw new RangeError(`add: shape mismatch: ${shapeString(a.shape)} vs ${shapeString(b.shape)} (the second must match the trailing dimensions of the first)`);
  const nat = native();
  const out = allocateUninitialized(a.dtype, a.size);
  if (a.size === b.size) {
    nat.add(a.data, b.data, out);
  } else {
    out.set(a.data);
    nat.addBias(out, b.data, a.size / b.size, b.size);
  }
  return record(new Tensor(out, a.shape), 'add', [a, b], (g) => {
    let gb: FloatArray | null = null;
    if (b.requiresGrad) {
      if (a.size === b.size) gb = g.slice();
      else {
        gb = allocate(b.dtype, b.size);
        nat.sumRows(g, a.size / b.size, b.size, gb, false);
      }
    }
    return [a.requiresGrad ? g : null, gb];
  });
}

/** a ⊙ b, same shapes. */
export function mul(a: Tensor, b: Tensor): Tensor {
  checkSameShape('mul', a, b);
  const nat = native();
  const out = allocateUninitialized(a.dtype, a.size);
  nat.mul(a.data, b.data, out);
  return record(new Tensor(out, a.shape), 'mul', [a, b], (g) => {
    let ga = null;
    let gb = null;
    if (a.requiresGrad) {
      ga = allocateUninitialized(a.dtype, a.size);
      nat.mul(g, b.data, ga);
    }
    if (b.requiresGrad) {
      gb = allocateUninitialized(b.dtype, b.size);
      nat.mul(g, a.data, gb);
    }
    return [ga, gb];
  });
}

/** s·x for a constant s. */
export function scale(x: Tensor, s: number): Tensor {
  const nat = native();
  const out = allocateUninitialized(x.dtype, x.size);
  nat.scale(x.data, s, out);
  return record(new Tensor(out, x.shape), 'scale', [x], (g) => {
    const gx = allocateUninitialized(x.dtype, x.size);
    nat.scale(g, s, gx);
    return [gx];
  });
}

/** s·x where s is a one-element tensor (the learnable logit scale, after exp). */
export function mulScalar(x: Tensor, s: Tensor): Tensor {
  checkSameDType('mulScalar', x, s);
  if (s.size !== 1) throw new RangeError(`mulScalar: shape mismatch: ${shapeString(x.shape)} vs ${shapeString(s.shape)} (the scalar must have one element)`);
  const nat = native();
  const sv = s.data[0];
  const out = allocateUninitialized(x.dtype, x.size);
  nat.scale(x.data, sv, out);
  return record(new Tensor(out, x.shape), 'mulScalar', [x, s], (g) => {
    let gx = null;
    let gs = null;
    if (x.requiresGrad) {
      gx = allocateUninitialized(x.dtype, x.size);
      nat.scale(g, sv, gx);
    }
    if (s.requiresGrad) {
      gs = allocate(s.dtype, 1);
      let acc = 0;
      for (let i = 0; i < g.length; i++) acc += g[i] * x.data[i];
      gs[0] = acc;
    }
    return [gx, gs];
  });
}

/** e^x, elementwise (used on small tensors such as the logit scale). */
export function exp(x: Tensor): Tensor {
  const out = allocateUninitialized(x.dtype, x.size);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(x.data[i]);
  return record(new Tensor(out, x.shape), 'exp', [x], (g) => {
    const gx = allocate(x.dtype, x.size);
    for (let i = 0; i < gx.length; i++) gx[i] = g[i] * out[i];
    return [gx];
  });
}

type Activation = 'quickGelu' | 'gelu' | 'relu';

function activation(x: Tensor, kind: Activation): Tensor {
  const nat = native();
  const out = allocateUninitialized(x.dtype, x.size);
  if (kind === 'quickGelu') nat.quickGelu(x.data, out);
  else if (kind === 'gelu') nat.gelu(x.data, out);
  else nat.relu(x.data, out);
  return record(new Tensor(out, x.shape), kind, [x], (g) => {
    const gx = allocateUninitialized(x.dtype, x.size);
    if (kind === 'quickGelu') nat.quickGeluBackward(x.data, g, gx);
    else if (kind === 'gelu') nat.geluBackward(x.data, g, gx);
    else nat.reluBackward(x.data, g, gx);
    return [gx];
  });
}

/** x·σ(1.702x), the activation of OpenAI's CLIP models. */
export function quickGelu(x: Tensor): Tensor {
  return activation(x, 'quickGelu');
}

/** The exact GELU, x·Φ(x) (open_clip models trained with nn.GELU). */
export function gelu(x: Tensor): Tensor {
  return activation(x, 'gelu');
}

export function relu(x: Tensor): Tensor {
  return activation(x, 'relu');
}
