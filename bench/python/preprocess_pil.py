#!/usr/bin/env python3
"""Peer of bench/preprocess.ts: OpenAI CLIP's `_transform(n)` with PIL + torchvision on a list of
image files, in one process or through a torch DataLoader with worker processes.

    preprocess_pil.py LIST_FILE --size 224 --batch 32 --workers 0|N --reps R [--warmup W] [--resize-only | --decode-only]

Prints one JSON line: {"times_s": [...], "images": n, "torch_threads": t}. Each rep goes through all
files and stacks the tensors into batches (as the TypeScript loader does). With workers, the
DataLoader keeps them between passes (persistent_workers), and `--warmup` passes are not timed, so
the times are steady-state like those of the TypeScript loader.
"""
import argparse
import io
import json
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def _convert_to_rgb(image):
    return image.convert('RGB')


def clip_transform(n):
    # clip/clip.py `_transform`, verbatim in behaviour
    return Compose([
        Resize(n, interpolation=InterpolationMode.BICUBIC),
        CenterCrop(n),
        _convert_to_rgb,
        ToTensor(),
        Normalize(MEAN, STD),
    ])


class Files(Dataset):
    def __init__(self, paths, n):
        self.paths = paths
        self.transform = clip_transform(n)

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.transform(Image.open(self.paths[i]))


def run_single(paths, n, batch):
    transform = clip_transform(n)
    out = []
    current = []
    for p in paths:
        current.append(transform(Image.open(p)))
        if len(current) == batch:
            out.append(torch.stack(current))
            current = []
    if current:
        out.append(torch.stack(current))
    return sum(b.shape[0] for b in out)


def make_loader(paths, n, batch, workers):
    return DataLoader(Files(paths, n), batch_size=batch, num_workers=workers, shuffle=False, persistent_workers=True)


def run_loader(loader):
    return sum(b.shape[0] for b in loader)


def resize_only(path, n, reps):
    """CPU time of the resize + crop + RGB of one already decoded image (the hot loop alone)."""
    im = Image.open(path)
    im.load()
    t = Compose([Resize(n, interpolation=InterpolationMode.BICUBIC), CenterCrop(n), _convert_to_rgb])
    t(im)
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        t(im)
        times.append(time.process_time() - t0)
    return times


def decode_only(paths, reps):
    """Wall time of decoding every file once (`Image.open` + `load` from bytes already in memory)."""
    data = []
    for p in paths:
        with open(p, 'rb') as f:
            data.append(f.read())

    def one_pass():
        for b in data:
            Image.open(io.BytesIO(b)).load()

    one_pass()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('list_file')
    ap.add_argument('--size', type=int, default=224)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--workers', type=int, default=0)
    ap.add_argument('--reps', type=int, default=1)
    ap.add_argument('--warmup', type=int, default=0)
    ap.add_argument('--resize-only', action='store_true')
    ap.add_argument('--decode-only', action='store_true')
    a = ap.parse_args()
    with open(a.list_file) as f:
        paths = [line.rstrip('\n') for line in f if line.strip()]
    if a.decode_only:
        print(json.dumps({'times_s': decode_only(paths, a.reps), 'images': len(paths)}))
        return
    if a.resize_only:
        print(json.dumps({'times_s': resize_only(paths[0], a.size, a.reps), 'images': 1}))
        return
    loader = make_loader(paths, a.size, a.batch, a.workers) if a.workers > 0 else None

    def one_pass():
        return run_single(paths, a.size, a.batch) if loader is None else run_loader(loader)

    for _ in range(a.warmup):
        one_pass()
    times = []
    count = 0
    for _ in range(a.reps):
        t0 = time.perf_counter()
        count = one_pass()
        times.append(time.perf_counter() - t0)
    print(json.dumps({'times_s': times, 'images': count, 'torch_threads': torch.get_num_threads()}))


if __name__ == '__main__':
    main()
