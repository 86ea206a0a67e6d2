// OpenAI's ModifiedResNet image tower: a 3-convolution stem, bottleneck stages that downsample by
// average pooling (anti-aliasing) instead of strided convolutions, and attention pooling.
import {
  add, attention, avgPool2d, cat, conv2dBatchNorm, linear, meanSpatial, narrow, recycle, reshape, transpose, type Tensor,
} from '../tensor/index.js';
import type { ResNetConfig } from './config.js';
import type { ActivationHook, ParamStore } from './params.js';

interface ConvBnTail {
  /** Added after the batch norm (the bottleneck's identity branch). */
  residual?: Tensor;
  relu?: boolean;
}

/**
 * conv (no bias) → batch norm [→ + residual] [→ ReLU], with OpenAI's key names `${conv}.weight`
 * and `${bn}.*`. At inference (running statistics) this is one fused kernel; training keeps the
 * separate ops (batch statistics, autograd).
 */
function convBn(p: ParamStore, conv: string, bn: string, x: Tensor, stride: number, padding: number, training: boolean,
  tail: ConvBnTail = {}): Tensor {
  const state = {
    weight: p.get(`${bn}.weight`), bias: p.get(`${bn}.bias`),
    runningMean: p.get(`${bn}.running_mean`), runningVar: p.get(`${bn}.running_var`),
  };
  return conv2dBatchNorm(x, p.get(`${conv}.weight`), null, state, { stride, padding, training, residual: tail.residual, relu: tail.relu });
}

// At inference every intermediate is handed back (`recycle`, a no-op while gradients are recorded)
// once dead, so the next activation of its size reuses already-mapped memory.
function bottleneck(p: ParamStore, prefix: string, x: Tensor, stride: number, training: boolean): Tensor {
  const a = convBn(p, `${prefix}.conv1`, `${prefix}.bn1`, x, 1, 0, training, { relu: true });
  let b = convBn(p, `${prefix}.conv2`, `${prefix}.bn2`, a, 1, 1, training, { relu: true });
  recycle(a);
  if (stride > 1) {
    const pooled = avgPool2d(b, stride);
    recycle(b);
    b = pooled;
  }
  let identity = x;
  if (p.has(`${prefix}.downsample.0.weight`)) {
    const src = stride > 1 ? avgPool2d(x, stride) : x;
    identity = convBn(p, `${prefix}.downsample.0`, `${prefix}.downsample.1`, src, 1, 0, training);
    if (src !== x) recycle(src);
  }
  const out = convBn(p, `${prefix}.conv3`, `${prefix}.bn3`, b, 1, 0, training, { residual: identity, relu: true });
  recycle(b);
  if (identity !== x) recycle(identity);
  return out;
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
  const s1 = convBn(p, 'visual.conv1', 'visual.bn1', images, 2, 1, training, { relu: true });
  const s2 = convBn(p, 'visual.conv2', 'visual.bn2', s1, 1, 1, training, { relu: true });
  recycle(s1);
  const s3 = convBn(p, 'visual.conv3', 'visual.bn3', s2, 1, 1, training, { relu: true });
  recycle(s2);
  let x = avgPool2d(s3, 2);
  recycle(s3);
  hook?.('visual.avgpool', x);
  for (let s = 0; s < 4; s++) {
    for (let b = 0; b < cfg.layers[s]; b++) {
      const next = bottleneck(p, `visual.layer${s + 1}.${b}`, x, b === 0 && s > 0 ? 2 : 1, training);
      // A block's input is ours to release unless a hook may have kept it.
      if (hook === undefined) recycle(x);
      x = next;
    }
    hook?.(`visual.layer${s + 1}`, x);
  }
  const out = attentionPool(p, x, cfg.heads);
  hook?.('visual.attnpool', out);
  return out;
}
