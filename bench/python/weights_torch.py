"""PyTorch peer for bench/weights.ts: load an OpenAI-format CLIP checkpoint the way
clip.load(path, device="cpu", jit=False) gets its weights (torch.jit.load, then every tensor of the
state dict as float32), in a fresh process.

Usage: weights_torch.py CHECKPOINT. Prints one JSON line:
{"load_ms": ..., "float_ms": ..., "total_ms": ..., "maxrss_mb": ..., "values": ...}
"""
import json
import resource
import sys
import time

import torch


def main():
    path = sys.argv[1]
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    module = torch.jit.load(path, map_location='cpu')
    t1 = time.perf_counter()
    tensors = {k: v.float() for k, v in module.state_dict().items()}
    t2 = time.perf_counter()
    values = sum(t.numel() for t in tensors.values())
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({'load_ms': (t1 - t0) * 1000, 'float_ms': (t2 - t1) * 1000, 'total_ms': (t2 - t0) * 1000,
                      'maxrss_mb': maxrss_mb, 'values': values}))


if __name__ == '__main__':
    main()
