"""PyTorch peer for bench/blocks.ts: forward+backward of a Transformer MLP block and of one
residual attention block (OpenAI CLIP's ResidualAttentionBlock), timed at each thread count.
Prints one JSON line: {"threads": {"1": {...}, "2": {...}}} with per-run milliseconds."""
import json
import sys
import time

import torch

from openblas_handle import openblas
import torch.nn as nn


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Block(nn.Module):
    """Pre-LN residual attention block, as in CLIP (our own definition, same maths)."""

    def __init__(self, width, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width * 4), QuickGELU(), nn.Linear(width * 4, width))
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


def timed(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out



def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    torch.manual_seed(0)
    results = {}
    lib = openblas()
    for threads in (1, 2):
        torch.set_num_threads(threads)
        if lib is not None:
            lib.openblas_set_num_threads(threads)
        # MLP: x[3200, 768] -> Linear 3072 -> QuickGELU -> Linear 768
        mlp = nn.Sequential(nn.Linear(768, 3072), QuickGELU(), nn.Linear(3072, 768))
        x = torch.randn(3200, 768, requires_grad=True)
        g = torch.randn(3200, 768)

        def mlp_step():
            for p in mlp.parameters():
                p.grad = None
            x.grad = None
            mlp(x).backward(g)

        # One residual attention block of ViT-B width: 768 wide, 12 heads, 50 tokens, batch 64
        # (nn.MultiheadAttention takes [tokens, batch, width]).
        block = Block(768, 12)
        xb = torch.randn(50, 64, 768, requires_grad=True)
        gb = torch.randn(50, 64, 768)

        def block_step():
            for p in block.parameters():
                p.grad = None
            xb.grad = None
            block(xb).backward(gb)

        results[str(threads)] = {"mlp": timed(mlp_step, reps), "block": timed(block_step, reps)}
    core = lib.openblas_get_corename().decode() if lib is not None else "unknown"
    print(json.dumps({"torch": torch.__version__, "blas": core, "threads": results}))


if __name__ == "__main__":
    main()
