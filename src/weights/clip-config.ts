// The CLIP hyper-parameters implied by a state dict in OpenAI's key names, and the exact set of
// keys and shapes such a state dict must have.
//
// OpenAI's build_model derives the configuration from tensor shapes (see the fixtures README,
// "Hyper-parameters come from the tensor shapes"); this follows the same rules, including the
// head counts (width / 64 for both transformers, width * 32 / 64 for the ResNet attention pool).
import { CheckpointError } from './errors.js';

export interface VitVisionConfig {
  readonly kind: 'vit';
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly patchSize: number;
  /** Patches per side. */
  readonly grid: number;
  readonly imageResolution: number;
}

export interface ResNetVisionConfig {
  readonly kind: 'resnet';
  /** Stem width; stage s has planes = width * 2^s and outputs 4 * planes channels. */
  readonly width: number;
  /** Bottleneck blocks per stage. */
  readonly layers: readonly [number, number, number, number];
  /** Attention-pool heads (width * 32 / 64). */
  readonly heads: number;
  readonly imageResolution: number;
}

export interface TextConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly contextLength: number;
  readonly vocabSize: number;
}

export interface ClipConfig {
  readonly embedDim: number;
  readonly vision: VitVisionConfig | ResNetVisionConfig;
  readonly text: TextConfig;
}

interface Shaped {
  readonly shape: readonly number[];
}

/** Keys that OpenAI's files carry but the model does not need. */
export const OPTIONAL_OPENAI_KEYS: ReadonlySet<string> = new Set(['input_resolution', 'context_length', 'vocab_size']);

/** Highest index + 1 among keys `${prefix}<k>.` (the layer count), 0 when there are none. */
function countIndexed(keys: Iterable<string>, prefix: string): number {
  const seen = new Set<number>();
  for (const k of keys) {
    if (!k.startsWith(prefix)) continue;
    const rest = k.slice(prefix.length);
    const dot = rest.indexOf('.');
    const idx = Number(dot < 0 ? rest : rest.slice(0, dot));
    if (Number.isInteger(idx) && idx >= 0) seen.add(idx);
  }
  return seen.size === 0 ? 0 : Math.max(...seen) + 1;
}

/**
 * Infers the configuration from a state dict in OpenAI's names. `file` names the source in errors.
 */
export function inferClipConfig(state: ReadonlyMap<string, Shaped>, file: string): ClipConfig {
  const shape = (key: string, dims: number): readonly number[] => {
    const e = state.get(key);
    if (e === undefined) throw new CheckpointError(file, `missing key ${key}, needed to infer the model configuration`);
    if (e.shape.length !== dims) {
      throw new CheckpointError(file, `key ${key} has shape [${e.shape.join(', ')}], expected ${dims} dimensions`);
    }
    return e.shape;
  };
  const keys = [...state.keys()];
  const [textWidthFromProj, embedDim] = shape('text_projection', 2);
  const [contextLength, textWidth] = shape('positional_embedding', 2);
  const [vocabSize] = shape('token_embedding.weight', 2);
  const text: TextConfig = {
    width: textWidth,
    layers: countIndexed(keys, 'transformer.resblocks.'),
    heads: Math.floor(textWidth / 64),
    contextLength,
    vocabSize,
  };
  if (textWidthFromProj !== textWidth) {
    throw new CheckpointError(file, `text_projection is [${textWidthFromProj}, ${embedDim}] but the text width is ${textWidth}`);
  }

  let vision: VitVisionConfig | ResNetVisionConfig;
  if (state.has('visual.proj')) {
    const [width, , patchSize] = shape('visual.conv1.weight', 4);
    const [positions] = shape('visual.positional_embedding', 2);
    const grid = Math.round(Math.sqrt(positions - 1));
    vision = {
      kind: 'vit',
      width,
      layers: countIndexed(keys, 'visual.transformer.resblocks.'),
      heads: Math.floor(width / 64),
      patchSize,
      grid,
      imageResolution: patchSize * grid,
    };
  } else if (state.has('visual.layer1.0.conv1.weight')) {
    const [width] = shape('visual.layer1.0.conv1.weight', 4);
    const [positions] = shape('visual.attnpool.positional_embedding', 2);
    const layers = [1, 2, 3, 4].map((s) => countIndexed(keys, `visual.layer${s}.`)) as [number, number, number, number];
    vision = {
      kind: 'resnet',
      width,
      layers,
      heads: Math.floor((width * 32) / 64),
      imageResolution: 32 * Math.round(Math.sqrt(positions - 1)),
    };
  } else {
    throw new CheckpointError(file, 'cannot tell the image tower: neither visual.proj (ViT) nor visual.layer1.0.conv1.weight (ModifiedResNet) is present');
  }
  return { embedDim, vision, text };
}

