#!/usr/bin/python3
"""The PyTorch peer of clip-ts's emoji training run, for an accuracy comparison (GitHub issue #8).

Written for clip-ts (tools/README.md, section "train_emoji_torch.py (training)"). Run with Debian's
Python (/usr/bin/python3: python3-torch 1.13, torchvision, PIL, numpy). Trains the tiny-vit-64
CLIP (the architecture of tools/make_checkpoints.py) on the emoji set with the recipe of

  clip-ts train --preset tiny-vit-64 --data data/emoji/captions.jsonl --caption-column captions
    --filter style=noto,twemoji,fluent-flat --batch-size 256 --epochs 24 --lr 5e-4 --wd 0.2 --seed 0
    --eval-zeroshot data/emoji/labels.csv --eval-filter style=openmoji,fluent-color,fluent-mono,noto-v1-blob,emojione-v1
    --eval-filter label=@data/emoji/classes_all_styles.txt --eval-templates emoji
    --val-data data/emoji/captions.jsonl --val-filter style=openmoji --val-max 1000

and evaluates it the same way (zero-shot top-1/top-5 with the emoji templates ensembled, retrieval
recall@1/5 and the held-out loss on 1000 openmoji images with their first caption).

What is mirrored: clip-ts's initialisation rules (src/model/init.ts; same distributions, not the same
random numbers), the training rows, their epoch orders (clip-ts's own permutations), the caption
variant of each sample and epoch (sha256 of "seed\\0epoch\\0index", checked against clip-ts), full
batches with each epoch's tail dropped, the symmetric contrastive loss, AdamW (0.9, 0.98, 1e-6) with
weight decay on the weight matrices only, linear warm-up (5 % of the steps, at most 2000; rate
(s+1)/warmup * lr at 0-based step s) then cosine to 0, the update skipped on a non-finite loss or
gradient, logit_scale clamped to [0, ln 100] after every step, text positions cut after the batch's
last end token (exact), and the evaluation's prompts, classes, class order, tie-breaking and
held-out pairs. Augmentation: a random resized crop (scale 0.9-1, ratio 3/4-4/3, bicubic) then
CLIP's normalisation; --crops torchvision (default) draws it with torchvision's RandomResizedCrop
(per-sample seeded), --crops clip-ts uses the very boxes clip-ts draws (Pillow resize of the box).

Tokens come from clip-ts's own tokenizer: tools/emoji_tokens.mjs (run with node, needs dist/) writes
them, with the sample lists, into OUT/tokens/ (or give --tokens DIR made by it).

Output: OUT/run.json, OUT/metrics.jsonl (train rows every --log-every steps, eval rows), OUT/result.json,
OUT/model.pt (state dict), OUT/checkpoint.pt (with --checkpoint-every; --resume continues it).
"""
import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as TF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_checkpoints import CLIP  # noqa: E402  (our PyTorch CLIP definition)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# src/train/presets.ts, tiny-vit-64.
TINY_VIT_64 = dict(embed_dim=192, image_resolution=64, vision_layers=6, vision_width=192, vision_patch_size=8,
                   context_length=77, vocab_size=49408, transformer_width=192, transformer_heads=3, transformer_layers=6,
                   vision_heads=3)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
