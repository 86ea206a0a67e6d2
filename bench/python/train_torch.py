"""PyTorch peer for bench/train.ts: the time of one contrastive training step.

  train_torch.py PRESET BATCH STEPS THREADS [bf16]  -> one JSON line {"torch": version, "ms": [...], "loss": [...], "maxRssMB": peak RSS}

The model is the CLIP definition of tools/make_checkpoints.py (randomly initialised), in float32,
eager mode. One step is what clip-ts's trainStep does: zero the gradients, encode the batch's
images and texts, the symmetric cross-entropy over the N x N logits, backward, AdamW (lr 5e-4,
betas (0.9, 0.98), eps 1e-6, weight decay 0.2 on the matrices, none on gains, biases, embeddings
and logit_scale) and the clamp of logit_scale to [0, ln 100]. Inputs are fixed random images and
token rows (the same batch every step: this measures compute, not data loading).
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

from openblas_handle import openblas

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
import make_checkpoints as mc  # noqa: E402


def token_rows(batch, context=77, vocab=49408):
    # Start token, 6-20 ids, end token; the same rows bench/train.ts makes.
    rows = torch.zeros(batch, context, dtype=torch.long)
    for b in range(batch):
        n = 6 + (b * 7) % 15
        ids = [49406] + [1000 + (b * 131 + t * 17) % 40000 for t in range(n)] + [49407]
        rows[b, :len(ids)] = torch.tensor(ids)
    return rows


def main():
    preset, batch, steps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    # bf16: CPU autocast (matmuls and linear layers in bfloat16, fp32 master weights), PyTorch's
    # mixed precision on CPU.
    bf16 = len(sys.argv) > 5 and sys.argv[5] == 'bf16'
    torch.set_num_threads(threads)
    lib = openblas()
    if lib is not None:
        lib.openblas_set_num_threads(threads)
    torch.manual_seed(0)
    model = mc.CLIP(**mc.PRESETS[preset]).float().train()
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or 'embedding' in name or name == 'logit_scale' else decay).append(p)
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.2}, {'params': no_decay, 'weight_decay': 0.0}],
                            lr=5e-4, betas=(0.9, 0.98), eps=1e-6)
    res = model.input_resolution.item()
    images = torch.randn(batch, 3, res, res, generator=torch.Generator().manual_seed(1))
    text = token_rows(batch)
    labels = torch.arange(batch)

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            i = model.encode_image(images)
            t = model.encode_text(text)
        i = i.float()
        t = t.float()
        i = i / i.norm(dim=1, keepdim=True)
        t = t / t.norm(dim=1, keepdim=True)
        logits = model.logit_scale.exp() * i @ t.t()
        loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        return loss.item()

    step()  # warm-up
    ms, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        losses.append(step())
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({'torch': torch.__version__, 'ms': ms, 'loss': losses,
                      'maxRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == '__main__':
    main()
