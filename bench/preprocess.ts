// Decode + CLIP preprocessing throughput (images/s) on a folder of photo-sized JPEGs, against
// PIL + torchvision doing OpenAI's `_transform(224)` on the same files in the same run: in one
// process, and through a torch DataLoader with 2 worker processes. Steady state on both sides:
// worker threads / processes are started and warmed by an untimed pass (their start-up time is
// reported separately). The loader decodes JPEGs with the addon's libjpeg-turbo (native/jpeg.cc);
// one more configuration runs it with sharp instead (CLIP_TS_JPEG_DECODER=sharp, the old path).
// Also the decode alone (libjpeg sync/async, sharp, Pillow), the resize alone (the hot loop) on one
// decoded image, and the resize with the TypeScript passes instead of the WebAssembly SIMD ones.
// Medians of interleaved repetitions; ratios > 1 mean clip-ts is faster.
//
//   npx tsx bench/preprocess.ts            (PREPROCESS_BENCH_IMAGES=200, PREPROCESS_BENCH_REPS=3)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { jpegDecoderInUse } from '../src/image/decode.js';
import { decodeImage, ImageBatchLoader, resizeCenterCropRgb, type DecodeOptions, type ResampleEngine } from '../src/image/index.js';
import { simdKernels } from '../src/image/resample-simd.js';
import { packageRoot } from '../src/paths.js';
import { fmt, hasPythonModule, median, PYTHON, runPython } from './common.js';

const IMAGES = Number(process.env.PREPROCESS_BENCH_IMAGES ?? 200);
const REPS = Number(process.env.PREPROCESS_BENCH_REPS ?? 3);
const SIZE = 224;
const BATCH = 32;
// Camera and phone sizes, landscape and portrait; 7 sizes x 8 sources gives 56 distinct pairs.
const SIZES: [number, number][] = [[640, 480], [1024, 768], [1280, 960], [1600, 1200], [1920, 1080], [1080, 1440], [2048, 1536]];
const SOURCES = ['chelsea_rgb.png', 'rocket_orig.jpg', 'retina_1000x700.jpg', 'astronaut_portrait.jpg',
  'astronaut_alpha_rgba.png', 'coins_gray.png', 'chelsea_palette.png', 'coffee_tiny_50x30.png'];

function sharedImages(): string {
  const env = process.env.CLIP_TS_SHARED;
  return path.join(env !== undefined && env !== '' ? env : path.resolve(packageRoot(), '..', 'shared'), 'fixtures', 'images');
}

/** The benchmark folder: photo-sized RGB JPEGs (quality 90, 4:2:0) made from the fixture images. */
async function makeJpegs(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < IMAGES; i++) {
    const [w, h] = SIZES[i % SIZES.length];
    const file = path.join(dir, `img${String(i).padStart(4, '0')}_${w}x${h}.jpg`);
    await sharp(path.join(sharedImages(), SOURCES[i % SOURCES.length]))
      .resize(w, h, { fit: 'cover' }).removeAlpha().toColourspace('srgb').jpeg({ quality: 90 }).toFile(file);
    files.push(file);
  }
  return files;
}

/** One timed pass of a (kept) loader, in seconds. */
async function pass(loader: ImageBatchLoader, expected: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const b of loader) n += b.count;
  if (n !== expected) throw new Error(`loaded ${n} of ${expected}`);
  return (performance.now() - t0) / 1000;
}

interface PyResult { times_s: number[]; images: number; torch_threads?: number }

function python(listFile: string, workers: number): PyResult {
  return runPython<PyResult>(path.join(packageRoot(), 'bench', 'python', 'preprocess_pil.py'),
    [listFile, '--size', String(SIZE), '--batch', String(BATCH), '--workers', String(workers), '--reps', '1',
      '--warmup', workers > 0 ? '1' : '0']);
}

/** Runs fn with CLIP_TS_JPEG_DECODER set to `value` (undefined: unset). */
async function withDecoderEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.CLIP_TS_JPEG_DECODER;
  if (value === undefined) delete process.env.CLIP_TS_JPEG_DECODER;
  else process.env.CLIP_TS_JPEG_DECODER = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.CLIP_TS_JPEG_DECODER;
    else process.env.CLIP_TS_JPEG_DECODER = saved;
  }
}

