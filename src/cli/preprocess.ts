// `clip-ts preprocess`: one image through OpenAI CLIP's `_transform(N)` (Pillow-exact), written as
// a raw float32 [3, N, N] little-endian tensor with no header.
import { endianness } from 'node:os';
import { UsageError, numberOption, parseArgs } from './args.js';
import { DEFAULT_MAX_PIXELS, decodeImage, preprocess } from '../image/index.js';
import { writeAll, writeFileAtomic } from '../weights/atomic-file.js';

export const usage = `usage: clip-ts preprocess [--size N] [--exif] [--max-pixels P] IMAGE --out FILE.f32

Decodes IMAGE (JPEG, PNG, WebP, GIF first frame, TIFF, AVIF) and applies OpenAI CLIP's
preprocessing exactly as Pillow + torchvision do it: bicubic resize of the shorter side to N,
centre crop N x N, RGB, normalisation with CLIP's mean and std. Writes the float32 tensor
[3, N, N] (channels R, G, B, then rows, then columns), little-endian, no header.

options:
  --size N         output resolution (default 224; 336 for ViT-L/14@336px, 288/384/448 for RN50x*)
  --out FILE       where to write the tensor (written to a temporary file, then renamed)
  --exif           apply the EXIF orientation first (OpenAI's pipeline does not)
  --max-pixels P   refuse larger images (default ${DEFAULT_MAX_PIXELS}, Pillow's bomb limit)

example:
  clip-ts preprocess --size 224 cat.jpg --out cat.224.f32`;

/** Writes `bytes` to `target` atomically (temporary file in the same folder, then rename). */
function writeBytesAtomic(target: string, bytes: Uint8Array): void {
  try {
    writeFileAtomic(target, (fd) => writeAll(fd, bytes));
  } catch (err) {
    throw new Error(`cannot write ${target}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The tensor's bytes in little-endian order, whatever the machine's byte order. */
function littleEndianBytes(values: Float32Array): Uint8Array {
  if (endianness() === 'LE') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    size: { type: 'string' },
    out: { type: 'string', short: 'o' },
    exif: { type: 'flag' },
    'max-pixels': { type: 'string' },
  });
  const size = numberOption(args, 'size', 224, { min: 1, max: 4096, integer: true });
  const maxPixels = numberOption(args, 'max-pixels', DEFAULT_MAX_PIXELS, { min: 1, integer: true });
  const out = args.values.get('out');
  if (out === undefined || out === '') throw new UsageError('--out FILE is required');
  if (args.positionals.length !== 1) {
    throw new UsageError(args.positionals.length === 0 ? 'give the IMAGE to preprocess' : `give exactly one IMAGE, got ${args.positionals.length}`);
  }
  const input = args.positionals[0];
  const image = await decodeImage(input, { applyExifOrientation: args.flags.has('exif'), maxPixels });
  const tensor = preprocess(image, size);
  writeBytesAtomic(out, littleEndianBytes(tensor));
  process.stderr.write(`${input}: ${image.width}x${image.height} ${image.mode} -> ${out} (float32 [3, ${size}, ${size}])\n`);
  return 0;
}
