// The model's tensors by name. Names are OpenAI's state-dict keys (e.g.
// "visual.transformer.resblocks.0.attn.in_proj_weight"), so loading and saving checkpoints is a
// direct mapping and the forward code reads like OpenAI's model.py.
import type { Tensor } from '../tensor/index.js';

export class ParamStore {
  private readonly tensors = new Map<string, Tensor>();
  /** Names of non-trainable buffers (BatchNorm running statistics). */
  private readonly buffers = new Set<string>();

  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (t === undefined) throw new Error(`model has no parameter ${name}`);
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** Adds or replaces a tensor (`buffer`: state such as BatchNorm statistics, not trained). */
  set(name: string, t: Tensor, opts: { buffer?: boolean } = {}): void {
    t.name = name;
    this.tensors.set(name, t);
    if (opts.buffer === true) this.buffers.add(name);
    else this.buffers.delete(name);
  }

  isBuffer(name: string): boolean {
    return this.buffers.has(name);
  }

  /** Every tensor, parameters and buffers, in insertion order. */
  entries(): [string, Tensor][] {
    return [...this.tensors.entries()];
  }

  /** Trainable parameters only. */
  parameters(): [string, Tensor][] {
    return this.entries().filter(([n]) => !this.buffers.has(n));
  }

  /** Marks every parameter (not buffers) as requiring gradients, or not. */
  setRequiresGrad(on: boolean, filter: (name: string) => boolean = () => true): void {
    for (const [n, t] of this.parameters()) if (filter(n)) t.requiresGrad = on;
  }

  get count(): number {
    let n = 0;
    for (const [, t] of this.parameters()) n += t.size;
    return n;
  }
}

/** Receives intermediate activations by name (debugging, fixture comparisons). */
export type ActivationHook = (name: string, value: Tensor) => void;
