// A freshly initialised CLIP for a given configuration (training from scratch, tests, the demo).
// Names and shapes come from the weights layer's list for the configuration (the same list every
// checkpoint is validated against); each tensor's initialisation is chosen by its name.
// Initialisation follows OpenAI's initialize_parameters: N(0, 0.02) token embeddings, N(0, 0.01)
// text positions, width^-0.5-scaled class embedding / positions / projections, attention and MLP
// weights with std width^-0.5, (2·width)^-0.5 and width^-0.5·(2·layers)^-0.5, zero-initialised
// last BatchNorm gain in each bottleneck, logit_scale = ln(1/0.07). Other linear layers use
// PyTorch's default uniform(±1/√fan_in).
import { SeededRandom } from '../image/seeded-random.js';
import { Tensor, type Shape } from '../tensor/index.js';
import { expectedOpenAIShapes, isOptionalOpenAIKey } from '../weights/clip-config.js';
import { ClipModel } from './clip.js';
import { toCheckpointConfig, type ClipConfig } from './config.js';
import { isBufferName } from './load.js';
import { ParamStore } from './params.js';

/** Standard normal samples by Box–Muller over the shared seedable generator. */
function normalSampler(rng: SeededRandom): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - rng.next(); // (0, 1]: log stays finite
    const v = rng.next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

type Init = { kind: 'normal'; std: number } | { kind: 'uniform'; bound: number } | { kind: 'const'; value: number };

const normal = (std: number): Init => ({ kind: 'normal', std });
const uniform = (bound: number): Init => ({ kind: 'uniform', bound });
const constant = (value: number): Init => ({ kind: 'const', value });

/** The initialisation of one tensor, from its name and shape (the architecture's widths). */
function initFor(name: string, shape: Shape, config: ClipConfig): Init {
  const last = name.slice(name.lastIndexOf('.') + 1);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const text = !name.startsWith('visual.');
  const width = text ? config.text.width : config.vision.width;
  const layers = text ? config.text.layers : config.vision.kind === 'vit' ? config.vision.layers : 1;
  if (name === 'logit_scale') return constant(Math.log(1 / 0.07));
  if (name === 'token_embedding.weight') return normal(0.02);
  if (name === 'positional_embedding') return normal(0.01);
  if (name === 'text_projection') return normal(config.text.width ** -0.5);
  if (name === 'visual.class_embedding' || name === 'visual.positional_embedding' || name === 'visual.proj') return normal(width ** -0.5);
  if (/\.(ln_\w+|ln_final)\.weight$|^ln_final\.weight$/.test(name)) return constant(1);
  if (/(^|\.)(ln_\w+|ln_final)\.bias$/.test(name)) return constant(0);
  // BatchNorm: identity statistics; the last gain of each bottleneck starts at zero so that every
  // residual block starts as the identity.
  if (last === 'running_mean') return constant(0);
  if (last === 'running_var') return constant(1);
  if (/\.(bn\d|downsample\.1)\.weight$/.test(name)) return constant(/\.layer\d\.\d+\.bn3\.weight$/.test(name) ? 0 : 1);
  if (/\.(bn\d|downsample\.1)\.bias$/.test(name)) return constant(0);
  if (name.startsWith('visual.attnpool.')) {
    const C = config.vision.width * 32;
    if (name.endsWith('positional_embedding') || last === 'weight') return normal(C ** -0.5);
    return uniform(1 / Math.sqrt(C));
  }
  if (name.endsWith('attn.in_proj_weight')) return normal(width ** -0.5);
  if (name.endsWith('attn.in_proj_bias') || name.endsWith('attn.out_proj.bias')) return constant(0);
  const projStd = width ** -0.5 * (2 * layers) ** -0.5;
  if (name.endsWith('attn.out_proj.weight') || name.endsWith('mlp.c_proj.weight')) return normal(projStd);
  if (name.endsWith('mlp.c_fc.weight')) return normal((2 * width) ** -0.5);
  if (name.endsWith('mlp.c_fc.bias')) return uniform(1 / Math.sqrt(width));
  if (name.endsWith('mlp.c_proj.bias')) return uniform(1 / Math.sqrt(4 * width));
  // Convolutions (no bias in CLIP): PyTorch's default uniform(±1/√fan_in).
  if (shape.length === 4) return uniform(1 / Math.sqrt(fanIn));
  throw new Error(`internal: no initialisation rule for ${name}`);
}

function sample(init: Init, n: number, rng: SeededRandom, normal: () => number): Float32Array {
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = init.kind === 'normal' ? init.std * normal() : init.kind === 'uniform' ? rng.uniform(-init.bound, init.bound) : init.value;
  }
  return d;
}

/** A new CLIP model with OpenAI's initialisation, reproducible from `seed`. */
export function createModel(config: ClipConfig, seed = 0): ClipModel {
  const rng = new SeededRandom(seed);
  const normal = normalSampler(rng);
  const params = new ParamStore();
  for (const [name, shape] of expectedOpenAIShapes(toCheckpointConfig(config))) {
    if (isOptionalOpenAIKey(name)) continue;
    const dims = shape.length === 0 ? [1] : shape;
    params.set(name, new Tensor(sample(initFor(name, dims, config), dims.reduce((a, b) => a * b, 1), rng, normal), dims), { buffer: isBufferName(name) });
  }
  return new ClipModel(config, params);
}
