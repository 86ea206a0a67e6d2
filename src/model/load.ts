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
  return new ClipModel(fromCheckpointConfig(config, opts.activation ?? 'quickGelu'), params);
}

/** Loads a checkpoint file in any supported format (TorchScript archive, torch.save zip, safetensors). */
export function loadModelFile(path: string, opts: LoadOptions = {}): ClipModel {
  const ckpt = openCheckpoint(path);
  try {
    // Our own checkpoints record the activation, which the shapes cannot tell.
    const activation = opts.activation ?? savedConfig(path, ckpt.metadata)?.activation;
    return modelFromStateDict(ckpt, { ...opts, activation });
  } finally {
    ckpt.close();
  }
}
