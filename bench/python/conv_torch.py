"""PyTorch peer for bench/conv.ts: torch.nn.functional.conv2d forward on the same shapes.

Usage: conv_torch.py '<json list of shapes>' <reps> <threads,...>
Each shape is {"name", "N", "C", "H", "W", "O", "k", "stride", "pad", "bias"}. Inputs are random
float32 NCHW tensors (values do not change the speed). Every shape runs at each thread count with
the oneDNN (mkldnn) path on and off: Debian's build picks a slow path for some shapes either way,
and the peer should be torch at its best. Prints one JSON line on the last line:
{"torch": "<version>", "ms": {"<name>": {"<threads>t/<mkldnn|native>": median_ms}}}.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def main() -> None:
    shapes = json.loads(sys.argv[1])
    reps = int(sys.argv[2])
    thread_counts = [int(t) for t in sys.argv[3].split(",")]
    torch.manual_seed(0)
    result = {}
    with torch.no_grad():
        for s in shapes:
            x = torch.randn(s["N"], s["C"], s["H"], s["W"])
            w = torch.randn(s["O"], s["C"], s["k"], s["k"])
            b = torch.randn(s["O"]) if s["bias"] else None
            per = {}
            for t in thread_counts:
                torch.set_num_threads(t)
                for mkldnn in (True, False):
                    with torch.backends.mkldnn.flags(enabled=mkldnn):
                        F.conv2d(x, w, b, stride=s["stride"], padding=s["pad"])  # warm-up (primitive cache)
                        times = []
                        for _ in range(reps):
                            t0 = time.perf_counter()
                            F.conv2d(x, w, b, stride=s["stride"], padding=s["pad"])
                            times.append((time.perf_counter() - t0) * 1e3)
                    per[f"{t}t/{'mkldnn' if mkldnn else 'native'}"] = statistics.median(times)
            result[s["name"]] = per
    print(json.dumps({"torch": torch.__version__, "ms": result}))


if __name__ == "__main__":
    main()
