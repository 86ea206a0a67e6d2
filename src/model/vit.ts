// The vision Transformer image tower: patches → class token + positions → ln_pre → blocks →
// ln_post of the class token → projection.
import { add, cat, conv2d, expand, layerNorm, matmul, reshape, selectRows, transpose, type Tensor } from '../tensor/index.js';
import type { Activation, VitConfig } from './config.js';
import type { ActivationHook, ParamStore } from './params.js';
import { transformer } from './transformer.js';

/** images: [B, 3, S, S] preprocessed → image features [B, embed] (not normalised). */
export function encodeImageVit(p: ParamStore, cfg: VitConfig, act: Activation, images: Tensor, hook?: ActivationHook): Tensor {
  // A convolution with kernel = stride = patch is the patch embedding.
  let x = conv2d(images, p.get('visual.conv1.weight'), null, { stride: cfg.patchSize });
  hook?.('visual.conv1', x);
  const [B, W, gh, gw] = x.shape;
  x = transpose(reshape(x, [B, W, gh * gw])); // [B, grid², W]
  const cls = expand(reshape(p.get('visual.class_embedding'), [1, W]), [B]); // [B, 1, W]
  x = cat([cls, x], 1);
  x = add(x, p.get('visual.positional_embedding'));
  x = layerNorm(x, p.get('visual.ln_pre.weight'), p.get('visual.ln_pre.bias'));
  hook?.('visual.ln_pre', x);
  x = transformer(p, 'visual.transformer', x, cfg.layers, cfg.heads, false, act, hook);
  const T = x.dim(1);
  const classRows = Int32Array.from({ length: B }, (_, b) => b * T);
  let c = selectRows(x, classRows);
  c = layerNorm(c, p.get('visual.ln_post.weight'), p.get('visual.ln_post.bias'));
  hook?.('visual.ln_post', c);
  return matmul(c, p.get('visual.proj'));
}
