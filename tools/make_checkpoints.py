#!/usr/bin/python3
"""Random CLIP checkpoints in every format clip-ts reads, with reference outputs.

Written for clip-ts (tools/README.md, section "make_checkpoints.py"). Needs Debian's python3-torch
1.13 and python3-numpy only. The CLIP architecture below is our own PyTorch definition, written from
the description in the shared fixtures README (section 4); `check-arch` proves it against the
fixtures by loading tiny-vit.pt / tiny-rn.pt into it and comparing the features.

Sub-commands:
  test-data  --out DIR [--fixtures DIR]
      The small files committed under test/data/weights/ (see the README there).
  bench      --preset ViT-B/32|RN50 --out DIR [--formats openai,open_clip,hf]
      Full-size random models for benchmarks (hundreds of MB; not committed).
  check-arch [--fixtures DIR]
      Rebuilds the two fixture models from their .pt files and compares image/text features.

Formats written:
  openai     torch.jit.trace of the model, saved with torch.jit.save, with the weights OpenAI keeps
             in fp16 (conv, linear and attention weights and biases, text_projection, visual.proj)
             converted after tracing, like OpenAI's released .pt files; 0-dim int64 buffers
             input_resolution, context_length and vocab_size as in those files.
  open_clip  torch.save of {'epoch', 'name', 'state_dict': {'module.' + key: fp32 tensor},
             'optimizer': {...}}, like open_clip's training checkpoints.
  hf         safetensors with Hugging Face CLIPModel's names (q/k/v split, Linear projections
             transposed, position_ids buffers), written by hand (no safetensors package).

Before any file is written, every fp16 weight is rounded to fp16 in the float32 model, so all
formats hold exactly the same values and the reference outputs are those of the fp32 model with
those values (as clip.load(..., jit=False) computes on the CPU).
"""
import argparse
import collections
import copy
import gzip
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------
# The architecture (fixtures README, section 4).

class LayerNorm(nn.LayerNorm):
    """LayerNorm computed in float32 whatever the input dtype (eps 1e-5, biased variance)."""

    def forward(self, x):
        return F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps).to(x.dtype)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, causal_length=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(collections.OrderedDict([
            ('c_fc', nn.Linear(width, 4 * width)),
            ('gelu', QuickGELU()),
            ('c_proj', nn.Linear(4 * width, width)),
        ]))
        self.ln_2 = LayerNorm(width)
        # A plain attribute, not a buffer: the mask becomes a trace constant and no state-dict key,
        # as in OpenAI's files.
        self.attn_mask = None
        if causal_length is not None:
            self.attn_mask = torch.full((causal_length, causal_length), float('-inf')).triu(1)

    def forward(self, x):  # x: [tokens, batch, width]
        h = self.ln_1(x)
        mask = None if self.attn_mask is None else self.attn_mask.to(dtype=x.dtype, device=x.device)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, causal_length=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, causal_length) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, image_resolution, patch, width, layers, heads, embed_dim):
        super().__init__()
        grid = image_resolution // patch
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) * width ** -0.5)
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed_dim) * width ** -0.5)

    def forward(self, x):
        x = self.conv1(x)                                   # [N, W, g, g]
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # [N, g*g, W]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride > 1 or inplanes != planes * 4:
            # Keys downsample.0 (conv) and downsample.1 (BN); the pool has no parameters.
            self.downsample = nn.Sequential(collections.OrderedDict([
                ('-1', nn.AvgPool2d(stride)),
                ('0', nn.Conv2d(inplanes, planes * 4, 1, bias=False)),
                ('1', nn.BatchNorm2d(planes * 4)),
            ]))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.pool(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class AttentionPool2d(nn.Module):
    def __init__(self, grid, channels, heads, embed_dim):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, channels) / channels ** 0.5)
        self.k_proj = nn.Linear(channels, channels)
        self.q_proj = nn.Linear(channels, channels)
        self.v_proj = nn.Linear(channels, channels)
        self.c_proj = nn.Linear(channels, embed_dim)
        self.heads = heads

    def forward(self, x):  # [N, C, H, W]
        x = x.flatten(2).permute(2, 0, 1)                    # [HW, N, C]
        x = torch.cat([x.mean(dim=0, keepdim=True), x], 0)   # [HW+1, N, C]
        x = x + self.positional_embedding[:, None, :].to(x.dtype)
        out, _ = F.multi_head_attention_forward(
            query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight, v_proj_weight=self.v_proj.weight,
            in_proj_weight=None, in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0,
            out_proj_weight=self.c_proj.weight, out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True, training=False, need_weights=False)
        return out.squeeze(0)


