// toOpenAIStateDict: any supported CLIP checkpoint's tensors under OpenAI's key names, validated.
//
// Naming schemes handled (key names are facts of those projects; the mapping is written here):
// * OpenAI (TorchScript archives): already the target names.
// * open_clip: OpenAI's names, possibly under a torch.save wrapper ({'epoch', 'name',
//   'state_dict': ...}, flattened by the reader to `state_dict.<key>`), with DistributedDataParallel's
//   `module.` prefix, and, for CustomTextCLIP, the text tower under `text.` (`text.transformer...`,
//   `text.token_embedding.weight`, `text.text_projection`, ...).
// * Hugging Face CLIPModel: `text_model.*` / `vision_model.*`, separate q/k/v projections (fused
//   here, in that order, into in_proj_weight/in_proj_bias), Linear projections `text_projection.weight`
//   and `visual_projection.weight` ([out, in]; transposed into OpenAI's [in, out] matrices), and
//   `position_ids` buffers (ignored).
// The result is checked against the configuration its shapes imply (clip-config.ts): every missing
// key, unknown key and wrong shape is reported at once.
import type { Checkpoint } from './checkpoint.js';
import {
  expectedOpenAIShapes, inferClipConfig, isOptionalOpenAIKey, type ClipConfig,
} from './clip-config.js';
import { ConcatEntry, RenamedEntry, TransposedEntry } from './derived-entries.js';
import { CheckpointError } from './errors.js';
import type { TensorEntry } from './tensor-entry.js';

export type NamingScheme = 'openai' | 'open_clip' | 'huggingface';

export interface OpenAIStateDict {
  /** Tensors under OpenAI's names, in OpenAI's order (optional keys last). */
  readonly tensors: Map<string, TensorEntry>;
  readonly config: ClipConfig;
  /** The naming scheme the source used. */
  readonly scheme: NamingScheme;
}

/** Keys that carry no weights and are dropped silently. */
function isIgnorable(key: string): boolean {
  return key.endsWith('position_ids') || key === 'attn_mask' || key === 'text.attn_mask';
}

const HF_LAYER_PARTS: Readonly<Record<string, string>> = {
  'self_attn.out_proj.weight': 'attn.out_proj.weight',
  'self_attn.out_proj.bias': 'attn.out_proj.bias',
  'layer_norm1.weight': 'ln_1.weight',
  'layer_norm1.bias': 'ln_1.bias',
  'layer_norm2.weight': 'ln_2.weight',
  'layer_norm2.bias': 'ln_2.bias',
  'mlp.fc1.weight': 'mlp.c_fc.weight',
  'mlp.fc1.bias': 'mlp.c_fc.bias',
  'mlp.fc2.weight': 'mlp.c_proj.weight',
  'mlp.fc2.bias': 'mlp.c_proj.bias',
};

const HF_SINGLE: Readonly<Record<string, string>> = {
  'text_model.embeddings.token_embedding.weight': 'token_embedding.weight',
  'text_model.embeddings.position_embedding.weight': 'positional_embedding',
  'text_model.final_layer_norm.weight': 'ln_final.weight',
  'text_model.final_layer_norm.bias': 'ln_final.bias',
  'vision_model.embeddings.class_embedding': 'visual.class_embedding',
  'vision_model.embeddings.patch_embedding.weight': 'visual.conv1.weight',
  'vision_model.embeddings.position_embedding.weight': 'visual.positional_embedding',
  'vision_model.pre_layrnorm.weight': 'visual.ln_pre.weight', // sic: HF's attribute is spelt "layrnorm"
  'vision_model.pre_layrnorm.bias': 'visual.ln_pre.bias',
  'vision_model.pre_layernorm.weight': 'visual.ln_pre.weight',
  'vision_model.pre_layernorm.bias': 'visual.ln_pre.bias',
  'vision_model.post_layernorm.weight': 'visual.ln_post.weight',
  'vision_model.post_layernorm.bias': 'visual.ln_post.bias',
  logit_scale: 'logit_scale',
};

const HF_LAYER = /^(text_model|vision_model)\.encoder\.layers\.(\d+)\.(.+)$/;
const HF_QKV = /^self_attn\.([qkv])_proj\.(weight|bias)$/;

function list(keys: string[], limit = 20): string {
  const shown = keys.slice(0, limit).join(', ');
  return keys.length > limit ? `${shown}, ... (${keys.length} in all)` : shown;
}

/** Renames Hugging Face CLIPModel keys; unknown keys are returned for the error report. */
function mapHuggingFace(file: string, src: Map<string, TensorEntry>): { out: Map<string, TensorEntry>; unknown: string[] } {
  const out = new Map<string, TensorEntry>();
  const unknown: string[] = [];
  // q/k/v pieces gathered per (tower, layer, weight|bias), fused once all three are seen.
  const qkv = new Map<string, Partial<Record<'q' | 'k' | 'v', TensorEntry>>>();
  for (const [key, entry] of src) {
    const single = HF_SINGLE[key];
    if (single !== undefined) {
      out.set(single, new RenamedEntry(single, entry));
      continue;
    }
    if (key === 'text_projection.weight' || key === 'visual_projection.weight') {
      const name = key === 'text_projection.weight' ? 'text_projection' : 'visual.proj';
      out.set(name, new TransposedEntry(file, name, entry));
      continue;
    }
    const m = HF_LAYER.exec(key);
    if (m !== null) {
      const prefix = `${m[1] === 'text_model' ? '' : 'visual.'}transformer.resblocks.${m[2]}.`;
      const q = HF_QKV.exec(m[3]);
      if (q !== null) {
        const target = `${prefix}attn.in_proj_${q[2]}`;
        const parts = qkv.get(target) ?? {};
        parts[q[1] as 'q' | 'k' | 'v'] = entry;
        qkv.set(target, parts);
        continue;
      }
      const part = HF_LAYER_PARTS[m[3]];
      if (part !== undefined) {
        out.set(prefix + part, new RenamedEntry(prefix + part, entry));
        continue;
      }
    }
    unknown.push(key);
  }
  for (const [target, parts] of qkv) {
    const missing = (['q', 'k', 'v'] as const).filter((p) => parts[p] === undefined);
    if (missing.length > 0) {
      const base = target.replace('attn.in_proj_', 'self_attn.{q,k,v}_proj.');
      throw new CheckpointError(file, `cannot build ${target}: ${missing.map((p) => `${p}_proj`).join(', ')} missing (${base})`);
    }
    out.set(target, new ConcatEntry(file, target, [parts.q as TensorEntry, parts.k as TensorEntry, parts.v as TensorEntry]));
  }
  return { out, unknown };
}

