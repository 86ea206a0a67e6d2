// OpenAI's ModifiedResNet image tower: a 3-convolution stem, bottleneck stages that downsample by
// average pooling (anti-aliasing) instead of strided convolutions, and attention pooling.
import {
  add, attention, avgPool2d, batchNorm, cat, conv2d, linear, meanSpatial, narrow, relu, reshape, transpose, type Tensor,
} from '../tensor/index.js';
import type { ResNetConfig } from './config.js';
import type { ActivationHook, ParamStore } from './params.js';

/** conv (no bias) → batch norm, with OpenAI's key names `${conv}.weight` and `${bn}.*`. */
function convBn(p: ParamStore, conv: string, bn: string, x: Tensor, stride: number, padding: number, training: boolean): Tensor {
  const y = conv2d(x, p.get(`${conv}.weight`), null, { stride, padding });
  return batchNorm(y, {
    weight: p.get(`${bn}.weight`), bias: p.get(`${bn}.bias`),
    runningMean: p.get(`${bn}.running_mean`), runningVar: p.get(`${bn}.running_var`),
  }, training);
}

function bottleneck(p: ParamStore, prefix: string, x: Tensor, stride: number, training: boolean): Tensor {
  let out = relu(convBn(p, `${prefix}.conv1`, `${prefix}.bn1`, x, 1, 0, training));
  out = relu(convBn(p, `${prefix}.conv2`, `${prefix}.bn2`, out, 1, 1, training));
  if (stride > 1) out = avgPool2d(out, stride);
  out = convBn(p, `${prefix}.conv3`, `${prefix}.bn3`, out, 1, 0, training);
  let identity = x;
  if (p.has(`${prefix}.downsample.0.weight`)) {
    if (stride > 1) identity = avgPool2d(identity, stride);
    identity = convBn(p, `${prefix}.downsample.0`, `${prefix}.downsample.1`, identity, 1, 0, training);
  }
  return relu(add(out, identity));
}

/** Attention pooling: the mean token queries all 1 + H·W tokens (with positions); one layer. */
function attentionPool(p: ParamStore, x: Tensor, heads: number): Tensor {
  const [N, C, H, W] = x.shape;
  const tokens = transpose(reshape(x, [N, C, H * W])); // [N, HW, C]
  const meanToken = reshape(meanSpatial(x), [N, 1, C]);
  let seq = cat([meanToken, tokens], 1); // [N, 1 + HW, C]
  seq = add(seq, p.get('visual.attnpool.positional_embedding'));
  const query = narrow(seq, 1, 0, 1);
  const q = linear(query, p.get('visual.attnpool.q_proj.weight'), p.get('visual.attnpool.q_proj.bias'));
  const k = linear(seq, p.get('visual.attnpool.k_proj.weight'), p.get('visual.attnpool.k_proj.bias'));
  const v = linear(seq, p.get('visual.attnpool.v_proj.weight'), p.get('visual.attnpool.v_proj.bias'));
  const pooled = attention(q, k, v, heads); // [N, 1, C]
  const out = linear(pooled, p.get('visual.attnpool.c_proj.weight'), p.get('visual.attnpool.c_proj.bias'));
  return reshape(out, [N, out.dim(-1)]);
}

/** images: [B, 3, S, S] → image features [B, embed]. `training` switches batch norm to batch statistics. */
export function encodeImageResNet(p: ParamStore, cfg: ResNetConfig, images: Tensor, training: boolean, hook?: ActivationHook): Tensor {
  let x = relu(convBn(p, 'visual.conv1', 'visual.bn1', images, 2, 1, training));
  x = relu(convBn(p, 'visual.conv2', 'visual.bn2', x, 1, 1, training));
  x = relu(convBn(p, 'visual.conv3', 'visual.bn3', x, 1, 1, training));
  x = avgPool2d(x, 2);
  hook?.('visual.avgpool', x);
  for (let s = 0; s < 4; s++) {
    for (let b = 0; b < cfg.layers[s]; b++) {
      x = bottleneck(p, `visual.layer${s + 1}.${b}`, x, b === 0 && s > 0 ? 2 : 1, training);
    }
    hook?.(`visual.layer${s + 1}`, x);
  }
  const out = attentionPool(p, x, cfg.heads);
  hook?.('visual.attnpool', out);
  return out;
}