MAX_LOGIT_SCALE = math.log(100)
CROP_SCALE = (0.9, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
TRAIN_STYLES = 'noto,twemoji,fluent-flat'
EVAL_STYLES = 'openmoji,fluent-color,fluent-mono,noto-v1-blob,emojione-v1'


# ----------------------------------------------------------------------------------------------
# Initialisation (src/model/init.ts: OpenAI's initialize_parameters, applied to both towers).

def init_rule(name, shape, cfg):
    """(kind, value) of one parameter: ('normal', std), ('uniform', bound) or ('const', value)."""
    text = not name.startswith('visual.')
    width = cfg['transformer_width'] if text else cfg['vision_width']
    layers = cfg['transformer_layers'] if text else cfg['vision_layers']
    last = name.rsplit('.', 1)[-1]
    if name == 'logit_scale':
        return ('const', math.log(1 / 0.07))
    if name == 'token_embedding.weight':
        return ('normal', 0.02)
    if name == 'positional_embedding':
        return ('normal', 0.01)
    if name == 'text_projection':
        return ('normal', cfg['transformer_width'] ** -0.5)
    if name in ('visual.class_embedding', 'visual.positional_embedding', 'visual.proj'):
        return ('normal', width ** -0.5)
    if '.' in name and name.split('.')[-2].startswith('ln_') or name.startswith('ln_final.'):
        return ('const', 1.0 if last == 'weight' else 0.0)
    if name.endswith('attn.in_proj_weight'):
        return ('normal', width ** -0.5)
    if name.endswith('attn.in_proj_bias') or name.endswith('attn.out_proj.bias'):
        return ('const', 0.0)
    if name.endswith('attn.out_proj.weight') or name.endswith('mlp.c_proj.weight'):
        return ('normal', width ** -0.5 * (2 * layers) ** -0.5)
    if name.endswith('mlp.c_fc.weight'):
        return ('normal', (2 * width) ** -0.5)
    if name.endswith('mlp.c_fc.bias'):
        return ('uniform', 1 / math.sqrt(width))
    if name.endswith('mlp.c_proj.bias'):
        return ('uniform', 1 / math.sqrt(4 * width))
    if len(shape) == 4:  # the patch convolution (no bias): PyTorch's default uniform(+-1/sqrt(fan_in))
        return ('uniform', 1 / math.sqrt(math.prod(shape[1:])))
    raise ValueError(f'no initialisation rule for {name} {tuple(shape)}')


def build_model(cfg, seed):
    torch.manual_seed(seed)
    model = CLIP(**cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            kind, v = init_rule(name, tuple(p.shape), cfg)
            if kind == 'normal':
                p.normal_(0, v)
            elif kind == 'uniform':
                p.uniform_(-v, v)
            else:
                p.fill_(v)
    return model


def param_groups(model, wd):
    """src/train/param-groups.ts: decay the weight matrices only (not rank < 2, embeddings, logit_scale)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or 'embedding' in name or name == 'logit_scale' else decay).append(p)
    return [{'params': decay, 'weight_decay': wd, 'name': 'decay'}, {'params': no_decay, 'weight_decay': 0.0, 'name': 'no_decay'}]


def cosine_lr(step, base, total, warmup, min_lr=0.0):
    """src/train/schedule.ts: the rate of the update with 0-based index `step`."""
    if step < warmup:
        return base * (step + 1) / warmup
    decay = max(1, total - warmup)
    e = min(step - warmup, decay)
    return min_lr + 0.5 * (base - min_lr) * (1 + math.cos(math.pi * e / decay))


def js_round(x):
    """JavaScript's Math.round (halves up), as clip-ts computes the default warm-up."""
    return math.floor(x + 0.5)


# ----------------------------------------------------------------------------------------------
# The model's forward passes (text cut after the batch's last end token, as clip-ts does).

_CAUSAL = {}


def encode_text(model, tokens, full_context=False):
    ctx = model.positional_embedding.shape[0]
    eot = tokens.argmax(dim=-1)  # first occurrence of the largest id: the first end-of-text token
    L = ctx if full_context else int(eot.max()) + 1
    if L not in _CAUSAL:
        _CAUSAL[L] = torch.full((L, L), float('-inf')).triu(1)
    for blk in model.transformer.resblocks:  # the causal mask of make_checkpoints' blocks, cut to L
        blk.attn_mask = _CAUSAL[L]
    x = model.token_embedding(tokens[:, :L]) + model.positional_embedding[:L]
    x = model.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
    x = model.ln_final(x)
    return x[torch.arange(x.shape[0]), eot] @ model.text_projection


def clip_loss(image_features, text_features, logit_scale):
    """src/train/clip-loss.ts: the mean of the image->text and text->image cross-entropies."""
    logits = logit_scale.exp() * F.normalize(image_features, dim=1) @ F.normalize(text_features, dim=1).t()
    target = torch.arange(logits.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


# ----------------------------------------------------------------------------------------------
# Data.

def caption_variant(seed, epoch, index, count):
    """src/train/pair-dataset.ts captionFor: sha256("seed\\0epoch\\0index"), first 4 bytes big-endian, mod count."""
    if count <= 1:
        return 0
    d = hashlib.sha256(f'{seed}\0{epoch}\0{index}'.encode('utf-8')).digest()
    return int.from_bytes(d[:4], 'big') % count


def load_tokens(tok_dir):
    with open(os.path.join(tok_dir, 'index.json'), encoding='utf-8') as f:
        index = json.load(f)
    arrays = {}
    for key in ('train', 'epoch_orders', 'crop_boxes', 'zeroshot', 'val'):
        spec = index[key]
        arrays[key] = np.memmap(os.path.join(tok_dir, spec['file']), dtype=np.dtype(spec['dtype']).newbyteorder('<'),
                                mode='r', shape=tuple(spec['shape']))
    return index, arrays


def make_tokens(args, tok_dir):
    """Runs tools/emoji_tokens.mjs unless tok_dir already holds its output for this data, seed and epochs."""
    idx_file = os.path.join(tok_dir, 'index.json')
    if os.path.exists(idx_file):
        with open(idx_file, encoding='utf-8') as f:
            index = json.load(f)
        if index.get('seed') == args.seed and index.get('epochs', 0) >= args.epochs and index.get('data') == os.path.abspath(args.data):
            return
    cmd = [args.node, os.path.join(HERE, 'emoji_tokens.mjs'), '--data', os.path.abspath(args.data), '--out', tok_dir,
           '--seed', str(args.seed), '--epochs', str(args.epochs)]
    print('train_emoji_torch: ' + ' '.join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def normalize_tensor(img):
    return TF.normalize(TF.to_tensor(img), CLIP_MEAN, CLIP_STD)


class TrainBatches(torch.utils.data.Dataset):
    """Item s is the whole batch of 0-based step s: images [B, 3, S, S] and tokens [B, 77]."""

    def __init__(self, data_dir, index, arrays, seed, batch_size, size, crops):
        self.paths = [os.path.join(data_dir, p) for p in index['train']['images']]
        self.counts = index['train']['variant_counts']
        self.tokens = arrays['train']
        self.orders = arrays['epoch_orders']
        self.boxes = arrays['crop_boxes']
        self.seed, self.B, self.size, self.crops = seed, batch_size, size, crops
        self.per_epoch = len(self.paths) // batch_size  # each epoch's tail is dropped
        self.box_size = tuple(index['crop_boxes']['image_size'])

    def __len__(self):
        return self.per_epoch * self.orders.shape[0]

    def image(self, i, epoch):
        with Image.open(self.paths[i]) as im:
            im.load()
            img = im.convert('RGB') if self.crops == 'torchvision' else im.copy()
        if self.crops == 'clip-ts':
            # The box clip-ts drew for sample i in this epoch, resized as Pillow does (clip-ts's crop
            # resizes the region in the image's mode, then converts to RGB).
            if img.size != self.box_size:
                raise ValueError(f'{self.paths[i]}: {img.size} image, but the clip-ts crop boxes are for {self.box_size}')
            left, top, w, h = (int(v) for v in self.boxes[epoch, i])
            img = img.resize((self.size, self.size), Image.BICUBIC, box=(left, top, left + w, top + h)).convert('RGB')
        else:
            # torchvision's RandomResizedCrop, drawn from a generator seeded by (seed, epoch, index) so
            # that the crops do not depend on the worker layout or on resuming.
            word = hashlib.sha256(f'crop\0{self.seed}\0{epoch}\0{i}'.encode()).digest()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int.from_bytes(word[:8], 'big') & ((1 << 63) - 1))
                top, left, h, w = T.RandomResizedCrop.get_params(img, CROP_SCALE, CROP_RATIO)
            img = TF.resized_crop(img, top, left, h, w, [self.size, self.size], T.InterpolationMode.BICUBIC)
        return normalize_tensor(img)

    def __getitem__(self, step):
        epoch, b = divmod(step, self.per_epoch)
        idx = [int(i) for i in self.orders[epoch, b * self.B:(b + 1) * self.B]]
        images = torch.stack([self.image(i, epoch) for i in idx])
        tokens = np.stack([self.tokens[i, caption_variant(self.seed, epoch, i, self.counts[i])] for i in idx])
        return images, torch.from_numpy(tokens.astype(np.int64))


def worker_init(_):
    torch.set_num_threads(1)


# ----------------------------------------------------------------------------------------------
# Evaluation (src/train/evaluate.ts, src/eval/zeroshot*.ts, src/train/retrieval.ts).

def eval_images(model, paths, size, batch):
    pre = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size)])
    out = []
    for s in range(0, len(paths), batch):
        imgs = []
        for p in paths[s:s + batch]:
            with Image.open(p) as im:
                imgs.append(normalize_tensor(pre(im.convert('RGB'))))
        out.append(model.encode_image(torch.stack(imgs)))
    return torch.cat(out)


