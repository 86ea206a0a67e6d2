// AdamW (Loshchilov & Hutter 2019): Adam with weight decay applied to the parameters directly
// instead of through the gradient, in PyTorch 1.13's order (native/optim.cc does one fused pass
// per tensor):
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
// CLIP's settings are the defaults: β = (0.9, 0.98), ε = 1e-6 (the paper lowers β2 from 0.999 for
// stability with large batches).
import { native, recycleArray, type FloatArray, type Tensor } from '../tensor/index.js';
import type { ParamGroup } from './param-groups.js';

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
}

/** Moments and step count of one parameter (allocated at its first update, like PyTorch's state). */
export interface AdamWParamState {
  /** First moment (exp_avg). */
  m: FloatArray;
  /** Second moment (exp_avg_sq). */
  v: FloatArray;
  /** Updates applied so far (PyTorch counts per parameter: one without a gradient is skipped). */
  step: number;
}

export class AdamW {
  readonly groups: readonly ParamGroup[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** By parameter name. */
  readonly state = new Map<string, AdamWParamState>();

  constructor(groups: readonly ParamGroup[], opts: AdamWOptions = {}) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.98;
    this.eps = opts.eps ?? 1e-6;
    for (const [what, b] of [['beta1', this.beta1], ['beta2', this.beta2]] as const) {
      if (!(b >= 0 && b < 1)) throw new RangeError(`AdamW: ${what} must be in [0, 1), got ${b}`);
    }
    if (!(this.eps > 0)) throw new RangeError(`AdamW: eps must be positive, got ${this.eps}`);
    const seen = new Set<string>();
    for (const g of groups) {
      for (const [name] of g.params) {
        if (seen.has(name)) throw new Error(`AdamW: parameter ${name} is in two groups`);
        seen.add(name);
      }
    }
    this.groups = groups;
  }

  /** Every optimised parameter, group by group. */
  *parameters(): Generator<[string, Tensor]> {
    for (const g of this.groups) yield* g.params;
  }

  /**
   * Clears the gradients (PyTorch's `zero_grad(set_to_none=True)`): backward() then hands each
   * parameter a fresh array instead of adding into a zeroed one.
   */
  /**
   * Clears every gradient. With `recycle`, the gradient buffers go back to the tensor buffer pool
   * for the next backward pass (a ViT-B/32 step's weight gradients are 600 MB that would otherwise
   * be faulted in afresh): only when nothing still holds a reference to the old `.grad` arrays.
   */
  zeroGrad(opts: { recycle?: boolean } = {}): void {
    for (const [, t] of this.parameters()) {
      if (opts.recycle === true && t.grad !== null) recycleArray(t.grad.data);
      t.grad = null;
    }
  }

  /** One update of every parameter that has a gradient, with learning rate `lr`. */
  step(lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new RangeError(`AdamW: learning rate must be a non-negative number, got ${lr}`);
    const nat = native();
    for (const g of this.groups) {
      for (const [name, p] of g.params) {
        if (p.grad === null) continue;
        let s = this.state.get(name);
        if (s === undefined) {
          const zeros = (): FloatArray => (p.data instanceof Float64Array ? new Float64Array(p.size) : new Float32Array(p.size));
          s = { m: zeros(), v: zeros(), step: 0 };
          this.state.set(name, s);
        }
        s.step++;
        nat.adamw(p.data, p.grad.data, s.m, s.v, lr, this.beta1, this.beta2, this.eps, g.weightDecay, s.step);
      }
    }
  }
}
