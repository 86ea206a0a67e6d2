// Key mapping: the same random model saved by tools/make_checkpoints.py in OpenAI's TorchScript
// format, as an open_clip torch.save checkpoint, as Hugging Face CLIPModel safetensors and in
// open_clip's CustomTextCLIP naming (fp16 safetensors) must give identical tensors under OpenAI's
// names; broken state dicts must fail with every problem named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  convertToOpenAI, openCheckpoint, toOpenAIStateDict, type Checkpoint, type TensorEntry,
} from '../../src/weights/index.js';
import { dataFile } from './helpers.js';

function withCheckpoint<T>(file: string, fn: (c: Checkpoint) => T): T {
  const c = openCheckpoint(dataFile(file));
  try {
    return fn(c);
  } finally {
    c.close();
  }
}

/** key → float32 values of every tensor after mapping. */
function mappedValues(file: string): { values: Map<string, Float32Array>; shapes: Map<string, readonly number[]>; scheme: string; format: string } {
  return withCheckpoint(file, (c) => {
    const r = convertToOpenAI(c);
    const values = new Map<string, Float32Array>();
    const shapes = new Map<string, readonly number[]>();
    for (const [k, e] of r.tensors) {
      values.set(k, e.toFloat32());
      shapes.set(k, e.shape);
    }
    return { values, shapes, scheme: r.scheme, format: c.format };
  });
}

function assertSameTensors(
  ref: { values: Map<string, Float32Array>; shapes: Map<string, readonly number[]> },
  got: { values: Map<string, Float32Array>; shapes: Map<string, readonly number[]> },
  skip: ReadonlySet<string>,
): void {
  const refKeys = [...ref.values.keys()].filter((k) => !skip.has(k));
  const gotKeys = [...got.values.keys()].filter((k) => !skip.has(k));
  assert.deepEqual(gotKeys, refKeys);
  for (const k of refKeys) {
    assert.deepEqual(got.shapes.get(k), ref.shapes.get(k), `${k} shape`);
    assert.deepEqual(got.values.get(k), ref.values.get(k), `${k} values`);
  }
}

// OpenAI's files carry three informational int64 scalars that the other formats do not.
const OPENAI_ONLY = new Set(['input_resolution', 'context_length', 'vocab_size']);

describe('map-vit: one model in four namings', () => {
  const openai = mappedValues('map-vit.openai.pt');

  it('reads the OpenAI archive as the reference', () => {
    assert.equal(openai.format, 'torchscript');
    assert.equal(openai.scheme, 'openai');
    assert.ok(openai.values.has('visual.transformer.resblocks.1.attn.in_proj_weight'));
  });

  it('open_clip torch.save (state_dict wrapper, module. prefixes, optimizer state) gives the same tensors', () => {
    const oc = mappedValues('map-vit.open_clip.pt');
    assert.equal(oc.format, 'torch-save');
    assert.equal(oc.scheme, 'open_clip');
    assertSameTensors(openai, oc, OPENAI_ONLY);
  });

  it('Hugging Face safetensors (fused q/k/v, transposed projections) gives the same tensors', () => {
    const hf = mappedValues('map-vit.hf.safetensors');
    assert.equal(hf.format, 'safetensors');
    assert.equal(hf.scheme, 'huggingface');
    assertSameTensors(openai, hf, OPENAI_ONLY);
  });

  it('CustomTextCLIP naming in fp16 safetensors gives the same values', () => {
    const ct = mappedValues('map-vit.custom_text.fp16.safetensors');
    assert.equal(ct.scheme, 'open_clip');
    assertSameTensors(openai, ct, OPENAI_ONLY);
  });

  it('keeps raw bytes for renamed, fused and transposed entries', () => {
    const hfRaw = withCheckpoint('map-vit.hf.safetensors', (c) => {
      const t = toOpenAIStateDict(c);
      const inProj = t.get('transformer.resblocks.0.attn.in_proj_weight') as TensorEntry;
      const proj = t.get('visual.proj') as TensorEntry;
      return { inProj: { dtype: inProj.dtype, raw: inProj.rawBytes(), f: inProj.toFloat32() }, proj: { raw: proj.rawBytes(), f: proj.toFloat32() } };
    });
    assert.equal(hfRaw.inProj.dtype, 'float32');
    assert.deepEqual(new Float32Array(hfRaw.inProj.raw.buffer), hfRaw.inProj.f);
    assert.deepEqual(new Float32Array(hfRaw.proj.raw.buffer), hfRaw.proj.f);
  });

  it('exposes torch.save metadata and every nested tensor, views included', () => {
    withCheckpoint('map-vit.open_clip.pt', (c) => {
      assert.equal(c.metadata.epoch, '3');
      assert.equal(c.metadata.name, 'map-vit');
      assert.ok(c.entries.has('state_dict.module.visual.conv1.weight'));
      assert.ok(c.entries.has('optimizer.state.0.exp_avg'));
      const step = c.entries.get('optimizer.state.0.step') as TensorEntry;
      assert.deepEqual([...step.toFloat32()], [3]);
      // Views share storage with state-dict tensors: a transpose (strides), row and column slices
      // (storage offset, strides).
      const tp = (c.entries.get('state_dict.module.text_projection') as TensorEntry).toFloat32();
      const [w, e] = (c.entries.get('state_dict.module.text_projection') as TensorEntry).shape;
      const tpT = c.entries.get('views.text_projection_t') as TensorEntry;
      assert.deepEqual(tpT.shape, [e, w]);
      const tv = tpT.toFloat32();
      for (let i = 0; i < e; i++) for (let j = 0; j < w; j++) assert.equal(tv[i * w + j], tp[j * e + i]);
      const emb = c.entries.get('state_dict.module.token_embedding.weight') as TensorEntry;
      const ev = emb.toFloat32();
      const width = emb.shape[1];
      const rows = (c.entries.get('views.embedding_rows_3_7') as TensorEntry).toFloat32();
      assert.deepEqual(rows, ev.subarray(3 * width, 7 * width));
      const colsEntry = c.entries.get('views.embedding_cols_2_5') as TensorEntry;
      assert.deepEqual(colsEntry.shape, [emb.shape[0], 3]);
      const cols = colsEntry.toFloat32();
      for (let r = 0; r < emb.shape[0]; r++) for (let k = 0; k < 3; k++) assert.equal(cols[r * 3 + k], ev[r * width + 2 + k]);
      const colBytes = colsEntry.rawBytes();
      assert.deepEqual(new Float32Array(colBytes.buffer), cols);
    });
  });
});

