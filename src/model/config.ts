// CLIP hyper-parameters, and how to read them off a state dict's tensor shapes the way OpenAI's
// build_model does (so every published checkpoint loads without a separate config file).

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

export interface ShapeSource {
  has(key: string): boolean;
  shape(key: string): readonly number[];
  keys(): Iterable<string>;
}

function need(src: ShapeSource, key: string): readonly number[] {
  if (!src.has(key)) throw new Error(`checkpoint is missing ${key}, needed to infer the model configuration`);
  return src.shape(key);
}

/** Counts distinct values of the capture group of `re` among the keys. */
function countDistinct(src: ShapeSource, re: RegExp): number {
  const seen = new Set<string>();
  for (const k of src.keys()) {
    const m = re.exec(k);
    if (m !== null) seen.add(m[1]);
  }
  return seen.size;
}

/** OpenAI's build_model, on shapes: ViT if visual.proj exists, else ModifiedResNet. */
export function configFromShapes(src: ShapeSource, activation: Activation = 'quickGelu'): ClipConfig {
  let vision: VitConfig | ResNetConfig;
  if (src.has('visual.proj')) {
    const conv = need(src, 'visual.conv1.weight');
    const width = conv[0];
    const patchSize = conv[conv.length - 1];
    const layers = countDistinct(src, /^visual\.transformer\.resblocks\.(\d+)\.attn\.in_proj_weight$/);
    const grid = Math.round(Math.sqrt(need(src, 'visual.positional_embedding')[0] - 1));
    vision = { kind: 'vit', imageSize: patchSize * grid, patchSize, width, layers, heads: Math.floor(width / 64) };
  } else {
    const stages = [1, 2, 3, 4].map((s) => countDistinct(src, new RegExp(`^visual\\.layer${s}\\.(\\d+)\\.`))) as [number, number, number, number];
    const width = need(src, 'visual.layer1.0.conv1.weight')[0];
    const grid = Math.round(Math.sqrt(need(src, 'visual.attnpool.positional_embedding')[0] - 1));
    vision = { kind: 'resnet', imageSize: 32 * grid, layers: stages, width, heads: Math.floor((width * 32) / 64) };
  }
  const textWidth = need(src, 'ln_final.weight')[0];
  return {
    embedDim: need(src, 'text_projection')[1],
    vision,
    text: {
      contextLength: need(src, 'positional_embedding')[0],
      vocabSize: need(src, 'token_embedding.weight')[0],
      width: textWidth,
      layers: countDistinct(src, /^transformer\.resblocks\.(\d+)\./),
      heads: Math.floor(textWidth / 64),
    },
    activation,
  };
}

/** Human-readable one-liner, e.g. "ViT-B/32-like: vision 768x12 patch 32 @224, text 512x12, embed 512". */
export function describeConfig(c: ClipConfig): string {
  const v = c.vision.kind === 'vit'
    ? `ViT width ${c.vision.width}, ${c.vision.layers} layers, patch ${c.vision.patchSize}`
    : `ResNet width ${c.vision.width}, blocks [${c.vision.layers.join(', ')}]`;
  return `${v} @${c.vision.imageSize}px; text width ${c.text.width}, ${c.text.layers} layers, context ${c.text.contextLength}; embed ${c.embedDim}; ${c.activation}`;
}
