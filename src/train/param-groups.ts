// Which parameters get weight decay. CLIP (and open_clip after it) decays only the weight
// matrices: gains, biases and the other one-dimensional tensors, the embeddings (token, positional,
// class) and the temperature are left alone, since shrinking them towards zero has no
// regularising meaning (a LayerNorm gain of 0 is not "simpler" than 1, and decaying logit_scale
// would pull the temperature to 1).
import type { Tensor } from '../tensor/index.js';
import type { ParamStore } from '../model/params.js';

/** One optimiser group: named parameters sharing a weight decay. */
export interface ParamGroup {
  name: string;
  weightDecay: number;
  params: [string, Tensor][];
}

/** True for parameters trained without weight decay (rank < 2, embeddings, logit_scale). */
export function isNoDecayParam(name: string, shape: readonly number[]): boolean {
  return shape.length < 2 || name.includes('embedding') || name === 'logit_scale';
}

export interface ParamGroupOptions {
  /** Decay of the weight matrices. Default 0.2 (the CLIP paper's value for its largest runs). */
  weightDecay?: number;
  /** Only parameters for which this is true are trained (fine-tuning part of a model). Default: all. */
  trainable?: (name: string) => boolean;
}

/**
 * The two groups of the model's trainable parameters (buffers such as BatchNorm statistics are
 * not parameters), in the store's order: `decay` and `no_decay`. Marks the chosen parameters as
 * requiring gradients and the others as not.
 */
export function paramGroups(params: ParamStore, opts: ParamGroupOptions = {}): ParamGroup[] {
  const wd = opts.weightDecay ?? 0.2;
  if (!(wd >= 0) || !Number.isFinite(wd)) throw new RangeError(`weight decay must be a non-negative number, got ${wd}`);
  const trainable = opts.trainable ?? (() => true);
  const decay: [string, Tensor][] = [];
  const noDecay: [string, Tensor][] = [];
  for (const [name, t] of params.parameters()) {
    const on = trainable(name);
    t.requiresGrad = on;
    if (!on) continue;
    (isNoDecayParam(name, t.shape) ? noDecay : decay).push([name, t]);
  }
  if (decay.length + noDecay.length === 0) throw new Error('no trainable parameters (the trainable filter matched none)');
  return [
    { name: 'decay', weightDecay: wd, params: decay },
    { name: 'no_decay', weightDecay: 0, params: noDecay },
  ];
}
