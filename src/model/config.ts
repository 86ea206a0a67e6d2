// CLIP hyper-parameters as the model code uses them. The architecture itself is read off a
// checkpoint's tensor shapes by the weights layer (inferClipConfig, OpenAI's build_model rules);
// this adds the one thing shapes cannot tell, the activation, and converts between the two forms.
import type { ClipConfig as CheckpointConfig } from '../weights/clip-config.js';

export interface VitConfig {
  kind: 'vit';
  imageSize: number;
  patchSize: number;
  width: number;
  layers: number;
  heads: number;
}

export interface ResNetConfig {
  kind: 'resnet';
  imageSize: number;
  /** Bottleneck blocks in each of the four stages (RN50: [3, 4, 6, 3]). */
  layers: [number, number, number, number];
  width: number;
  /** Heads of the attention pool (width·32/64). */
  heads: number;
}

export interface TextConfig {
  contextLength: number;
  vocabSize: number;
  width: number;
  layers: number;
  heads: number;
}

export type Activation = 'quickGelu' | 'gelu';

export interface ClipConfig {
  embedDim: number;
  vision: VitConfig | ResNetConfig;
  text: TextConfig;
  /** OpenAI's models use QuickGELU; most open_clip models trained from scratch use exact GELU. */
  activation: Activation;
}

/** The model's config for the architecture a checkpoint's shapes imply. */
export function fromCheckpointConfig(c: CheckpointConfig, activation: Activation = 'quickGelu'): ClipConfig {
  const v = c.vision;
  const vision: VitConfig | ResNetConfig = v.kind === 'vit'
    ? { kind: 'vit', imageSize: v.imageResolution, patchSize: v.patchSize, width: v.width, layers: v.layers, heads: v.heads }
    : { kind: 'resnet', imageSize: v.imageResolution, layers: [...v.layers] as [number, number, number, number], width: v.width, heads: v.heads };
  return { embedDim: c.embedDim, vision, text: { ...c.text }, activation };
}

/** The weights layer's description of the same architecture (for expected keys and shapes). */
export function toCheckpointConfig(c: ClipConfig): CheckpointConfig {
  const v = c.vision;
  const vision: CheckpointConfig['vision'] = v.kind === 'vit'
    ? { kind: 'vit', width: v.width, layers: v.layers, heads: v.heads, patchSize: v.patchSize, grid: v.imageSize / v.patchSize, imageResolution: v.imageSize }
    : { kind: 'resnet', width: v.width, layers: v.layers, heads: v.heads, imageResolution: v.imageSize };
  return { embedDim: c.embedDim, vision, text: { ...c.text } };
}

/** Human-readable one-liner, e.g. "ViT width 768, 12 layers, patch 32 @224px; text width 512, ...". */
export function describeConfig(c: ClipConfig): string {
  const v = c.vision.kind === 'vit'
    ? `ViT width ${c.vision.width}, ${c.vision.layers} layers, patch ${c.vision.patchSize}`
    : `ResNet width ${c.vision.width}, blocks [${c.vision.layers.join(', ')}]`;
  return `${v} @${c.vision.imageSize}px; text width ${c.text.width}, ${c.text.layers} layers, context ${c.text.contextLength}; embed ${c.embedDim}; ${c.activation}`;
}
