"""PyTorch peer for bench/kernels.ts: the same kernels on the same shapes, at each thread count.

Usage: kernels_torch.py '<json config>'. The config names the thread counts and shapes; this
script prints one JSON line {"threads": {"1": {...}, "2": {...}}, "blas": "..."} of median
milliseconds per measurement, so bench/kernels.ts can pick PyTorch's fastest thread count per row.
"""
import json
import sys
import time

import torch

from openblas_handle import openblas


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    n = len(ts)
    return ts[n // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2


def attention_packed(qkv, B, T, H, D):
    """What nn.MultiheadAttention does from the packed in-projection output: split heads
    (copies), bmm, scale, softmax, bmm, merge heads (copy)."""
    W = H * D
    q, k, v = qkv.split(W, dim=-1)
    q = q.reshape(B, T, H, D).transpose(1, 2).reshape(B * H, T, D)
    k = k.reshape(B, T, H, D).transpose(1, 2).reshape(B * H, T, D)
    v = v.reshape(B, T, H, D).transpose(1, 2).reshape(B * H, T, D)
    s = torch.bmm(q * (D ** -0.5), k.transpose(1, 2))
    p = torch.softmax(s, dim=-1)
    o = torch.bmm(p, v)
    return o.reshape(B, H, T, D).transpose(1, 2).reshape(B, T, W)


def attention_core(q, k, v, D):
    """The attention maths alone on head-major [B·H, T, D] inputs: bmm + softmax + bmm."""
    s = torch.bmm(q, k.transpose(1, 2)) * (D ** -0.5)
    return torch.bmm(torch.softmax(s, dim=-1), v)



def run(cfg, threads):
    # torch.set_num_threads sets PyTorch's own (OpenMP) threads; OpenBLAS keeps a pthread pool of
    # its own, so a "1 thread" row must set that too.
    torch.set_num_threads(threads)
    lib = openblas()
    if lib is not None:
        lib.openblas_set_num_threads(threads)
    torch.manual_seed(0)
    reps = cfg["reps"]
    out = {}
    with torch.no_grad():
        for M, N, K in cfg["gemm"]:
            a = torch.rand(M, K) - 0.5
            b = torch.rand(K, N) - 0.5
            out[f"gemm_{M}x{N}x{K}"] = median_ms(lambda: torch.mm(a, b), reps)
            ab, bb = a.bfloat16(), b.bfloat16()
            out[f"bf16_{M}x{N}x{K}"] = median_ms(lambda: torch.mm(ab, bb), reps)

    B, H, T, D = cfg["attn"]
    W = H * D
    qkv = (torch.rand(B, T, 3 * W) - 0.5).requires_grad_()
    dout = torch.rand(B, T, W) - 0.5

    def attn_fwd_bwd():
        qkv.grad = None
        attention_packed(qkv, B, T, H, D).backward(dout)

    with torch.no_grad():
        out["attn_fwd"] = median_ms(lambda: attention_packed(qkv, B, T, H, D), reps)
    out["attn_fwd_bwd"] = median_ms(attn_fwd_bwd, reps)
    q, k, v = [(torch.rand(B * H, T, D) - 0.5).requires_grad_() for _ in range(3)]
    do = torch.rand(B * H, T, D) - 0.5

    def core_fwd_bwd():
        for t in (q, k, v):
            t.grad = None
        attention_core(q, k, v, D).backward(do)

    out["attn_core_fwd_bwd"] = median_ms(core_fwd_bwd, reps)

    # Elementwise: QuickGELU as CLIP writes it (x * sigmoid(1.702 x)) and LayerNorm, fwd+bwd.
    R, C = cfg["gelu"]
    x = (torch.rand(R, C) * 8 - 4).requires_grad_()
    g = torch.rand(R, C) - 0.5

    def qg():
        x.grad = None
        (x * torch.sigmoid(1.702 * x)).backward(g)

    out["quickgelu_fwd_bwd"] = median_ms(qg, reps)
    R, C = cfg["ln"]
    ln = torch.nn.LayerNorm(C)
    y = (torch.rand(R, C) - 0.5).requires_grad_()
    gy = torch.rand(R, C) - 0.5

    def lnf():
        y.grad = None
        ln.zero_grad(set_to_none=True)
        ln(y).backward(gy)

    out["layernorm_fwd_bwd"] = median_ms(lnf, reps)
    return out


def main():
    cfg = json.loads(sys.argv[1])
    res = {"threads": {}, "torch": torch.__version__}
    for t in cfg["threads"]:
        res["threads"][str(t)] = run(cfg, t)
    lib = openblas()
    res["blas"] = lib.openblas_get_corename().decode() if lib is not None else "unknown"
    print(json.dumps(res))


if __name__ == "__main__":
    main()
