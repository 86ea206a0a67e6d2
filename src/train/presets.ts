// Architectures to train from scratch: the CLIP paper's (Table 19 and 20: ViT-B/32, ViT-B/16,
// ViT-L/14, RN50, RN101, RN50x4) and small ones that train on a laptop CPU in minutes to hours
// (the `tiny-*` presets, sized for 32–64 px images such as the emoji set). A JSON file with the same
// fields as ClipConfig may be given instead.
import { readFileSync } from 'node:fs';
import type { ClipConfig } from '../model/config.js';

const PAPER_TEXT = { contextLength: 77, vocabSize: 49408, width: 512, layers: 12, heads: 8 };

export const PRESETS: Readonly<Record<string, { config: ClipConfig; about: string }>> = {
  'ViT-B/32': {
    about: 'the paper\'s ViT-B/32 (151M parameters, 224 px)',
    config: { embedDim: 512, vision: { kind: 'vit', imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12 }, text: PAPER_TEXT, activation: 'quickGelu' },
  },
  'ViT-B/16': {
    about: 'the paper\'s ViT-B/16 (150M parameters, 224 px)',
    config: { embedDim: 512, vision: { kind: 'vit', imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12 }, text: PAPER_TEXT, activation: 'quickGelu' },
  },
  'ViT-L/14': {
    about: 'the paper\'s ViT-L/14 (428M parameters, 224 px)',
    config: { embedDim: 768, vision: { kind: 'vit', imageSize: 224, patchSize: 14, width: 1024, layers: 24, heads: 16 }, text: { ...PAPER_TEXT, width: 768, heads: 12 }, activation: 'quickGelu' },
  },
  RN50: {
    about: 'the paper\'s ResNet-50 (102M parameters, 224 px)',
    config: { embedDim: 1024, vision: { kind: 'resnet', imageSize: 224, layers: [3, 4, 6, 3], width: 64, heads: 32 }, text: PAPER_TEXT, activation: 'quickGelu' },
  },
  RN101: {
    about: 'the paper\'s ResNet-101 (120M parameters, 224 px)',
    config: { embedDim: 512, vision: { kind: 'resnet', imageSize: 224, layers: [3, 4, 23, 3], width: 64, heads: 32 }, text: PAPER_TEXT, activation: 'quickGelu' },
  },
  RN50x4: {
    about: 'the paper\'s ResNet-50x4 (178M parameters, 288 px)',
    config: { embedDim: 640, vision: { kind: 'resnet', imageSize: 288, layers: [4, 6, 10, 6], width: 80, heads: 40 }, text: { ...PAPER_TEXT, width: 640, heads: 10 }, activation: 'quickGelu' },
  },
  'tiny-vit-32': {
    about: 'a 4+4-layer ViT CLIP of width 128 for 32 px images (patch 4; about 8M parameters, most in the token table)',
    config: { embedDim: 128, vision: { kind: 'vit', imageSize: 32, patchSize: 4, width: 128, layers: 4, heads: 2 }, text: { contextLength: 77, vocabSize: 49408, width: 128, layers: 4, heads: 2 }, activation: 'quickGelu' },
  },
  'tiny-vit-64': {
    about: 'a 6+6-layer ViT CLIP of width 192 for 64 px images such as the emoji set (patch 8; about 15M parameters)',
    config: { embedDim: 192, vision: { kind: 'vit', imageSize: 64, patchSize: 8, width: 192, layers: 6, heads: 3 }, text: { contextLength: 77, vocabSize: 49408, width: 192, layers: 6, heads: 3 }, activation: 'quickGelu' },
  },
  'tiny-rn-64': {
    about: 'a ResNet CLIP with one bottleneck per stage, width 32, for 64 px images (about 18M parameters)',
    config: { embedDim: 192, vision: { kind: 'resnet', imageSize: 64, layers: [1, 1, 1, 1], width: 32, heads: 16 }, text: { contextLength: 77, vocabSize: 49408, width: 192, layers: 6, heads: 3 }, activation: 'quickGelu' },
  },
};

export function presetNames(): string[] {
  return Object.keys(PRESETS);
}

/** A preset by name (case-insensitive). */
export function presetConfig(name: string): ClipConfig | undefined {
  const key = Object.keys(PRESETS).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : structuredClone(PRESETS[key].config);
}

function positiveInt(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${where} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks a configuration read from JSON, naming the first bad field. */
export function validateConfig(raw: unknown, source: string): ClipConfig {
  const obj = (v: unknown, where: string): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${source}: ${where} must be an object`);
    return v as Record<string, unknown>;
  };
  const c = obj(raw, 'the configuration');
  const v = obj(c.vision, '"vision"');
  const t = obj(c.text, '"text"');
  const f = (o: Record<string, unknown>, key: string, where: string): number => positiveInt(o[key], `${source}: ${where}.${key}`);
  const activation = c.activation ?? 'quickGelu';
  if (activation !== 'quickGelu' && activation !== 'gelu') throw new Error(`${source}: "activation" must be "quickGelu" or "gelu", got ${JSON.stringify(activation)}`);
  const text = { contextLength: f(t, 'contextLength', 'text'), vocabSize: f(t, 'vocabSize', 'text'), width: f(t, 'width', 'text'), layers: f(t, 'layers', 'text'), heads: f(t, 'heads', 'text') };
  if (text.width % text.heads !== 0) throw new Error(`${source}: text.width ${text.width} is not a multiple of text.heads ${text.heads}`);
  let vision: ClipConfig['vision'];
  if (v.kind === 'vit') {
    vision = { kind: 'vit', imageSize: f(v, 'imageSize', 'vision'), patchSize: f(v, 'patchSize', 'vision'), width: f(v, 'width', 'vision'), layers: f(v, 'layers', 'vision'), heads: f(v, 'heads', 'vision') };
    if (vision.imageSize % vision.patchSize !== 0) throw new Error(`${source}: vision.imageSize ${vision.imageSize} is not a multiple of vision.patchSize ${vision.patchSize}`);
    if (vision.width % vision.heads !== 0) throw new Error(`${source}: vision.width ${vision.width} is not a multiple of vision.heads ${vision.heads}`);
  } else if (v.kind === 'resnet') {
    const layers = v.layers;
    if (!Array.isArray(layers) || layers.length !== 4) throw new Error(`${source}: vision.layers must list the blocks of the 4 stages, e.g. [3, 4, 6, 3]`);
    layers.forEach((n, i) => positiveInt(n, `${source}: vision.layers[${i}]`));
    vision = { kind: 'resnet', imageSize: f(v, 'imageSize', 'vision'), layers: layers as [number, number, number, number], width: f(v, 'width', 'vision'), heads: f(v, 'heads', 'vision') };
    if (vision.imageSize % 32 !== 0) throw new Error(`${source}: vision.imageSize ${vision.imageSize} must be a multiple of 32 for a ResNet tower`);
  } else {
    throw new Error(`${source}: vision.kind must be "vit" or "resnet", got ${JSON.stringify(v.kind)}`);
  }
  return { embedDim: positiveInt(c.embedDim, `${source}: embedDim`), vision, text, activation };
}

/** A preset name or a JSON file holding a configuration. */
export function resolveConfig(spec: string): ClipConfig {
  const preset = presetConfig(spec);
  if (preset !== undefined) return preset;
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch {
    throw new Error(`"${spec}" is neither a preset (${presetNames().join(', ')}) nor a readable JSON config file`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${spec}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return validateConfig(raw, spec);
}