/** Seconds to decode every file once, one after the other, from bytes in memory. */
async function decodeAll(bytes: Uint8Array[], decoder: 'libjpeg' | 'sharp', opts: DecodeOptions): Promise<number> {
  return withDecoderEnv(decoder === 'sharp' ? 'sharp' : undefined, async () => {
    if (jpegDecoderInUse() !== decoder) throw new Error(`decoder ${decoder} is not available`);
    const t0 = performance.now();
    for (const b of bytes) await decodeImage(b, opts);
    return (performance.now() - t0) / 1000;
  });
}

async function main(): Promise<void> {
  const havePeer = hasPythonModule('torchvision') && hasPythonModule('PIL');
  const dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-bench-preprocess-'));
  try {
    const files = await makeJpegs(dir);
    const listFile = path.join(dir, 'files.txt');
    writeFileSync(listFile, files.join('\n') + '\n');
    const decoder = jpegDecoderInUse();
    const loaders = new Map<number, ImageBatchLoader>();
    const startup = new Map<number, number>();
    for (const workers of [2, 1, 0]) {
      const loader = new ImageBatchLoader(files, { size: SIZE, batchSize: BATCH, workers });
      startup.set(workers, await pass(loader, files.length)); // warm-up: starts the workers, JIT, page cache
      loaders.set(workers, loader);
    }
    // The old path: workers started while CLIP_TS_JPEG_DECODER=sharp keep that environment.
    const sharpLoader = new ImageBatchLoader(files, { size: SIZE, batchSize: BATCH, workers: 2 });
    await withDecoderEnv('sharp', () => pass(sharpLoader, files.length));
    const ours = (workers: number) => () => pass(loaders.get(workers) as ImageBatchLoader, files.length);
    const configs: { name: string; run: () => Promise<number> | number }[] = [
      { name: `clip-ts, 2 worker threads (${decoder} decodes)`, run: ours(2) },
      { name: 'clip-ts, 1 worker thread', run: ours(1) },
      { name: 'clip-ts, main thread only (decoding on libuv\'s pool)', run: ours(0) },
      { name: 'clip-ts, 2 worker threads, sharp decodes (CLIP_TS_JPEG_DECODER=sharp)', run: () => pass(sharpLoader, files.length) },
    ];
    if (havePeer) {
      configs.push({ name: 'PIL + torchvision, 1 process', run: () => python(listFile, 0).times_s[0] });
      configs.push({ name: 'PIL + torchvision, DataLoader 2 workers', run: () => python(listFile, 2).times_s[0] });
    }
    const times = new Map<string, number[]>(configs.map((c) => [c.name, []]));
    // Interleaved repetitions, so that a burst of load from elsewhere hits every configuration, and
    // the order rotates, so that no configuration always runs right after the same one.
    for (let r = 0; r < REPS; r++) {
      for (let k = 0; k < configs.length; k++) {
        const c = configs[(k + r) % configs.length];
        times.get(c.name)?.push(await c.run());
      }
    }

    // The decode alone, ms per image (wall time, one file after another, from memory).
    const bytes = files.map((f) => { const b = readFileSync(f); return new Uint8Array(b.buffer, b.byteOffset, b.byteLength); });
    const decodeConfigs: { name: string; run: () => Promise<number> | number }[] = [
      { name: 'clip-ts, libjpeg-turbo in this thread (`sync`, as in the workers)', run: () => decodeAll(bytes, 'libjpeg', { sync: true }) },
      { name: 'clip-ts, libjpeg-turbo on libuv\'s pool (async, the default)', run: () => decodeAll(bytes, 'libjpeg', {}) },
      { name: 'clip-ts, sharp (CLIP_TS_JPEG_DECODER=sharp)', run: () => decodeAll(bytes, 'sharp', {}) },
    ];
    if (decoder !== 'libjpeg') decodeConfigs.splice(0, 2);
    if (havePeer) {
      decodeConfigs.push({ name: 'Pillow 9.4 `Image.open(BytesIO(b)).load()`', run: () =>
        runPython<PyResult>(path.join(packageRoot(), 'bench', 'python', 'preprocess_pil.py'), [listFile, '--decode-only', '--reps', '1']).times_s[0] });
    }
    const decodeTimes = new Map<string, number[]>(decodeConfigs.map((c) => [c.name, []]));
    for (const c of decodeConfigs) if (c.name.startsWith('clip-ts')) await c.run(); // warm-up
    for (let r = 0; r < REPS; r++) {
      for (let k = 0; k < decodeConfigs.length; k++) {
        const c = decodeConfigs[(k + r) % decodeConfigs.length];
        decodeTimes.get(c.name)?.push(await c.run());
      }
    }

    const ips = (name: string): number => IMAGES / median(times.get(name) ?? [NaN]);
    const single = havePeer ? ips('PIL + torchvision, 1 process') : NaN;
    const loader = havePeer ? ips('PIL + torchvision, DataLoader 2 workers') : NaN;
    const out: string[] = [];
    out.push(`${IMAGES} JPEGs (640x480 to 2048x1536, quality 90, 4:2:0) -> float32 [${BATCH}, 3, ${SIZE}, ${SIZE}] batches; ` +
      `${availableParallelism()} CPUs; median of ${REPS} interleaved runs${havePeer ? '' : ` (no PIL/torchvision for ${PYTHON}: peer skipped)`}.`);
    out.push('');
    out.push('| pipeline | images/s | vs PIL 1 process | vs PIL DataLoader(2) |');
    out.push('| --- | ---: | ---: | ---: |');
    for (const c of configs) {
      const v = ips(c.name);
      out.push(`| ${c.name} | ${fmt(v, 1)} | ${fmt(v / single)}x | ${fmt(v / loader)}x |`);
    }
    for (const l of loaders.values()) await l.close();
    await sharpLoader.close();
    out.push('');
    out.push(`First (cold) pass of the clip-ts loader, which includes starting the workers: ` +
      [...startup].map(([w, t]) => `${w} workers ${fmt(IMAGES / t, 1)} images/s`).join(', ') + '.');

    const megapixels = files.reduce((n, f) => { const m = /_(\d+)x(\d+)\.jpg$/.exec(f); return n + (m === null ? 0 : Number(m[1]) * Number(m[2])); }, 0) / IMAGES / 1e6;
    const pilDecode = median(decodeTimes.get(decodeConfigs[decodeConfigs.length - 1].name) ?? [NaN]);
    out.push('');
    out.push(`| decode alone, ms per image (wall, ${IMAGES} files of ${fmt(megapixels)} MP on average, from memory; median of ${REPS}) | ms | Pillow time / this |`);
    out.push('| --- | ---: | ---: |');
    for (const c of decodeConfigs) {
      const t = median(decodeTimes.get(c.name) ?? [NaN]);
      out.push(`| ${c.name} | ${fmt((t / IMAGES) * 1000)} | ${havePeer ? `${fmt(pilDecode / t)}x` : ''} |`);
    }

    // The resize alone on one decoded 1600x1200 image (CPU time, so waiting for a core is not counted).
    const big = files[SIZES.findIndex(([w, h]) => w === 1600 && h === 1200)];
    const img = await decodeImage(big);
    const cpuMs = (engine: ResampleEngine): number => {
      const cpu: number[] = [];
      for (let i = 0; i < 30; i++) {
        const t0 = process.cpuUsage();
        resizeCenterCropRgb(img, SIZE, { engine });
        const d = process.cpuUsage(t0);
        if (i >= 5) cpu.push((d.user + d.system) / 1000);
      }
      return median(cpu);
    };
    const simdMs = cpuMs('auto');
    const tsMs = cpuMs('typescript');
    out.push('');
    out.push('| resize + crop + RGB of one decoded 1600x1200 image (CPU ms, median of 25) | ms | PIL time / this |');
    out.push('| --- | ---: | ---: |');
    if (havePeer) {
      const bigList = path.join(dir, 'big.txt');
      writeFileSync(bigList, big + '\n');
      const py = runPython<PyResult>(path.join(packageRoot(), 'bench', 'python', 'preprocess_pil.py'),
        [bigList, '--size', String(SIZE), '--resize-only', '--reps', '25']);
      const pyMs = median(py.times_s) * 1000;
      out.push(`| PIL 9.4 \`Resize\` + \`CenterCrop\` + \`convert\` | ${fmt(pyMs)} | 1.00x |`);
      out.push(`| clip-ts, WebAssembly SIMD passes${simdKernels() === null ? ' (unavailable: TypeScript used)' : ''} | ${fmt(simdMs)} | ${fmt(pyMs / simdMs)}x |`);
      out.push(`| clip-ts, TypeScript passes | ${fmt(tsMs)} | ${fmt(pyMs / tsMs)}x |`);
    } else {
      out.push(`| clip-ts, WebAssembly SIMD passes | ${fmt(simdMs)} | |`);
      out.push(`| clip-ts, TypeScript passes | ${fmt(tsMs)} | |`);
    }
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