class ModifiedResNet(nn.Module):
    def __init__(self, layers, embed_dim, heads, image_resolution, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        inplanes = width
        stages = []
        for s, blocks in enumerate(layers):
            planes = width * 2 ** s
            stride = 1 if s == 0 else 2
            mods = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * 4
            mods += [Bottleneck(inplanes, planes, 1) for _ in range(1, blocks)]
            stages.append(nn.Sequential(*mods))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.attnpool = AttentionPool2d(image_resolution // 32, width * 32, heads, embed_dim)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = self.avgpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.attnpool(x)


class CLIP(nn.Module):
    def __init__(self, embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size,
                 context_length, vocab_size, transformer_width, transformer_heads, transformer_layers,
                 vision_heads=None):
        super().__init__()
        if isinstance(vision_layers, (tuple, list)):
            heads = vision_heads if vision_heads is not None else vision_width * 32 // 64
            self.visual = ModifiedResNet(vision_layers, embed_dim, heads, image_resolution, vision_width)
        else:
            heads = vision_heads if vision_heads is not None else vision_width // 64
            self.visual = VisionTransformer(image_resolution, vision_patch_size, vision_width, vision_layers, heads, embed_dim)
        self.transformer = Transformer(transformer_width, transformer_layers, transformer_heads, causal_length=context_length)
        self.token_embedding = nn.Embedding(vocab_size, transformer_width)
        self.positional_embedding = nn.Parameter(torch.randn(context_length, transformer_width) * 0.01)
        self.ln_final = LayerNorm(transformer_width)
        self.text_projection = nn.Parameter(torch.randn(transformer_width, embed_dim) * transformer_width ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / 0.07))
        # OpenAI's released files carry these three 0-dim int64 tensors; the model never reads them.
        self.register_buffer('input_resolution', torch.tensor(image_resolution))
        self.register_buffer('context_length', torch.tensor(context_length))
        self.register_buffer('vocab_size', torch.tensor(vocab_size))

    def encode_image(self, image):
        return self.visual(image)

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        # The first occurrence of the largest id (the first end-of-text token).
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def forward(self, image, text):
        i = self.encode_image(image)
        t = self.encode_text(text)
        i = i / i.norm(dim=1, keepdim=True)
        t = t / t.norm(dim=1, keepdim=True)
        logits_per_image = self.logit_scale.exp() * i @ t.t()
        return logits_per_image, logits_per_image.t()


# ----------------------------------------------------------------------------------------------
# Configurations.

PRESETS = {
    'ViT-B/32': dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768, vision_patch_size=32,
                     context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12),
    'RN50': dict(embed_dim=1024, image_resolution=224, vision_layers=(3, 4, 6, 3), vision_width=64, vision_patch_size=None,
                 context_length=77, vocab_size=49408, transformer_width=512, transformer_heads=8, transformer_layers=12),
}

# Reference models for the model code: architectures the two shared fixtures do not exercise
# (patch 14 on a 3x3 grid, 42-pixel images, one 64-wide head; a ResNet with a second,
# identity-shortcut block in stage 1 and 64-pixel images). The vocabulary stays 49,408 (the
# tokenizer is fixed); only the rows of the token ids used in the reference texts are non-zero and
# values keep 3 significant bits, so the gzip of the archive stays small.
ARCH_MODELS = {
    'arch-vit-p14': dict(embed_dim=32, image_resolution=42, vision_layers=2, vision_width=64, vision_patch_size=14,
                         context_length=77, vocab_size=49408, transformer_width=64, transformer_heads=1, transformer_layers=1),
    'arch-rn-2111': dict(embed_dim=32, image_resolution=64, vision_layers=(2, 1, 1, 1), vision_width=4, vision_patch_size=None,
                         context_length=77, vocab_size=49408, transformer_width=64, transformer_heads=1, transformer_layers=1),
}

