#!/usr/bin/env python3
"""Writes test/image/golden/: small input images in every mode and format the decoder handles,
and the SHA-256 of what Pillow 9.4 + torchvision 0.14 make of them, for test/image/golden.test.ts.

Run with Debian's python3 (python3-pil 9.4.0, python3-torchvision 0.14.1, python3-numpy):
    /usr/bin/python3 tools/image/make_pil_goldens.py

Hashes are over uint8 RGB pixels after `convert("RGB")` (before ToTensor/Normalize, which the
shared fixtures already pin down bit for bit), so a mismatch is a pixel mismatch.
"""
import hashlib
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps
from torchvision import transforms
from torchvision.transforms import InterpolationMode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'image', 'golden')
INPUTS = os.path.join(OUT, 'inputs')
SHARED = os.environ.get('CLIP_TS_SHARED', os.path.join(os.path.dirname(ROOT), 'shared'))


def photo_like(w, h, seed, noise=12.0):
    """Smooth gradients, hard edges and noise: exercises negative lobes, clamping and rounding."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 255 * (x / max(w - 1, 1))
    b = np.where((x // 9 + y // 7) % 2 == 0, 230.0, 20.0)
    img = np.stack([r, g, b], -1) + rng.normal(0, noise, (h, w, 3))
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png16(path, arr, colour_type):
    """A 16-bit PNG (Pillow cannot write 16-bit RGB/LA/RGBA)."""
    h, w = arr.shape[:2]
    raw = b''.join(b'\x00' + arr[y].astype('>u2').tobytes() for y in range(h))
    data = b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, colour_type, 0, 0, 0))
    data += png_chunk(b'IDAT', zlib.compress(raw, 9)) + png_chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(data)


def make_inputs():
    os.makedirs(INPUTS, exist_ok=True)
    rgb = Image.fromarray(photo_like(61, 45, 1))
    tall = Image.fromarray(photo_like(37, 70, 2))
    gray = rgb.convert('L')
    alpha = Image.fromarray(np.clip(np.linspace(-80, 400, 61)[None, :].repeat(45, 0), 0, 255).astype(np.uint8))
    files = {}

    def save(name, im, **kw):
        im.save(os.path.join(INPUTS, name), **kw)
        files[name] = True

    save('rgb.png', rgb)
    save('tall.png', tall)
    save('gray.png', gray)
    save('gray2bit.png', gray.point(lambda v: (v // 64) * 85), bits=2)  # 2-bit gray (L;2)
    save('bw.png', gray.convert('1'))
    save('palette.png', rgb.quantize(37))
    p = rgb.quantize(16)
    save('palette_trns.png', p, transparency=3)
    save('gray_trns.png', gray, transparency=7)
    save('rgb_trns.png', rgb, transparency=(10, 20, 30))
    la = Image.merge('LA', (gray, alpha))
    save('la.png', la)
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    save('rgba.png', rgba)
    # Large but smooth (noise-free) so the files stay small.
    sq = Image.fromarray(photo_like(224, 224, 3, noise=0)).convert('RGBA')
    sq.putalpha(Image.fromarray(np.tile(np.arange(224, dtype=np.uint8), (224, 1))))
    save('rgba_224x224.png', sq)          # size unchanged at 224: a plain copy
    save('rgba_224x300.png', rgba_with_alpha(photo_like(224, 300, 4, noise=0)))  # width unchanged: vertical pass only
    save('gray16.png', Image.fromarray((photo_like(40, 30, 5)[..., 0].astype(np.int32) * 3 - 200).clip(0, 65535).astype(np.uint16)))
    write_png16(os.path.join(INPUTS, 'rgb16.png'), photo_like(33, 29, 6).astype(np.uint16) * 257 + 100, 2)
    files['rgb16.png'] = True
    la16 = np.stack([photo_like(33, 29, 7)[..., 0], photo_like(33, 29, 8)[..., 1]], -1).astype(np.uint16) * 256 + 255
    write_png16(os.path.join(INPUTS, 'la16.png'), la16, 4)
    files['la16.png'] = True
    rgba16 = np.concatenate([photo_like(33, 29, 9), photo_like(33, 29, 10)[..., :1]], -1).astype(np.uint16) * 256 + 77
    write_png16(os.path.join(INPUTS, 'rgba16.png'), rgba16, 6)
    files['rgba16.png'] = True
    save('rgb.gif', rgb.quantize(64))
    save('transparent.gif', rgb.quantize(32), transparency=5)
    save('rgb_q85.jpg', rgb, quality=85)
    save('gray.jpg', gray, quality=90)
    save('progressive_420.jpg', tall, quality=80, progressive=True, subsampling=2)
    save('cmyk.jpg', rgb.convert('CMYK'), quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    save('exif_rot6.jpg', rgb, quality=90, exif=exif.tobytes())
    save('rgb_lossy.webp', rgb, quality=80)
    save('rgb_lossless.webp', rgb, lossless=True)
    save('rgba.webp', rgba, lossless=True)
    save('rgb.tif', rgb)
    save('gray.tif', gray)
    save('bw.tif', gray.convert('1'))
    save('rgba.tif', rgba)
    save('cmyk.tif', rgb.convert('CMYK'))
    return sorted(files)


def rgba_with_alpha(arr):
    im = Image.fromarray(arr).convert('RGBA')
    h, w = arr.shape[:2]
    a = (np.arange(h)[:, None] * 7 + np.arange(w)[None, :] * 3) % 256
    im.putalpha(Image.fromarray(a.astype(np.uint8)))
    return im


def sha(im):
    return hashlib.sha256(im.convert('RGB').tobytes()).hexdigest()


def transform_pixels(im, n):
    """CLIP's _transform(n) up to convert('RGB'), on a PIL image."""
    t = transforms.Compose([transforms.Resize(n, interpolation=InterpolationMode.BICUBIC), transforms.CenterCrop(n)])
    return t(im).convert('RGB')


