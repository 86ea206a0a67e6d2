"""PyTorch (and ONNX export) peer for bench/model.ts.

  model_torch.py time  CHECKPOINT REPS         -> one JSON line of per-run ms for every case and thread count
  model_torch.py onnx  CHECKPOINT OUT_PREFIX   -> writes OUT_PREFIX.image.onnx and OUT_PREFIX.text.onnx

The checkpoint is an OpenAI-format file; it is loaded the way clip.load(..., jit=False) does
(fp16 weights to float32, eager model) into the CLIP definition of tools/make_checkpoints.py.
Inputs are deterministic: random pixels, and typical prompts tokenised elsewhere (passed as the
fixed ids below: 'a photo of a {label}.' style, 8-9 ids, padded to 77).
"""
import json
import os
import sys
import time

import torch

from openblas_handle import openblas

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
import make_checkpoints as mc  # noqa: E402

PROMPT = [49406, 320, 1125, 539, 320, 2368, 269, 49407]  # "a photo of a cat."


def load(path):
    sd = torch.jit.load(path, map_location='cpu').state_dict()
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    model = mc.CLIP(**mc.config_from_state_dict(sd)).eval()
    model.load_state_dict(sd)
    return model


def inputs(model, batch):
    res = model.input_resolution.item()
    g = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, res, res, generator=g)
    text = torch.zeros(batch, 77, dtype=torch.long)
    text[:, :len(PROMPT)] = torch.tensor(PROMPT)
    return images, text


def timed(fn, reps, warmup=1):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out



def cmd_time(path, reps):
    model = load(path)
    result = {}
    lib = openblas()
    with torch.no_grad():
        for threads in (1, 2):
            torch.set_num_threads(threads)
            if lib is not None:
                lib.openblas_set_num_threads(threads)
            r = {}
            for batch in (1, 32):
                images, text = inputs(model, batch)
                n = reps if batch == 1 else max(2, reps // 2)
                r[f'image{batch}'] = timed(lambda: model.encode_image(images), n)
                r[f'text{batch}'] = timed(lambda: model.encode_text(text), n)
            result[str(threads)] = r
    print(json.dumps({'torch': torch.__version__, 'threads': result}))


class ImageTower(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m.encode_image(x)


class TextTower(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, t):
        return self.m.encode_text(t)


def cmd_onnx(path, prefix):
    model = load(path)
    images, text = inputs(model, 2)
    with torch.no_grad():
        torch.onnx.export(ImageTower(model), (images,), prefix + '.image.onnx', input_names=['pixels'], output_names=['features'],
                          dynamic_axes={'pixels': {0: 'batch'}, 'features': {0: 'batch'}}, opset_version=14)
        torch.onnx.export(TextTower(model), (text,), prefix + '.text.onnx', input_names=['ids'], output_names=['features'],
                          dynamic_axes={'ids': {0: 'batch'}, 'features': {0: 'batch'}}, opset_version=14)
    print(json.dumps({'image': prefix + '.image.onnx', 'text': prefix + '.text.onnx'}))


if __name__ == '__main__':
    if sys.argv[1] == 'time':
        cmd_time(sys.argv[2], int(sys.argv[3]))
    else:
        cmd_onnx(sys.argv[2], sys.argv[3])