/** The scheme the keys are in; OpenAI-named keys without open_clip's wrappers count as 'openai'. */
function detectScheme(keys: string[], openClipWrapped: boolean): NamingScheme {
  if (keys.some((k) => k.startsWith('text_model.') || k.startsWith('vision_model.'))) return 'huggingface';
  if (openClipWrapped || keys.some((k) => k.startsWith('text.'))) return 'open_clip';
  return 'openai';
}

function isCheckpoint(source: Checkpoint | ReadonlyMap<string, TensorEntry>): source is Checkpoint {
  return typeof (source as Checkpoint).close === 'function' && typeof (source as Checkpoint).format === 'string';
}

/**
 * The tensors of a CLIP checkpoint under OpenAI's key names (in OpenAI's order).
 * Throws a CheckpointError listing every missing or unknown key and every shape that does not fit.
 */
export function toOpenAIStateDict(source: Checkpoint | ReadonlyMap<string, TensorEntry>, file?: string): Map<string, TensorEntry> {
  return convertToOpenAI(source, file).tensors;
}

/** As toOpenAIStateDict, also returning the configuration the shapes imply and the source's naming scheme. */
export function convertToOpenAI(source: Checkpoint | ReadonlyMap<string, TensorEntry>, file?: string): OpenAIStateDict {
  const entries = isCheckpoint(source) ? source.entries : source;
  const where = file ?? (isCheckpoint(source) ? source.path : '<state dict>');

  // 1. A torch.save wrapper: keep only the state dict (drops optimizer state and the like).
  let keys = [...entries.keys()];
  const wrapped = keys.some((k) => k.startsWith('state_dict.'));
  let hadModulePrefix = false;
  const stripped = new Map<string, TensorEntry>();
  for (const k of keys) {
    if (wrapped && !k.startsWith('state_dict.')) continue;
    let name = wrapped ? k.slice('state_dict.'.length) : k;
    // 2. DistributedDataParallel's prefix.
    if (name.startsWith('module.')) {
      name = name.slice('module.'.length);
      hadModulePrefix = true;
    }
    if (isIgnorable(name)) continue;
    if (stripped.has(name)) throw new CheckpointError(where, `keys ${k} and another key both map to ${name}`);
    stripped.set(name, entries.get(k) as TensorEntry);
  }
  keys = [...stripped.keys()];
  const scheme = detectScheme(keys, wrapped || hadModulePrefix);

  // 3. Rename into OpenAI's names.
  let mapped: Map<string, TensorEntry>;
  const unknown: string[] = [];
  if (scheme === 'huggingface') {
    const r = mapHuggingFace(where, stripped);
    mapped = r.out;
    unknown.push(...r.unknown);
  } else {
    mapped = new Map();
    for (const [k, e] of stripped) {
      // CustomTextCLIP keeps the text tower under `text.`; CLIP keeps it at the top level.
      const name = k.startsWith('text.') ? k.slice('text.'.length) : k;
      if (mapped.has(name)) throw new CheckpointError(where, `both ${k} and ${name} are present`);
      mapped.set(name, name === k ? e : new RenamedEntry(name, e));
    }
  }

  // 4. Validate against the configuration the shapes imply.
  const config = inferClipConfig(mapped, where);
  const expected = expectedOpenAIShapes(config);
  const missing: string[] = [];
  const wrongShape: string[] = [];
  const tensors = new Map<string, TensorEntry>();
  for (const [key, shape] of expected) {
    let e = mapped.get(key);
    if (e === undefined) {
      if (!isOptionalOpenAIKey(key)) missing.push(key);
      continue;
    }
    // logit_scale is 0-dim in OpenAI's files; some exports store it as [1].
    if (key === 'logit_scale' && e.numel === 1 && e.shape.length !== 0) e = new RenamedEntry(key, e, []);
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      wrongShape.push(`${key} is [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    tensors.set(key, e);
  }
  for (const [key, e] of mapped) {
    if (expected.has(key)) continue;
    if (isOptionalOpenAIKey(key)) tensors.set(key, e);
    else unknown.push(key);
  }
  if (missing.length > 0 || unknown.length > 0 || wrongShape.length > 0) {
    const parts: string[] = [];
    const kind = config.vision.kind === 'vit' ? 'ViT' : 'ModifiedResNet';
    if (missing.length > 0) parts.push(`missing keys: ${list(missing)}`);
    if (unknown.length > 0) parts.push(`unknown keys: ${list(unknown)}`);
    if (wrongShape.length > 0) parts.push(`shape mismatches: ${list(wrongShape)}`);
    throw new CheckpointError(where, `not a CLIP ${kind} state dict in ${scheme} naming (${parts.join('; ')})`);
  }
  return { tensors, config, scheme };
}
