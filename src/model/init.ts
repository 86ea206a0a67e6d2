// A freshly initialised CLIP for a given configuration (training from scratch, tests, the demo).
// The parameter names and shapes here are the canonical ones every checkpoint is checked against.
// Initialisation follows OpenAI's initialize_parameters: N(0, 0.02) token embeddings, N(0, 0.01)
// text positions, width^-0.5-scaled class embedding / positions / projections, attention and MLP
// weights with std width^-0.5, (2·width)^-0.5 and width^-0.5·(2·layers)^-0.5, zero-initialised
// last BatchNorm gain in each bottleneck, logit_scale = ln(1/0.07). Other linear layers use
// PyTorch's default uniform(±1/√fan_in).
import { Tensor, type Shape } from '../tensor/index.js';
import { ClipModel } from './clip.js';
import type { ClipConfig, ResNetConfig, VitConfig } from './config.js';
import { ParamStore } from './params.js';

/** Deterministic normal and uniform samples (xorshift128+ and Box–Muller). */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private spare: number | null = null;

  constructor(seed: number) {
    this.s0 = (seed ^ 0x9e3779b9) >>> 0 || 1;
    this.s1 = (Math.imul(seed, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0 || 2;
    for (let i = 0; i < 16; i++) this.uniform();
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    this.s1 = x >>> 0;
    return ((this.s0 + this.s1) >>> 0) / 4294967296;
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

type Init = { kind: 'normal'; std: number } | { kind: 'uniform'; bound: number } | { kind: 'const'; value: number };

const normal = (std: number): Init => ({ kind: 'normal', std });
const uniform = (bound: number): Init => ({ kind: 'uniform', bound });
const constant = (value: number): Init => ({ kind: 'const', value });

class Builder {
  readonly params = new ParamStore();
  /** Every tensor's shape and whether it is a buffer, recorded even in shape-only mode. */
  readonly shapes = new Map<string, { shape: Shape; buffer: boolean }>();
  /** With rng null only shapes are recorded (no values allocated). */
  constructor(private readonly rng: SeededRandom | null) {}

  add(name: string, shape: Shape, init: Init, buffer = false): void {
    this.shapes.set(name, { shape, buffer });
    if (this.rng === null) return;
    const rng = this.rng;
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      d[i] = init.kind === 'normal' ? init.std * rng.normal()
        : init.kind === 'uniform' ? (rng.uniform() * 2 - 1) * init.bound : init.value;
    }
    this.params.set(name, new Tensor(d, shape), { buffer });
  }

  layerNorm(prefix: string, width: number): void {
    this.add(`${prefix}.weight`, [width], constant(1));
    this.add(`${prefix}.bias`, [width], constant(0));
  }

  batchNorm(prefix: string, channels: number, zeroGain = false): void {
    this.add(`${prefix}.weight`, [channels], constant(zeroGain ? 0 : 1));
    this.add(`${prefix}.bias`, [channels], constant(0));
    this.add(`${prefix}.running_mean`, [channels], constant(0), true);
    this.add(`${prefix}.running_var`, [channels], constant(1), true);
  }

  conv(name: string, out: number, inC: number, k: number): void {
    this.add(`${name}.weight`, [out, inC, k, k], uniform(1 / Math.sqrt(inC * k * k)));
  }

  transformer(prefix: string, width: number, layers: number): void {
    const attnStd = width ** -0.5;
    const projStd = width ** -0.5 * (2 * layers) ** -0.5;
    const fcStd = (2 * width) ** -0.5;
    for (let i = 0; i < layers; i++) {
      const p = `${prefix}.resblocks.${i}`;
      this.add(`${p}.attn.in_proj_weight`, [3 * width, width], normal(attnStd));
      this.add(`${p}.attn.in_proj_bias`, [3 * width], constant(0));
      this.add(`${p}.attn.out_proj.weight`, [width, width], normal(projStd));
      this.add(`${p}.attn.out_proj.bias`, [width], constant(0));
      this.layerNorm(`${p}.ln_1`, width);
      this.add(`${p}.mlp.c_fc.weight`, [4 * width, width], normal(fcStd));
      this.add(`${p}.mlp.c_fc.bias`, [4 * width], uniform(1 / Math.sqrt(width)));
      this.add(`${p}.mlp.c_proj.weight`, [width, 4 * width], normal(projStd));
      this.add(`${p}.mlp.c_proj.bias`, [width], uniform(1 / Math.sqrt(4 * width)));
      this.layerNorm(`${p}.ln_2`, width);
    }
  }

  vit(v: VitConfig, embedDim: number): void {
    const scale = v.width ** -0.5;
    const grid = v.imageSize / v.patchSize;
    this.conv('visual.conv1', v.width, 3, v.patchSize);
    this.add('visual.class_embedding', [v.width], normal(scale));
    this.add('visual.positional_embedding', [grid * grid + 1, v.width], normal(scale));
    this.layerNorm('visual.ln_pre', v.width);
    this.transformer('visual.transformer', v.width, v.layers);
    this.layerNorm('visual.ln_post', v.width);
    this.add('visual.proj', [v.width, embedDim], normal(scale));
  }

  resnet(r: ResNetConfig, embedDim: number): void {
    const w = r.width;
    this.conv('visual.conv1', w / 2, 3, 3);
    this.batchNorm('visual.bn1', w / 2);
    this.conv('visual.conv2', w / 2, w / 2, 3);
    this.batchNorm('visual.bn2', w / 2);
    this.conv('visual.conv3', w, w / 2, 3);
    this.batchNorm('visual.bn3', w);
    let inplanes = w;
    for (let s = 0; s < 4; s++) {
      const planes = w * 2 ** s;
      for (let b = 0; b < r.layers[s]; b++) {
        const p = `visual.layer${s + 1}.${b}`;
        const stride = b === 0 && s > 0 ? 2 : 1;
        this.conv(`${p}.conv1`, planes, inplanes, 1);
        this.batchNorm(`${p}.bn1`, planes);
        this.conv(`${p}.conv2`, planes, planes, 3);
        this.batchNorm(`${p}.bn2`, planes);
        this.conv(`${p}.conv3`, planes * 4, planes, 1);
        this.batchNorm(`${p}.bn3`, planes * 4, true);
        if (stride > 1 || inplanes !== planes * 4) {
          this.conv(`${p}.downsample.0`, planes * 4, inplanes, 1);
          this.batchNorm(`${p}.downsample.1`, planes * 4);
        }
        inplanes = planes * 4;
      }
    }
    const C = w * 32;
    const grid = r.imageSize / 32;
    const std = C ** -0.5;
    this.add('visual.attnpool.positional_embedding', [grid * grid + 1, C], normal(std));
    for (const proj of ['q_proj', 'k_proj', 'v_proj']) {
      this.add(`visual.attnpool.${proj}.weight`, [C, C], normal(std));
      this.add(`visual.attnpool.${proj}.bias`, [C], uniform(1 / Math.sqrt(C)));
    }
    this.add('visual.attnpool.c_proj.weight', [embedDim, C], normal(std));
    this.add('visual.attnpool.c_proj.bias', [embedDim], uniform(1 / Math.sqrt(C)));
  }
}

function build(config: ClipConfig, rng: SeededRandom | null): Builder {
  const b = new Builder(rng);
  if (config.vision.kind === 'vit') b.vit(config.vision, config.embedDim);
  else b.resnet(config.vision, config.embedDim);
  const t = config.text;
  b.add('token_embedding.weight', [t.vocabSize, t.width], normal(0.02));
  b.add('positional_embedding', [t.contextLength, t.width], normal(0.01));
  b.transformer('transformer', t.width, t.layers);
  b.layerNorm('ln_final', t.width);
  b.add('text_projection', [t.width, config.embedDim], normal(t.width ** -0.5));
  b.add('logit_scale', [1], constant(Math.log(1 / 0.07)));
  return b;
}

/** A new CLIP model with OpenAI's initialisation, reproducible from `seed`. */
export function createModel(config: ClipConfig, seed = 0): ClipModel {
  return new ClipModel(config, build(config, new SeededRandom(seed)).params);
}

/** The name, shape and buffer flag of every tensor a model of this configuration has. */
export function expectedTensors(config: ClipConfig): Map<string, { shape: Shape; buffer: boolean }> {
  return build(config, null).shapes;
}