def eval_texts(model, tokens, batch):
    t = torch.from_numpy(np.asarray(tokens, dtype=np.int64))
    return torch.cat([encode_text(model, t[s:s + batch]) for s in range(0, t.shape[0], batch)])


def ranks_of(scores, targets):
    """Rank of each row's target: classes scoring higher, then equal ones with a lower index (clip-ts's topIndices)."""
    own = scores.gather(1, targets[:, None])
    idx = torch.arange(scores.shape[1])[None, :]
    return (scores > own).sum(1) + ((scores == own) & (idx < targets[:, None])).sum(1)


def best_partner_ranks(sim, partners):
    """For each query row: candidates scoring strictly above its best partner (retrieval.ts)."""
    out = torch.empty(sim.shape[0], dtype=torch.long)
    for q, ps in enumerate(partners):
        best = sim[q, ps].max()
        out[q] = (sim[q] > best).sum()
    return out


@torch.no_grad()
def evaluate(model, size, data_dir, index, arrays, step, loss_batch, batch=256):
    was = model.training
    model.eval()
    t0 = time.perf_counter()
    row = {'kind': 'eval', 'step': step}
    # Held-out retrieval and loss: distinct images and captions, (image, text) links.
    v = index['val']
    img_row, txt_row, images, texts, links = {}, {}, [], [], []
    for k, (p, c) in enumerate(zip(v['images'], v['captions'])):
        if p not in img_row:
            img_row[p] = len(images)
            images.append(p)
        if c not in txt_row:
            txt_row[c] = len(texts)
            texts.append(k)  # a row of val_tokens holding this caption
        links.append((img_row[p], txt_row[c]))
    if len(links) >= 2:
        fi = eval_images(model, [os.path.join(data_dir, p) for p in images], size, batch)
        ft = eval_texts(model, arrays['val'][texts], batch)
        sim = F.normalize(fi, dim=1) @ F.normalize(ft, dim=1).t()
        texts_of = [[] for _ in images]
        images_of = [[] for _ in texts]
        for i, t in links:
            texts_of[i].append(t)
            images_of[t].append(i)
        r_i2t = best_partner_ranks(sim, texts_of)
        r_t2i = best_partner_ranks(sim.t(), images_of)
        for k in (1, 5):
            row[f'image_to_text_r{k}'] = 100.0 * (r_i2t < k).double().mean().item()
            row[f'text_to_image_r{k}'] = 100.0 * (r_t2i < k).double().mean().item()
        B = min(loss_batch, len(links))
        losses = []
        for s in range(0, len(links) - B + 1, B):
            part = links[s:s + B]
            losses.append(clip_loss(fi[[i for i, _ in part]], ft[[t for _, t in part]], model.logit_scale).item())
        row['val_loss'] = sum(losses) / len(losses)
        row['val_images'] = len(images)
        row['val_texts'] = len(texts)
    # Zero-shot: mean of the normalised prompt embeddings of each class, normalised again.
    z = index['zeroshot']
    C, Tm, L = z['shape']
    prompts = F.normalize(eval_texts(model, np.asarray(arrays['zeroshot']).reshape(C * Tm, L), batch), dim=1)
    weights = F.normalize(prompts.reshape(C, Tm, -1).mean(dim=1), dim=1)
    feats = eval_images(model, [os.path.join(data_dir, p) for p in z['images']], size, batch)
    logits = 100.0 * F.normalize(feats, dim=1) @ weights.t()
    labels = torch.tensor(z['labels'], dtype=torch.long)
    ranks = ranks_of(logits, labels)
    k5 = min(5, C)
    row['zeroshot_top1'] = 100.0 * (ranks < 1).double().mean().item()
    row['zeroshot_top5'] = 100.0 * (ranks < k5).double().mean().item()
    row['zeroshot_images'] = len(z['images'])
    row['zeroshot_classes'] = C
    styles = [p.split('/')[-2] for p in z['images']]
    per_style = {}
    for st in z['styles']:
        m = torch.tensor([s == st for s in styles])
        if m.any():
            per_style[st] = {'top1': 100.0 * (ranks[m] < 1).double().mean().item(), 'top5': 100.0 * (ranks[m] < k5).double().mean().item(),
                             'images': int(m.sum())}
    row['zeroshot_per_style'] = per_style
    row['eval_seconds'] = time.perf_counter() - t0
    model.train(was)
    return row


