// Builds a ClipModel from a checkpoint file: the architecture comes from the tensor shapes
// (OpenAI's build_model), the values are converted to float32 (fp16 storage converts exactly).
import { openCheckpoint, toOpenAIStateDict, type TensorEntry } from '../weights/index.js';
import { Tensor } from '../tensor/index.js';
import { ClipModel } from './clip.js';
import { configFromShapes, describeConfig, type Activation } from './config.js';
import { expectedTensors } from './init.js';
import { ParamStore } from './params.js';
import { savedConfig } from './save.js';

/** Entries of OpenAI's files that are not model tensors (metadata, BN step counters). */
function isIgnoredKey(key: string): boolean {
  return key === 'input_resolution' || key === 'context_length' || key === 'vocab_size' || key.endsWith('num_batches_tracked');
}

export interface LoadOptions {
  /** Override the activation (OpenAI checkpoints use QuickGELU; some open_clip ones use GELU). */
  activation?: Activation;
}

/** A model from a state dict whose keys already use OpenAI's names. */
export function modelFromStateDict(state: ReadonlyMap<string, TensorEntry>, opts: LoadOptions = {}, source = 'checkpoint'): ClipModel {
  const shapes = {
    has: (k: string) => state.has(k),
    shape: (k: string) => (state.get(k) as TensorEntry).shape,
    keys: () => state.keys(),
  };
  const config = configFromShapes(shapes, opts.activation ?? 'quickGelu');
  const expected = expectedTensors(config);
  const unexpected = [...state.keys()].filter((k) => !isIgnoredKey(k) && !expected.has(k));
  if (unexpected.length > 0) {
    throw new Error(`${source}: unexpected tensors for a model of this shape (${describeConfig(config)}): ${unexpected.slice(0, 10).join(', ')}${unexpected.length > 10 ? `, ... (${unexpected.length} in all)` : ''}`);
  }
  const params = new ParamStore();
  for (const [key, want] of expected) {
    const entry = state.get(key);
    if (entry === undefined) throw new Error(`${source}: missing tensor ${key} (model: ${describeConfig(config)})`);
    // logit_scale is a 0-dim tensor in OpenAI's files; we keep it as [1].
    const shape = key === 'logit_scale' && entry.shape.length === 0 ? [1] : [...entry.shape];
    const t = new Tensor(entry.toFloat32(), shape);
    try {
      params.set(key, t, { buffer: want.buffer, expectShape: want.shape });
    } catch (err) {
      throw new Error(`${source}: ${(err as Error).message}`);
    }
  }
  return new ClipModel(config, params);
}

/** Loads a checkpoint file in any supported format (TorchScript archive, torch.save zip, safetensors). */
export function loadModelFile(path: string, opts: LoadOptions = {}): ClipModel {
  const ckpt = openCheckpoint(path);
  try {
    // Our own checkpoints record the activation, which the shapes cannot tell.
    const activation = opts.activation ?? savedConfig(path, ckpt.metadata)?.activation;
    return modelFromStateDict(toOpenAIStateDict(ckpt), { ...opts, activation }, path);
  } finally {
    ckpt.close();
  }
}
