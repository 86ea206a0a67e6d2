// The pre-LN residual attention block shared by the text tower and the ViT:
//   x = x + out_proj(attention(in_proj(ln_1(x))))
//   x = x + c_proj(act(c_fc(ln_2(x))))
import { add, gelu, layerNorm, linear, quickGelu, recycle, selfAttention, type Tensor } from '../tensor/index.js';
import type { Activation } from './config.js';
import type { ActivationHook, ParamStore } from './params.js';

// In inference each intermediate is handed back (`recycle`) as soon as it is dead, so the next
// block reuses its storage instead of making the garbage collector run (a no-op while gradients
// are recorded: the backward pass still needs them).
export function residualBlock(p: ParamStore, prefix: string, x: Tensor, heads: number, causal: boolean, act: Activation): Tensor {
  const h = layerNorm(x, p.get(`${prefix}.ln_1.weight`), p.get(`${prefix}.ln_1.bias`));
  const qkv = linear(h, p.get(`${prefix}.attn.in_proj_weight`), p.get(`${prefix}.attn.in_proj_bias`));
  const attn = selfAttention(qkv, heads, causal);
  const attnOut = linear(attn, p.get(`${prefix}.attn.out_proj.weight`), p.get(`${prefix}.attn.out_proj.bias`));
  recycle(h, qkv, attn);
  const x1 = add(x, attnOut);
  recycle(attnOut);
  const h2 = layerNorm(x1, p.get(`${prefix}.ln_2.weight`), p.get(`${prefix}.ln_2.bias`));
  const fc = linear(h2, p.get(`${prefix}.mlp.c_fc.weight`), p.get(`${prefix}.mlp.c_fc.bias`));
  const a = act === 'quickGelu' ? quickGelu(fc) : gelu(fc);
  recycle(h2, fc);
  const mlpOut = linear(a, p.get(`${prefix}.mlp.c_proj.weight`), p.get(`${prefix}.mlp.c_proj.bias`));
  recycle(a);
  const out = add(x1, mlpOut);
  recycle(x1, mlpOut);
  return out;
}

/** `layers` residual blocks named `${prefix}.resblocks.<i>`; reports each block's output to the hook. */
export function transformer(p: ParamStore, prefix: string, x: Tensor, layers: number, heads: number, causal: boolean,
  act: Activation, hook?: ActivationHook): Tensor {
  for (let i = 0; i < layers; i++) {
    const next = residualBlock(p, `${prefix}.resblocks.${i}`, x, heads, causal, act);
    // A block's input made by the previous block is dead now, unless a hook may have kept it.
    if (i > 0 && hook === undefined) recycle(x);
    x = next;
    hook?.(`${prefix}.resblocks.${i}`, x);
  }
  return x;
}