# ----------------------------------------------------------------------------------------------
# The run.

def append_jsonl(path, row):
    with open(path, 'a', encoding='utf-8') as f:
        f.write(json.dumps(row) + '\n')


def truncate_metrics(path, step):
    """Keeps the rows up to `step` (a resumed run rewrites what came after its checkpoint)."""
    if not os.path.exists(path):
        return
    with open(path, encoding='utf-8') as f:
        rows = [l for l in f if l.strip() and json.loads(l)['step'] <= step]
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(rows)


def save_atomic(obj, path):
    tmp = path + '.tmp'
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=os.path.join(REPO, 'data', 'emoji'), help='the emoji set (clip-ts datasets build emoji)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--epochs', type=int, default=24)
    ap.add_argument('--batch-size', type=int, default=256)
    ap.add_argument('--lr', type=float, default=5e-4)
    ap.add_argument('--wd', type=float, default=0.2)
    ap.add_argument('--warmup', type=int, default=None, help='default: 5%% of the steps, at most 2000 (clip-ts)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=os.cpu_count(), help='torch compute threads')
    ap.add_argument('--workers', type=int, default=2, help='DataLoader worker processes (0: load in the main process)')
    ap.add_argument('--crops', choices=('torchvision', 'clip-ts'), default='torchvision',
                    help="torchvision: RandomResizedCrop drawn here; clip-ts: the crop boxes clip-ts's run uses")
    ap.add_argument('--limit-steps', type=int, default=None, help='stop after N steps of this session (the schedule stays that of the full run)')
    ap.add_argument('--eval-every', type=int, default=0, help='evaluate every N steps and at step 0 (default: only at the end)')
    ap.add_argument('--no-final-eval', action='store_true', help='skip the evaluation at the end (timing runs)')
    ap.add_argument('--log-every', type=int, default=10)
    ap.add_argument('--checkpoint-every', type=int, default=0, help='write OUT/checkpoint.pt every N steps (0: never)')
    ap.add_argument('--resume', action='store_true', help="continue OUT/checkpoint.pt if there is one")
    ap.add_argument('--tokens', default=None, help='a folder written by tools/emoji_tokens.mjs (default OUT/tokens, made when missing)')
    ap.add_argument('--node', default='node')
    args = ap.parse_args()

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    data_dir = os.path.abspath(args.data)
    tok_dir = os.path.abspath(args.tokens) if args.tokens else os.path.join(args.out, 'tokens')
    if args.tokens is None:
        make_tokens(args, tok_dir)
    index, arrays = load_tokens(tok_dir)
    if index['epochs'] < args.epochs or index['seed'] != args.seed:
        sys.exit(f'{tok_dir} holds {index["epochs"]} epoch orders for seed {index["seed"]}; need {args.epochs} for seed {args.seed}')
    for c in index['caption_check']:
        mine = caption_variant(args.seed, c['epoch'], c['index'], index['train']['variant_counts'][c['index']])
        if mine != c['variant']:
            sys.exit(f'caption variant of sample {c["index"]} in epoch {c["epoch"]}: {mine} here, {c["variant"]} in clip-ts')

    cfg = TINY_VIT_64
    size = cfg['image_resolution']
    n = index['train']['shape'][0]
    per_epoch = n // args.batch_size
    if per_epoch < 1:
        sys.exit(f'{n} training pairs do not fill one batch of {args.batch_size}')
    total = per_epoch * args.epochs
    warmup = args.warmup if args.warmup is not None else min(2000, js_round(0.05 * total))
    options = {'batch_size': args.batch_size, 'steps': total, 'epochs': args.epochs, 'lr': args.lr, 'warmup_steps': warmup,
               'min_lr': 0.0, 'weight_decay': args.wd, 'betas': [0.9, 0.98], 'eps': 1e-6, 'seed': args.seed, 'crops': args.crops,
               'model': 'tiny-vit-64', 'data_fingerprint': index['fingerprint'], 'train_pairs': n}

    metrics = os.path.join(args.out, 'metrics.jsonl')
    ckpt_file = os.path.join(args.out, 'checkpoint.pt')
    model = build_model(cfg, args.seed)
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    step, train_seconds, elapsed_before, skipped_steps = 0, 0.0, 0.0, 0
    if args.resume and os.path.exists(ckpt_file):
        ck = torch.load(ckpt_file)
        if ck['options'] != options:
            sys.exit(f'cannot resume {args.out} with different options: {ck["options"]} vs {options}')
        model.load_state_dict(ck['model'])
        opt.load_state_dict(ck['optimizer'])
        step, train_seconds, elapsed_before, skipped_steps = ck['step'], ck['train_seconds'], ck['elapsed_seconds'], ck['skipped_steps']
        truncate_metrics(metrics, step)
        print(f'train_emoji_torch: resumed at step {step}', file=sys.stderr)
    else:
        if os.path.exists(ckpt_file):
            sys.exit(f'{args.out} holds a checkpoint: pass --resume, or choose another --out')
        open(metrics, 'w').close()
    with open(os.path.join(args.out, 'run.json'), 'w', encoding='utf-8') as f:
        json.dump({'format': 'clip-ts-emoji-torch-run', 'options': options, 'threads': args.threads, 'workers': args.workers,
                   'torch': torch.__version__, 'torchvision': torchvision.__version__, 'tokens': tok_dir}, f, indent=2)
    params = sum(p.numel() for p in model.parameters())
    end = total if args.limit_steps is None else min(total, step + args.limit_steps)
    print(f'train_emoji_torch: tiny-vit-64, {params / 1e6:.2f}M parameters; {n} training pairs; {total} steps of '
          f'{args.batch_size} ({args.epochs} epochs, warm-up {warmup}); this session: steps {step}..{end}; '
          f'{args.threads} thread(s), {args.workers} worker(s), crops {args.crops}', file=sys.stderr)

    last_eval = None
    if step == 0 and args.eval_every > 0 and end > 0:
        last_eval = evaluate(model, size, data_dir, index, arrays, 0, args.batch_size)
        append_jsonl(metrics, last_eval)
        print(f'eval @ 0: {json.dumps({k: v for k, v in last_eval.items() if k != "zeroshot_per_style"})}', file=sys.stderr)

    ds = TrainBatches(data_dir, index, arrays, args.seed, args.batch_size, size, args.crops)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, sampler=list(range(step, end)), num_workers=args.workers,
                                         worker_init_fn=worker_init if args.workers > 0 else None)
    model.train()
    log_loss, log_n, log_samples = 0.0, 0, 0
    session_steps = 0
    step_times = []
    t_prev = log_t = time.perf_counter()
    for images, tokens in loader:
        t_data = time.perf_counter()
        cpu0 = time.process_time()
        lr = cosine_lr(step, args.lr, total, warmup)
        for g in opt.param_groups:
            g['lr'] = lr
        opt.zero_grad(set_to_none=True)
        loss = clip_loss(model.encode_image(images), encode_text(model, tokens), model.logit_scale)
        loss.backward()
        grad_norm = torch.norm(torch.stack([p.grad.detach().norm() for p in model.parameters() if p.grad is not None])).item()
        loss_v = loss.item()
        if math.isfinite(loss_v) and math.isfinite(grad_norm):
            opt.step()
        else:
            skipped_steps += 1
        with torch.no_grad():
            model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
        opt.zero_grad(set_to_none=True)
        now = time.perf_counter()
        # cpu: this process's CPU seconds for the step (with one thread, the step's time on an idle core)
        step_times.append({'step': step + 1, 'wait': t_data - t_prev, 'compute': now - t_data, 'cpu': time.process_time() - cpu0})
        train_seconds += now - t_prev
        step += 1
        session_steps += 1
        if math.isfinite(loss_v):
            log_loss += loss_v
            log_n += 1
        log_samples += args.batch_size
        finished = step >= total
        if step % args.log_every == 0 or step == end:
            row = {'kind': 'train', 'step': step, 'epoch': (step - 1) // per_epoch, 'loss': log_loss / log_n if log_n else float('nan'),
                   'lr': lr, 'logit_scale': model.logit_scale.item(), 'grad_norm': grad_norm,
                   'samples_per_second': log_samples / max(1e-9, now - log_t), 'samples_seen': step * args.batch_size,
                   'skipped_steps': skipped_steps, 'train_seconds': train_seconds,
                   'elapsed_seconds': elapsed_before + time.perf_counter() - t_start}
            append_jsonl(metrics, row)
            print(f'step {step}/{total}: loss {row["loss"]:.4f} lr {lr:.3g} logit_scale {row["logit_scale"]:.4f} '
                  f'{row["samples_per_second"]:.1f} samples/s', file=sys.stderr)
            log_loss, log_n, log_samples = 0.0, 0, 0
        if (args.eval_every > 0 and step % args.eval_every == 0 and not finished) or (finished and not args.no_final_eval):
            last_eval = evaluate(model, size, data_dir, index, arrays, step, args.batch_size)
            append_jsonl(metrics, last_eval)
            print(f'eval @ {step}: {json.dumps({k: v for k, v in last_eval.items() if k != "zeroshot_per_style"})}', file=sys.stderr)
        if args.checkpoint_every > 0 and (step % args.checkpoint_every == 0 or step == end):
            save_atomic({'options': options, 'model': model.state_dict(), 'optimizer': opt.state_dict(), 'step': step,
                         'train_seconds': train_seconds, 'elapsed_seconds': elapsed_before + time.perf_counter() - t_start,
                         'skipped_steps': skipped_steps}, ckpt_file)
        t_prev = time.perf_counter()
        if step % args.log_every == 0:
            log_t = t_prev  # samples/s of the next row: training only, not this evaluation or checkpoint
    finished = step >= total
    if not finished and not args.no_final_eval and session_steps > 0 and (last_eval is None or last_eval['step'] != step):
        last_eval = evaluate(model, size, data_dir, index, arrays, step, args.batch_size)
        append_jsonl(metrics, last_eval)
    if finished:
        torch.save(model.state_dict(), os.path.join(args.out, 'model.pt'))

    # Seconds per step of this session, the first step (start-up, first batch) left out when there are more.
    timed = step_times[1:] if len(step_times) > 1 else step_times
    result = {
        'format': 'clip-ts-emoji-torch-result', 'finished': finished, 'steps': step, 'total_steps': total,
        'session_steps': session_steps, 'options': options, 'threads': args.threads, 'workers': args.workers,
        'torch': torch.__version__, 'torchvision': torchvision.__version__, 'parameters': params,
        'wall_seconds': elapsed_before + time.perf_counter() - t_start, 'session_wall_seconds': time.perf_counter() - t_start,
        'train_seconds': train_seconds,
        'seconds_per_step': sum(t['wait'] + t['compute'] for t in timed) / max(1, len(timed)),
        'compute_seconds_per_step': sum(t['compute'] for t in timed) / max(1, len(timed)),
        'cpu_seconds_per_step': sum(t['cpu'] for t in timed) / max(1, len(timed)),
        'samples_per_second': args.batch_size * len(timed) / max(1e-9, sum(t['wait'] + t['compute'] for t in timed)),
        'step_times': step_times, 'skipped_steps': skipped_steps,
        'logit_scale': model.logit_scale.item(),
    }
    if last_eval is not None:
        result['eval'] = last_eval
        for k in ('zeroshot_top1', 'zeroshot_top5', 'zeroshot_per_style', 'image_to_text_r1', 'image_to_text_r5',
                  'text_to_image_r1', 'text_to_image_r5', 'val_loss'):
            if k in last_eval:
                result[k] = last_eval[k]
    with open(os.path.join(args.out, 'result.json'), 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=2)
    print(f'train_emoji_torch: {step}/{total} steps, {result["seconds_per_step"]:.2f} s/step; result {os.path.join(args.out, "result.json")}',
          file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