# Models for the key-mapping tests only: widths below 64 (so OpenAI's width/64 head rule gives 0
# heads; they are built here with 1 head and must not be run by clip-ts), a 64-token vocabulary and
# a context of 8.
MAP_MODELS = {
    'map-vit': dict(embed_dim=8, image_resolution=16, vision_layers=2, vision_width=16, vision_patch_size=8,
                    context_length=8, vocab_size=64, transformer_width=16, transformer_heads=1, transformer_layers=2,
                    vision_heads=1),
    'map-rn': dict(embed_dim=8, image_resolution=32, vision_layers=(1, 1, 1, 1), vision_width=2, vision_patch_size=None,
                   context_length=8, vocab_size=64, transformer_width=16, transformer_heads=1, transformer_layers=1),
}


def fp16_keys(model):
    """Keys OpenAI's convert_weights stores as fp16: conv/linear/attention weights and biases, projections."""
    keys = set()
    for name, mod in model.named_modules():
        prefix = name + '.' if name else ''
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            keys.add(prefix + 'weight')
            if mod.bias is not None:
                keys.add(prefix + 'bias')
        if isinstance(mod, nn.MultiheadAttention):
            for attr in ('in_proj_weight', 'in_proj_bias', 'q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'bias_k', 'bias_v'):
                if getattr(mod, attr, None) is not None:
                    keys.add(prefix + attr)
    keys |= {'text_projection', 'visual.proj'}
    return {k for k in keys if k in dict(model.named_parameters())}


def keep_significant_bits(t, bits):
    """Rounds every value to `bits` significant bits after the leading one (so the bytes compress)."""
    mant, exp = torch.frexp(t)
    scale = 2.0 ** (bits + 1)
    return torch.ldexp(torch.round(mant * scale) / scale, exp)


def build_random(config, seed, used_token_ids=None, significant_bits=None, all_fp16_exact=False):
    """A CLIP model with random weights whose fp16 parameters are exactly fp16-representable.

    `used_token_ids`: zero every other row of the token embedding; `significant_bits`: round all
    values to that many mantissa bits. Both only make the committed files compress well; the
    architecture is exercised all the same. `all_fp16_exact`: round every float value to fp16,
    not only OpenAI's fp16 set, so that an all-fp16 copy holds the same values too.
    """
    torch.manual_seed(seed)
    model = CLIP(**config).eval()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('.weight') and ('ln_' in name or '.bn' in name or 'downsample.1' in name or name.startswith('ln_final')):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))       # norm scales near 1
            elif name.endswith('.bias'):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif name == 'logit_scale':
                p.fill_(math.log(1 / 0.07) + 0.01)
            elif p.dim() >= 2 and name not in ('token_embedding.weight',) and 'embedding' not in name:
                fan_in = p.shape[0] if name in ("text_projection", "visual.proj") else p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith('running_var'):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
            elif name.endswith('num_batches_tracked'):
                b.fill_(7)
        if significant_bits is not None:
            for _, t in list(model.named_parameters()) + [(n, b) for n, b in model.named_buffers() if b.is_floating_point()]:
                t.copy_(keep_significant_bits(t, significant_bits))
        if used_token_ids is not None:
            keep = torch.zeros(config['vocab_size'], dtype=torch.bool)
            keep[sorted(set(used_token_ids))] = True
            model.token_embedding.weight[~keep] = 0
        params = dict(model.named_parameters())
        rounded = [params[n] for n in fp16_keys(model)]
        if all_fp16_exact:
            rounded = list(params.values()) + [b for b in model.buffers() if b.is_floating_point()]
        for p in rounded:
            p.copy_(p.half().float())
    return model


def state_dict_openai_order(model):
    """The state dict in the key order of a TorchScript archive (parameters, buffers, submodules)."""
    return collections.OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())


# ----------------------------------------------------------------------------------------------
# Writers.

