// Builds a ClipModel from a checkpoint file. The weights layer maps key names to OpenAI's,
// validates every key and shape, and infers the architecture from the shapes (OpenAI's
// build_model); here the values become float32 tensors (fp16 storage converts exactly).
import { convertToOpenAI, isOptionalOpenAIKey, openCheckpoint, type Checkpoint, type TensorEntry } from '../weights/index.js';
import { Tensor } from '../tensor/index.js';
import { ClipModel } from './clip.js';
import { fromCheckpointConfig, type Activation } from './config.js';
import { ParamStore } from './params.js';
import { savedConfig } from './save.js';

export interface LoadOptions {
  /** Override the activation (OpenAI checkpoints use QuickGELU; some open_clip ones use GELU). */
  activation?: Activation;
  /** Head counts, which shapes cannot tell (OpenAI's rule width / 64 is the default). */
  heads?: { vision: number; text: number };
}

/** BatchNorm running statistics are state, not trainable parameters. */
export function isBufferName(name: string): boolean {
  return name.endsWith('.running_mean') || name.endsWith('.running_var');
}

/** A model from a checkpoint or a state dict in any supported naming (OpenAI, open_clip, Hugging Face). */
export function modelFromStateDict(source: Checkpoint | ReadonlyMap<string, TensorEntry>, opts: LoadOptions = {}, file?: string): ClipModel {
  const { tensors, config } = convertToOpenAI(source, file);
  const params = new ParamStore();
  for (const [key, entry] of tensors) {
    if (isOptionalOpenAIKey(key)) continue;
    // logit_scale is a 0-dim tensor in OpenAI's files; we keep it as [1].
    const shape = entry.shape.length === 0 ? [1] : [...entry.shape];
    params.set(key, new Tensor(entry.toFloat32(), shape), { buffer: isBufferName(key) });
  }
  const model = fromCheckpointConfig(config, opts.activation ?? 'quickGelu');
  if (opts.heads !== undefined) {
    model.vision.heads = opts.heads.vision;
    model.text.heads = opts.heads.text;
  }
  return new ClipModel(model, params);
}

/** Loads a checkpoint file in any supported format (TorchScript archive, torch.save zip, safetensors). */
export function loadModelFile(path: string, opts: LoadOptions = {}): ClipModel {
  const ckpt = openCheckpoint(path);
  try {
    // Our own checkpoints record what the shapes cannot tell: the activation and the head counts.
    const saved = savedConfig(path, ckpt.metadata);
    const activation = opts.activation ?? saved?.activation;
    const heads = opts.heads ?? (saved !== null ? { vision: saved.vision.heads, text: saved.text.heads } : undefined);
    return modelFromStateDict(ckpt, { ...opts, activation, heads });
  } finally {
    ckpt.close();
  }
}