def main():
    names = make_inputs()
    cases = []
    for name in names:
        im = Image.open(os.path.join(INPUTS, name))
        entry = {'input': name, 'mode': im.mode, 'size_wh': list(im.size)}
        cases.append(dict(entry, op='decode', sha256=sha(im.convert('L').convert('RGB') if im.mode == '1' else im)))
        for n in (224, 288):
            cases.append(dict(entry, op='transform', n=n, sha256=sha(transform_pixels(im, n))))
        w, h = im.size
        box = (w // 7, h // 5, w - w // 9, h - 2)
        for out_wh in ((97, 64), (w - w // 7 - w // 9 + 1, 50), (12, 9)):
            res = im.crop(box).resize(out_wh, Image.Resampling.BICUBIC)
            cases.append(dict(entry, op='crop_resize', box=list(box), out_wh=list(out_wh), sha256=sha(res)))
        if name == 'exif_rot6.jpg':
            t = ImageOps.exif_transpose(im)
            cases.append(dict(entry, op='transform_exif', n=224, sha256=sha(transform_pixels(t, 224))))
    for fname in ('chelsea_rgb.png', 'rocket_orig.jpg', 'retina_1000x700.jpg', 'astronaut_portrait.jpg',
                  'astronaut_alpha_rgba.png', 'coins_gray.png', 'chelsea_palette.png', 'coffee_tiny_50x30.png'):
        im = Image.open(os.path.join(SHARED, 'fixtures', 'images', fname))
        for n in (288, 384, 448):
            cases.append({'input': 'shared:images/' + fname, 'mode': im.mode, 'size_wh': list(im.size),
                          'op': 'transform', 'n': n, 'sha256': sha(transform_pixels(im, n))})
    import PIL
    import torchvision
    meta = {'pillow': PIL.__version__, 'torchvision': torchvision.__version__,
            'libjpeg_turbo': __import__('PIL.features', fromlist=['version']).version('libjpeg_turbo')}
    with open(os.path.join(OUT, 'pil-golden.json'), 'w') as f:
        json.dump({'made_by': 'tools/image/make_pil_goldens.py', 'versions': meta, 'cases': cases}, f, indent=1)
    print(f'{len(cases)} cases, {len(names)} inputs', file=sys.stderr)


if __name__ == '__main__':
    main()
