// Saving our own checkpoints: safetensors with OpenAI's key names (so other tools can read them),
// and the configuration as JSON, both in the file's metadata and in a sidecar `<file>.json`.
// The activation is the one hyper-parameter the tensor shapes cannot tell, hence the config.
import { existsSync, readFileSync } from 'node:fs';
import { saveSafetensors, type SaveDType } from '../weights/save-safetensors.js';
import { writeTextAtomic } from '../weights/atomic-file.js';
import type { ClipModel } from './clip.js';
import type { ClipConfig } from './config.js';

export const CONFIG_METADATA_KEY = 'clip_ts_config';

export interface SaveModelOptions {
  /** Storage precision of the weights (default float32; float16 halves the size). */
  dtype?: SaveDType;
  /** Extra metadata strings stored in the safetensors header. */
  metadata?: Record<string, string>;
}

/** Writes `model` to `file` (safetensors, atomic) and its config to `file + '.json'`. */
export function saveModel(model: ClipModel, file: string, opts: SaveModelOptions = {}): void {
  const dtype = opts.dtype ?? 'float32';
  const tensors = model.params.entries().map(([name, t]) => ({
    name,
    // BatchNorm statistics and logit_scale stay float32 whatever the weights' precision (as in
    // OpenAI's files), so a float16 file loses nothing it needs.
    dtype: /running_(mean|var)$|^logit_scale$/.test(name) ? 'float32' as const : dtype,
    shape: name === 'logit_scale' ? [] : [...t.shape],
    data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data),
  }));
  const configJson = JSON.stringify(model.config);
  saveSafetensors(file, tensors, { format: 'pt', [CONFIG_METADATA_KEY]: configJson, ...opts.metadata });
  writeTextAtomic(`${file}.json`, JSON.stringify(model.config, null, 2) + '\n');
}

/** The config saved with a checkpoint (metadata first, then the sidecar), if any. */
export function savedConfig(file: string, metadata: Readonly<Record<string, string>>): ClipConfig | null {
  const raw = metadata[CONFIG_METADATA_KEY] ?? (existsSync(`${file}.json`) ? readFileSync(`${file}.json`, 'utf8') : undefined);
  if (raw === undefined) return null;
  try {
    return JSON.parse(raw) as ClipConfig;
  } catch (err) {
    throw new Error(`${file}: the saved clip-ts config is not valid JSON: ${(err as Error).message}`);
  }
}