describe('map-rn: ModifiedResNet in two namings', () => {
  it('open_clip torch.save gives the same tensors as the OpenAI archive', () => {
    const openai = mappedValues('map-rn.openai.pt');
    const oc = mappedValues('map-rn.open_clip.pt');
    assert.ok(openai.values.has('visual.layer1.0.downsample.1.running_var'));
    assert.ok(openai.values.has('visual.bn1.num_batches_tracked'));
    assertSameTensors(openai, oc, OPENAI_ONLY);
  });
});

/** A fake entry with a shape only (validation never reads values). */
function fake(name: string, shape: number[]): TensorEntry {
  const numel = shape.reduce((a, b) => a * b, 1);
  return {
    name, dtype: 'float32', shape, numel,
    toFloat32: () => new Float32Array(numel),
    readInto: () => undefined,
    rawBytes: () => new Uint8Array(numel * 4),
  };
}

function entriesOf(file: string): Map<string, TensorEntry> {
  return withCheckpoint(file, (c) => new Map([...c.entries].map(([k, e]) => [k, fake(k, [...e.shape])])));
}

describe('mapping errors', () => {
  it('lists missing keys', () => {
    const m = entriesOf('map-vit.openai.pt');
    m.delete('visual.transformer.resblocks.1.ln_2.bias');
    m.delete('ln_final.weight');
    assert.throws(() => toOpenAIStateDict(m, 'x.pt'), (err: Error) => {
      assert.match(err.message, /^x\.pt: not a CLIP ViT state dict in openai naming/);
      assert.match(err.message, /missing keys: .*visual\.transformer\.resblocks\.1\.ln_2\.bias/);
      assert.match(err.message, /ln_final\.weight/);
      return true;
    });
  });

  it('lists unknown keys', () => {
    const m = entriesOf('map-vit.openai.pt');
    m.set('visual.extra_head.weight', fake('visual.extra_head.weight', [3]));
    assert.throws(() => toOpenAIStateDict(m, 'x.pt'), /unknown keys: visual\.extra_head\.weight/);
  });

  it('reports a shape that does not fit the configuration', () => {
    const m = entriesOf('map-vit.openai.pt');
    m.set('transformer.resblocks.0.mlp.c_fc.weight', fake('transformer.resblocks.0.mlp.c_fc.weight', [63, 16]));
    assert.throws(() => toOpenAIStateDict(m, 'x.pt'),
      /shape mismatches: transformer\.resblocks\.0\.mlp\.c_fc\.weight is \[63, 16\], expected \[64, 16\]/);
  });

  it('refuses to fuse Hugging Face q/k/v projections of different shapes, or an incomplete set', () => {
    const m = entriesOf('map-vit.hf.safetensors');
    const k = 'text_model.encoder.layers.0.self_attn.k_proj.weight';
    m.set(k, fake(k, [15, 16]));
    assert.throws(() => toOpenAIStateDict(m, 'hf.safetensors'), /cannot fuse .*k_proj\.weight \[15, 16\].* into transformer\.resblocks\.0\.attn\.in_proj_weight: shapes differ/);
    const m2 = entriesOf('map-vit.hf.safetensors');
    m2.delete('vision_model.encoder.layers.1.self_attn.v_proj.bias');
    assert.throws(() => toOpenAIStateDict(m2, 'hf.safetensors'), /cannot build visual\.transformer\.resblocks\.1\.attn\.in_proj_bias: v_proj missing/);
  });

  it('names the image tower it cannot recognise', () => {
    const m = new Map<string, TensorEntry>([
      ['text_projection', fake('text_projection', [16, 8])],
      ['positional_embedding', fake('positional_embedding', [8, 16])],
      ['token_embedding.weight', fake('token_embedding.weight', [64, 16])],
      ['visual.trunk.patch_embed.proj.weight', fake('visual.trunk.patch_embed.proj.weight', [16, 3, 8, 8])],
    ]);
    assert.throws(() => toOpenAIStateDict(m, 'timm.bin'), /timm\.bin: cannot tell the image tower/);
  });

  it('accepts a logit_scale stored as [1] and presents it as 0-dim', () => {
    const m = entriesOf('map-vit.openai.pt');
    m.set('logit_scale', fake('logit_scale', [1]));
    assert.deepEqual(toOpenAIStateDict(m).get('logit_scale')?.shape, []);
  });
});
