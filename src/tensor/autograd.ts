// Reverse-mode automatic differentiation over coarse ops.
//
// Every op that runs while gradients are enabled and has an input that requires a gradient
// records a GradNode: its inputs and a closure that maps the gradient of its output to the
// gradients of its inputs. Nodes are numbered in creation order, so the reverse of that order is
// a valid order for the backward pass (this is the "tape"; keeping it in the nodes rather than in
// a global list means an abandoned forward pass is simply garbage-collected).
//
// backward() runs the reachable nodes newest first, accumulates gradients, hands leaf gradients to
// `tensor.grad`, and drops every node's closure (and with it the saved activations) as soon as it
// has run, so memory falls during the backward pass.
import { native, type FloatArray } from './native.js';
import { recycleArray } from './buffer-pool.js';
import { Tensor, shapeString } from './tensor.js';

/**
 * Maps the gradient of an op's output to the gradients of its inputs (null where an input needs
 * none). Each returned array must be freshly allocated (or the given one, used for one input
 * only): the engine takes ownership without copying. `lastUse` is true when the graph is not
 * retained, so buffers only the closure holds (bf16 copies, attention probabilities) can be
 * recycled once used.
 */
export type BackwardFn = (gradOutput: FloatArray, lastUse: boolean) => (FloatArray | null)[];

export interface GradNode {
  readonly id: number;
  readonly op: string;
  inputs: (Tensor | null)[];
  backward: BackwardFn | null;
}

let gradEnabled = true;
let nextNodeId = 1;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (inference): no nodes, no saved activations. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Like noGrad for an async function. Recording stays off until the promise settles. */
export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return await fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Turns recording on or off (returns the previous state). Prefer noGrad(). */
export function setGradEnabled(on: boolean): boolean {
  const prev = gradEnabled;
  gradEnabled = on;
  return prev;
}

/** True when an op on these inputs must be recorded. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t != null && t.requiresGrad) return true;
  return false;
}

/**
 * Records `output` as produced by `op` from `inputs` when any input requires a gradient.
 * Returns the output for chaining.
 */
export function record(output: Tensor, op: string, inputs: (Tensor | null)[], backward: BackwardFn): Tensor {
  if (!needsGrad(...inputs)) return output;
  output.requiresGrad = true;
  output.node = { id: nextNodeId++, op, inputs, backward };
  return output;
}

function accumulate(target: FloatArray | undefined, grad: FloatArray): FloatArray {
  if (target === undefined) return grad;
  native().add(target, grad, target);
  return target;
}

export interface BackwardOptions {
  /** Keep the nodes (and saved activations) so backward can run again over the same graph. */
  retainGraph?: boolean;
}

/**
 * Back-propagates from `root`. With no `gradient`, root must hold one value (a loss) and its
 * gradient is 1. Leaf tensors that require gradients receive them in `.grad` (accumulated).
 */
export function backward(root: Tensor, gradient?: Tensor | FloatArray, options: BackwardOptions = {}): void {
  let seed: FloatArray;
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new RangeError(`backward() without a gradient needs a one-element tensor, got ${shapeString(root.shape)}`);
    }
    seed = root.dtype === 'float32' ? new Float32Array([1]) : new Float64Array([1]);
  } else {
    seed = gradient instanceof Tensor ? gradient.data.slice() : gradient.slice();
    if (seed.length !== root.size) {
      throw new RangeError(`backward(): gradient has ${seed.length} values, tensor ${shapeString(root.shape)} has ${root.size}`);
    }
    if ((seed instanceof Float32Array) !== (root.data instanceof Float32Array)) {
      throw new TypeError(`backward(): gradient dtype differs from the tensor's (${root.dtype})`);
    }
  }
  if (!root.requiresGrad) throw new Error('backward(): the tensor does not require a gradient (no input had requiresGrad, or it ran under noGrad)');
  if (root.node === null) {
    root.grad = root.grad === null ? new Tensor(seed, root.shape) : new Tensor(accumulate(root.grad.data, seed), root.shape);
    return;
  }

  // Collect reachable nodes.
  const nodes: GradNode[] = [];
  const seen = new Set<GradNode>();
  const stack: GradNode[] = [root.node];
  seen.add(root.node);
  while (stack.length > 0) {
    const n = stack.pop() as GradNode;
    nodes.push(n);
    for (const t of n.inputs) {
      if (t !== null && t.node !== null && !seen.has(t.node)) {
        seen.add(t.node);
        stack.push(t.node);
      }
    }
  }
  nodes.sort((a, b) => b.id - a.id);

  const grads = new Map<GradNode, FloatArray>();
  grads.set(root.node, seed);
  for (const n of nodes) {
    const g = grads.get(n);
    grads.delete(n);
    if (g === undefined) continue; // not on a path from the root
    if (n.backward === null) {
      throw new Error(`backward(): the graph through op "${n.op}" was already freed; pass { retainGraph: true } to the first backward()`);
    }
    const inputGrads = n.backward(g, options.retainGraph !== true);
    // Buffers still in use after this node: its input gradients (several may view one buffer, or
    // one may be `g` itself). Any other gradient buffer that dies here goes back to the pool.
    const views = new Map<ArrayBufferLike, number>();
    for (const gi of inputGrads) if (gi != null) views.set(gi.buffer, (views.get(gi.buffer) ?? 0) + 1);
    for (let i = 0; i < n.inputs.length; i++) {
      const t = n.inputs[i];
      const gi = inputGrads[i];
      if (t === null || gi === null || gi === undefined || !t.requiresGrad) continue;
      if (gi.length !== t.size) {
        throw new Error(`internal: op "${n.op}" returned a gradient of ${gi.length} values for input ${i} of shape ${shapeString(t.shape)}`);
      }
      const target = t.node !== null ? grads.get(t.node) : t.grad?.data;
      const sum = accumulate(target, gi);
      if (t.node !== null) grads.set(t.node, sum);
      else t.grad = new Tensor(sum, t.shape);
      if (sum !== gi && views.get(gi.buffer) === 1) recycleArray(gi); // added into another buffer
    }
    if (!views.has(g.buffer) && g !== seed) recycleArray(g);
    if (options.retainGraph !== true) {
      n.backward = null;
      n.inputs = [];
    }
  }
}