def write_openai(model, path, example_image, example_text):
    """torch.jit.trace (fp32), then fp16 conversion of OpenAI's fp16 set, then torch.jit.save."""
    # The traced module shares its parameters with the model it traced: trace a copy, so the
    # fp16 conversion below leaves the caller's float32 model alone.
    model = copy.deepcopy(model)
    traced = torch.jit.trace_module(model, {
        'forward': (example_image, example_text),
        'encode_image': (example_image,),
        'encode_text': (example_text,),
    })
    half = fp16_keys(model)
    with torch.no_grad():
        for name, p in traced.named_parameters():
            if name in half:
                p.data = p.data.half()
    # torch.jit.save names the archive's root folder after the file name less its extension;
    # writing to `<stem>.jit.pt` and renaming gives the root `<stem>.jit/`, which differs from the
    # final file name, as in the shared fixtures (readers must find the root from the members).
    tmp_dir = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(path)))
    try:
        stem = os.path.splitext(os.path.basename(path))[0]
        tmp = os.path.join(tmp_dir, stem + '.jit.pt')
        torch.jit.save(traced, tmp)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_open_clip(model, path, name, extras=True):
    """torch.save of an open_clip-style training checkpoint: fp32, 'module.' prefixes, a wrapper dict."""
    sd = collections.OrderedDict(('module.' + k, v.detach().clone().float() if v.is_floating_point() else v.detach().clone())
                                 for k, v in model.state_dict().items()
                                 if k not in ('input_resolution', 'context_length', 'vocab_size'))
    ckpt = {'epoch': 3, 'name': name, 'state_dict': sd}
    if extras:
        # A small optimizer-like section (floats, tuples, int keys, lists), and views that share
        # storage with state-dict tensors (a transpose, a row slice with a storage offset, a column
        # slice), so readers must honour storage_offset and strides.
        tp = sd['module.text_projection']
        emb = sd['module.token_embedding.weight']
        ckpt['optimizer'] = {
            'state': {0: {'step': torch.tensor(3.0), 'exp_avg': torch.zeros(4)}},
            'param_groups': [{'lr': 5e-4, 'betas': (0.9, 0.98), 'eps': 1e-6, 'weight_decay': 0.2, 'amsgrad': False,
                              'params': [0, 1]}],
        }
        ckpt['views'] = {'text_projection_t': tp.t(), 'embedding_rows_3_7': emb[3:7], 'embedding_cols_2_5': emb[:, 2:5]}
    torch.save(ckpt, path + '.tmp')
    os.replace(path + '.tmp', path)


def hf_state_dict(model):
    """Hugging Face CLIPModel names (ViT models only)."""
    sd = model.state_dict()
    out = collections.OrderedDict()
    cfg_text_layers = len(model.transformer.resblocks)
    cfg_vis_layers = len(model.visual.transformer.resblocks)

    def block(src, dst, width):
        w = sd[src + 'attn.in_proj_weight']
        b = sd[src + 'attn.in_proj_bias']
        for i, p in enumerate('qkv'):
            out[dst + f'self_attn.{p}_proj.weight'] = w[i * width:(i + 1) * width]
            out[dst + f'self_attn.{p}_proj.bias'] = b[i * width:(i + 1) * width]
        out[dst + 'self_attn.out_proj.weight'] = sd[src + 'attn.out_proj.weight']
        out[dst + 'self_attn.out_proj.bias'] = sd[src + 'attn.out_proj.bias']
        for a, b2 in (('ln_1', 'layer_norm1'), ('ln_2', 'layer_norm2'), ('mlp.c_fc', 'mlp.fc1'), ('mlp.c_proj', 'mlp.fc2')):
            out[dst + b2 + '.weight'] = sd[src + a + '.weight']
            out[dst + b2 + '.bias'] = sd[src + a + '.bias']

    tw = sd['ln_final.weight'].shape[0]
    vw = sd['visual.ln_pre.weight'].shape[0]
    out['text_model.embeddings.token_embedding.weight'] = sd['token_embedding.weight']
    out['text_model.embeddings.position_embedding.weight'] = sd['positional_embedding']
    out['text_model.embeddings.position_ids'] = torch.arange(sd['positional_embedding'].shape[0]).unsqueeze(0)
    for i in range(cfg_text_layers):
        block(f'transformer.resblocks.{i}.', f'text_model.encoder.layers.{i}.', tw)
    out['text_model.final_layer_norm.weight'] = sd['ln_final.weight']
    out['text_model.final_layer_norm.bias'] = sd['ln_final.bias']
    out['vision_model.embeddings.class_embedding'] = sd['visual.class_embedding']
    out['vision_model.embeddings.patch_embedding.weight'] = sd['visual.conv1.weight']
    out['vision_model.embeddings.position_embedding.weight'] = sd['visual.positional_embedding']
    out['vision_model.embeddings.position_ids'] = torch.arange(sd['visual.positional_embedding'].shape[0]).unsqueeze(0)
    out['vision_model.pre_layrnorm.weight'] = sd['visual.ln_pre.weight']
    out['vision_model.pre_layrnorm.bias'] = sd['visual.ln_pre.bias']
    for i in range(cfg_vis_layers):
        block(f'visual.transformer.resblocks.{i}.', f'vision_model.encoder.layers.{i}.', vw)
    out['vision_model.post_layernorm.weight'] = sd['visual.ln_post.weight']
    out['vision_model.post_layernorm.bias'] = sd['visual.ln_post.bias']
    out['visual_projection.weight'] = sd['visual.proj'].t()
    out['text_projection.weight'] = sd['text_projection'].t()
    out['logit_scale'] = sd['logit_scale']
    return out