function residualBlockShapes(out: Map<string, number[]>, prefix: string, w: number): void {
  out.set(`${prefix}attn.in_proj_weight`, [3 * w, w]);
  out.set(`${prefix}attn.in_proj_bias`, [3 * w]);
  out.set(`${prefix}attn.out_proj.weight`, [w, w]);
  out.set(`${prefix}attn.out_proj.bias`, [w]);
  out.set(`${prefix}ln_1.weight`, [w]);
  out.set(`${prefix}ln_1.bias`, [w]);
  out.set(`${prefix}mlp.c_fc.weight`, [4 * w, w]);
  out.set(`${prefix}mlp.c_fc.bias`, [4 * w]);
  out.set(`${prefix}mlp.c_proj.weight`, [w, 4 * w]);
  out.set(`${prefix}mlp.c_proj.bias`, [w]);
  out.set(`${prefix}ln_2.weight`, [w]);
  out.set(`${prefix}ln_2.bias`, [w]);
}

function batchNormShapes(out: Map<string, number[]>, prefix: string, c: number): void {
  for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.set(`${prefix}.${p}`, [c]);
  out.set(`${prefix}.num_batches_tracked`, []);
}

/** BatchNorm's step counter: kept when present, not required (the model never reads it). */
export function isOptionalOpenAIKey(key: string): boolean {
  return OPTIONAL_OPENAI_KEYS.has(key) || key.endsWith('.num_batches_tracked');
}

/**
 * Every key an OpenAI-format state dict of this configuration has, with its shape, in OpenAI's
 * order (`logit_scale` is a 0-dim tensor).
 */
export function expectedOpenAIShapes(cfg: ClipConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const t = cfg.text;
  const e = cfg.embedDim;
  out.set('positional_embedding', [t.contextLength, t.width]);
  out.set('text_projection', [t.width, e]);
  out.set('logit_scale', []);
  const v = cfg.vision;
  if (v.kind === 'vit') {
    out.set('visual.class_embedding', [v.width]);
    out.set('visual.positional_embedding', [v.grid * v.grid + 1, v.width]);
    out.set('visual.proj', [v.width, e]);
    out.set('visual.conv1.weight', [v.width, 3, v.patchSize, v.patchSize]);
    out.set('visual.ln_pre.weight', [v.width]);
    out.set('visual.ln_pre.bias', [v.width]);
    for (let i = 0; i < v.layers; i++) residualBlockShapes(out, `visual.transformer.resblocks.${i}.`, v.width);
    out.set('visual.ln_post.weight', [v.width]);
    out.set('visual.ln_post.bias', [v.width]);
  } else {
    const w = v.width;
    out.set('visual.conv1.weight', [w / 2, 3, 3, 3]);
    batchNormShapes(out, 'visual.bn1', w / 2);
    out.set('visual.conv2.weight', [w / 2, w / 2, 3, 3]);
    batchNormShapes(out, 'visual.bn2', w / 2);
    out.set('visual.conv3.weight', [w, w / 2, 3, 3]);
    batchNormShapes(out, 'visual.bn3', w);
    let inplanes = w;
    for (let s = 0; s < 4; s++) {
      const planes = w * 2 ** s;
      for (let b = 0; b < v.layers[s]; b++) {
        const p = `visual.layer${s + 1}.${b}`;
        const cin = b === 0 ? inplanes : planes * 4;
        out.set(`${p}.conv1.weight`, [planes, cin, 1, 1]);
        batchNormShapes(out, `${p}.bn1`, planes);
        out.set(`${p}.conv2.weight`, [planes, planes, 3, 3]);
        batchNormShapes(out, `${p}.bn2`, planes);
        out.set(`${p}.conv3.weight`, [planes * 4, planes, 1, 1]);
        batchNormShapes(out, `${p}.bn3`, planes * 4);
        // The first block of every stage changes the channel count (and, after stage 1, the
        // resolution), so it always has the pooled 1x1-conv shortcut.
        if (b === 0) {
          out.set(`${p}.downsample.0.weight`, [planes * 4, cin, 1, 1]);
          batchNormShapes(out, `${p}.downsample.1`, planes * 4);
        }
      }
      inplanes = planes * 4;
    }
    const c = w * 32;
    const grid = v.imageResolution / 32;
    out.set('visual.attnpool.positional_embedding', [grid * grid + 1, c]);
    for (const proj of ['k_proj', 'q_proj', 'v_proj']) {
      out.set(`visual.attnpool.${proj}.weight`, [c, c]);
      out.set(`visual.attnpool.${proj}.bias`, [c]);
    }
    out.set('visual.attnpool.c_proj.weight', [e, c]);
    out.set('visual.attnpool.c_proj.bias', [e]);
  }
  for (let i = 0; i < t.layers; i++) residualBlockShapes(out, `transformer.resblocks.${i}.`, t.width);
  out.set('token_embedding.weight', [t.vocabSize, t.width]);
  out.set('ln_final.weight', [t.width]);
  out.set('ln_final.bias', [t.width]);
  return out;
}