ST_DTYPES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64',
             torch.int64: 'I64', torch.int32: 'I32', torch.uint8: 'U8', torch.bool: 'BOOL'}


def write_safetensors(tensors, path, metadata=None, float_dtype=None):
    """safetensors by hand: 8-byte LE header length, JSON header padded to 8 bytes, raw LE data."""
    header = {}
    if metadata:
        header['__metadata__'] = metadata
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        if float_dtype is not None and t.is_floating_point():
            t = t.to(float_dtype)
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': ST_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(',', ':')).encode('utf-8')
    hjson += b' ' * (-len(hjson) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(len(hjson).to_bytes(8, 'little'))
        f.write(hjson)
        for b in blobs:
            f.write(b)
    os.replace(path + '.tmp', path)


def write_f32(array, path):
    np.ascontiguousarray(np.asarray(array, dtype='<f4')).tofile(path)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def gzip_file(src, dst):
    # mtime=0 and no file name keep the .gz byte-for-byte reproducible.
    with open(src, 'rb') as fi, open(dst + '.tmp', 'wb') as raw:
        with gzip.GzipFile(filename='', mode='wb', compresslevel=9, fileobj=raw, mtime=0) as fo:
            shutil.copyfileobj(fi, fo)
    os.replace(dst + '.tmp', dst)


# ----------------------------------------------------------------------------------------------
# Sub-commands.

def fixture_texts(fixtures):
    m = json.load(open(os.path.join(fixtures, 'models', 'tiny-vit', 'manifest.json')))
    return [t for t in m['texts'] if t['label'] in ('text0', 'text6', 'text18')]


def tokens_tensor(texts, context_length=77):
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, t in enumerate(texts):
        out[i, :len(t['tokens'])] = torch.tensor(t['tokens'])
    return out


def cmd_test_data(args):
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    texts = fixture_texts(args.fixtures)
    used = sorted({tok for t in texts for tok in t['tokens']} | {0})
    manifest = {'format': 'clip-ts-test-weights/1', 'tool': 'tools/make_checkpoints.py test-data',
                'torch': torch.__version__, 'models': {}}

    # Reference-architecture models: OpenAI format (gzipped) + inputs + outputs.
    for seed, (name, cfg) in enumerate(ARCH_MODELS.items(), start=100):
        model = build_random(cfg, seed, used_token_ids=used, significant_bits=3)
        res = cfg['image_resolution']
        g = torch.Generator().manual_seed(seed + 7)
        images = torch.randn(2, 3, res, res, generator=g)
        tokens = tokens_tensor(texts, cfg['context_length'])
        with torch.no_grad():
            img_f = model.encode_image(images)
            txt_f = model.encode_text(tokens)
            logits_i, _ = model(images, tokens)
        pt = os.path.join(out, f'{name}.openai.pt')
        write_openai(model, pt, images, tokens)
        gzip_file(pt, pt + '.gz')
        pt_sha, pt_size = sha256_of(pt), os.path.getsize(pt)
        os.remove(pt)
        write_f32(images.numpy(), os.path.join(out, f'{name}.images.f32'))
        write_f32(img_f.numpy(), os.path.join(out, f'{name}.image_features.f32'))
        write_f32(txt_f.numpy(), os.path.join(out, f'{name}.text_features.f32'))
        write_f32(logits_i.numpy(), os.path.join(out, f'{name}.logits_per_image.f32'))
        cfg_json = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}
        manifest['models'][name] = {
            'purpose': 'reference outputs for an architecture the shared fixtures do not cover',
            'config': cfg_json,
            'heads': {'vision': (cfg['vision_width'] * 32 // 64) if isinstance(cfg['vision_layers'], tuple) else cfg['vision_width'] // 64,
                      'text': cfg['transformer_width'] // 64},
            'seed': seed,
            'checkpoint': {'file': f'{name}.openai.pt.gz', 'format': 'torchscript (gzipped; gunzip before opening)',
                           'sha256_uncompressed': pt_sha, 'bytes_uncompressed': pt_size},
            'inputs': {'images': {'file': f'{name}.images.f32', 'shape': list(images.shape)},
                       'texts': [{'label': t['label'], 'text': t['text'], 'tokens': t['tokens'], 'eot_index': t['eot_index']} for t in texts],
                       'tokens_note': 'zero-padded to context_length'},
            'outputs': {
                'image_features': {'file': f'{name}.image_features.f32', 'shape': list(img_f.shape)},
                'text_features': {'file': f'{name}.text_features.f32', 'shape': list(txt_f.shape)},
                'logits_per_image': {'file': f'{name}.logits_per_image.f32', 'shape': list(logits_i.shape)},
            },
            'logit_scale': float(model.logit_scale),
            'nonzero_token_rows': used,
        }

    # Key-mapping models: one model, several formats and namings, identical values.
    for seed, (name, cfg) in enumerate(MAP_MODELS.items(), start=200):
        model = build_random(cfg, seed, all_fp16_exact=True)
        res = cfg['image_resolution']
        images = torch.zeros(1, 3, res, res)
        tokens = torch.zeros(1, cfg['context_length'], dtype=torch.long)
        tokens[0, :3] = torch.tensor([1, 5, cfg['vocab_size'] - 1])
        files = {}
        pt = os.path.join(out, f'{name}.openai.pt')
        write_openai(model, pt, images, tokens)
        files['openai'] = os.path.basename(pt)
        oc = os.path.join(out, f'{name}.open_clip.pt')
        write_open_clip(model, oc, name)
        files['open_clip'] = os.path.basename(oc)
        if not isinstance(cfg['vision_layers'], tuple):
            hf = os.path.join(out, f'{name}.hf.safetensors')
            write_safetensors(hf_state_dict(model), hf, metadata={'format': 'pt'})
            files['hf'] = os.path.basename(hf)
            # open_clip's CustomTextCLIP layout (text tower under `text.`), fp16, as a hub safetensors.
            sd = state_dict_openai_order(model)
            custom = collections.OrderedDict()
            for k, v in sd.items():
                if k in ('input_resolution', 'context_length', 'vocab_size'):
                    continue
                custom[k if k.startswith('visual.') or k == 'logit_scale' else 'text.' + k] = v
            ct = os.path.join(out, f'{name}.custom_text.fp16.safetensors')
            write_safetensors(custom, ct, metadata={'format': 'pt', 'note': 'open_clip CustomTextCLIP naming'}, float_dtype=torch.float16)
            files['open_clip_custom_text_fp16'] = os.path.basename(ct)
        cfg_json = {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}
        manifest['models'][name] = {
            'purpose': 'key-mapping tests only (widths < 64: not runnable with OpenAI head rules)',
            'config': cfg_json, 'seed': seed, 'files': files,
            'open_clip_views': {'text_projection_t': 'state_dict.module.text_projection transposed',
                                'embedding_rows_3_7': 'state_dict.module.token_embedding.weight[3:7]',
                                'embedding_cols_2_5': 'state_dict.module.token_embedding.weight[:, 2:5]'},
        }
    with open(os.path.join(out, 'manifest.json.tmp'), 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    os.replace(os.path.join(out, 'manifest.json.tmp'), os.path.join(out, 'manifest.json'))
    for fn in sorted(os.listdir(out)):
        print(f'{os.path.getsize(os.path.join(out, fn)):>9}  {fn}')


def cmd_bench(args):
    cfg = PRESETS[args.preset]
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    model = build_random(cfg, 1)
    stem = args.preset.replace('/', '-')
    formats = args.formats.split(',')
    res = cfg['image_resolution']
    written = {}
    if 'openai' in formats:
        p = os.path.join(out, f'{stem}.random.openai.pt')
        write_openai(model, p, torch.zeros(1, 3, res, res), torch.zeros(1, cfg['context_length'], dtype=torch.long))
        written['openai'] = p
    if 'open_clip' in formats:
        p = os.path.join(out, f'{stem}.random.open_clip.pt')
        write_open_clip(model, p, stem, extras=False)
        written['open_clip'] = p
    if 'hf' in formats and not isinstance(cfg['vision_layers'], tuple):
        p = os.path.join(out, f'{stem}.random.hf.safetensors')
        write_safetensors(hf_state_dict(model), p, metadata={'format': 'pt'})
        written['hf'] = p
    print(json.dumps({k: {'path': v, 'bytes': os.path.getsize(v)} for k, v in written.items()}))


def config_from_state_dict(sd):
    """OpenAI's build_model rules (fixtures README, section 3)."""
    vit = 'visual.proj' in sd
    if vit:
        width = sd['visual.conv1.weight'].shape[0]
        layers = len({k.split('.')[3] for k in sd if k.startswith('visual.transformer.resblocks.') and k.endswith('attn.in_proj_weight')})
        patch = sd['visual.conv1.weight'].shape[-1]
        grid = round((sd['visual.positional_embedding'].shape[0] - 1) ** 0.5)
        res = patch * grid
    else:
        layers = tuple(len({k.split('.')[2] for k in sd if k.startswith(f'visual.layer{s}.')}) for s in (1, 2, 3, 4))
        width = sd['visual.layer1.0.conv1.weight'].shape[0]
        patch = None
        res = 32 * round((sd['visual.attnpool.positional_embedding'].shape[0] - 1) ** 0.5)
    tw = sd['ln_final.weight'].shape[0]
    return dict(embed_dim=sd['text_projection'].shape[1], image_resolution=res, vision_layers=layers, vision_width=width,
                vision_patch_size=patch, context_length=sd['positional_embedding'].shape[0],
                vocab_size=sd['token_embedding.weight'].shape[0], transformer_width=tw, transformer_heads=tw // 64,
                transformer_layers=len({k.split('.')[2] for k in sd if k.startswith('transformer.resblocks.')}))


def cmd_check_arch(args):
    fx = args.fixtures
    ok = True
    for name in ('tiny-vit', 'tiny-rn'):
        man = json.load(open(os.path.join(fx, 'models', name, 'manifest.json')))
        sd = torch.jit.load(os.path.join(fx, 'weights', f'{name}.pt'), map_location='cpu').state_dict()
        sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
        model = CLIP(**config_from_state_dict(sd)).eval()
        model.load_state_dict(sd)
        images = torch.stack([torch.from_numpy(np.fromfile(os.path.join(fx, 'preprocess', f'{im}.224.f32'), dtype='<f4').reshape(3, 224, 224))
                              for im in man['images']])
        tokens = tokens_tensor(man['texts'])
        with torch.no_grad():
            got = {'image_features': model.encode_image(images), 'text_features': model.encode_text(tokens)}
        for key, value in got.items():
            ref = np.fromfile(os.path.join(fx, 'models', name, f'{key}.f32'), dtype='<f4').reshape(value.shape)
            diff = float(np.abs(value.numpy() - ref).max())
            rel = float(np.linalg.norm(value.numpy() - ref) / np.linalg.norm(ref))
            good = rel < 1e-5
            ok &= good
            print(f'{name} {key}: max_abs {diff:.3e} rel_l2 {rel:.3e} {"ok" if good else "MISMATCH"}')
    return 0 if ok else 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_fixtures = os.environ.get('CLIP_TS_SHARED', os.path.join(here, '..', '..', 'shared'))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('test-data')
    p.add_argument('--out', required=True)
    p.add_argument('--fixtures', default=os.path.join(default_fixtures, 'fixtures'))
    p = sub.add_parser('bench')
    p.add_argument('--preset', choices=sorted(PRESETS), required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--formats', default='openai,open_clip,hf')
    p = sub.add_parser('check-arch')
    p.add_argument('--fixtures', default=os.path.join(default_fixtures, 'fixtures'))
    args = ap.parse_args()
    if args.cmd == 'test-data':
        cmd_test_data(args)
        return 0
    if args.cmd == 'bench':
        cmd_bench(args)
        return 0
    return cmd_check_arch(args)


if __name__ == '__main__':
    sys.exit(main())
