// The native libjpeg-turbo decoder (native/jpeg.cc) behind decodeImage: the same pixels as sharp and
// as Pillow (fixture hashes and golden/jpeg/pil-jpeg.json), on the sync (worker threads) and async
// (main thread) paths; the same errors as before for bad files; CMYK, EXIF rotation and
// CLIP_TS_JPEG_DECODER=sharp still going through sharp. Generated JPEGs are made with sharp here.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp, { type Sharp } from 'sharp';
import { jpegDecoderInUse, type DecodeOptions } from '../../src/image/decode.js';
import {
  decodeImage, ImageBatchLoader, ImageDecodeError, preprocessFile, type DecodedImage, type ImageBatch,
} from '../../src/image/index.js';
import { native } from '../../src/tensor/native.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { assertDecodeError, imageTestDataDir } from './test-data.js';

const nat = native();
const haveNative = nat.jpegDecode !== undefined;
const skipNative = haveNative ? false : 'the addon was built without libjpeg';

function u8(b: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** decodeImage with the given decoder ('sharp' through the environment variable). */
async function decodeWith(decoder: 'libjpeg' | 'sharp', input: string | Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const saved = process.env.CLIP_TS_JPEG_DECODER;
  process.env.CLIP_TS_JPEG_DECODER = decoder;
  try {
    assert.equal(jpegDecoderInUse(), decoder);
    return await decodeImage(input, opts);
  } finally {
    if (saved === undefined) delete process.env.CLIP_TS_JPEG_DECODER;
    else process.env.CLIP_TS_JPEG_DECODER = saved;
  }
}

function assertSameImage(a: DecodedImage, b: DecodedImage, what: string): void {
  assert.deepEqual([a.mode, a.width, a.height, a.channels], [b.mode, b.width, b.height, b.channels], what);
  assert.ok(Buffer.compare(a.data as Uint8Array, b.data as Uint8Array) === 0, `${what}: pixels differ`);
}

const fixtureJpegs = readdirSync(path.join(fixturesDir(), 'images')).filter((f) => f.endsWith('.jpg')).sort();
const manifest = JSON.parse(readFileSync(path.join(fixturesDir(), 'preprocess', 'manifest.json'), 'utf8')) as
  { images: { file: string; decoded_sha256: string }[] };

let dir: string;
const made: Record<string, string> = {};
const chelsea = path.join(fixturesDir(), 'images', 'chelsea_rgb.png');

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-jpeg-native-'));
  const make = async (name: string, pipeline: Sharp): Promise<void> => {
    made[name] = path.join(dir, name);
    await pipeline.toFile(made[name]);
  };
  await make('gray.jpg', sharp(chelsea).toColourspace('b-w').jpeg({ quality: 88 }));
  await make('gray-progressive.jpg', sharp(chelsea).toColourspace('b-w').jpeg({ quality: 88, progressive: true }));
  await make('progressive-420.jpg', sharp(chelsea).jpeg({ quality: 85, progressive: true }));
  await make('progressive-444.jpg', sharp(chelsea).jpeg({ quality: 85, progressive: true, chromaSubsampling: '4:4:4' }));
  await make('baseline-444.jpg', sharp(chelsea).jpeg({ quality: 92, chromaSubsampling: '4:4:4' }));
  await make('odd-size-420.jpg', sharp(chelsea).resize(333, 211, { fit: 'fill' }).jpeg({ quality: 95 }));
  await make('cmyk.jpg', sharp(chelsea).toColourspace('cmyk').jpeg({ quality: 90 }));
  const jpeg = u8(readFileSync(path.join(fixturesDir(), 'images', 'rocket_orig.jpg')));
  const write = (name: string, data: Uint8Array): void => {
    made[name] = path.join(dir, name);
    writeFileSync(made[name], data);
  };
  write('truncated.jpg', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
  write('zero-bytes.jpg', new Uint8Array(0));
  write('soi-only.jpg', jpeg.subarray(0, 3));
  // Smashed markers: libjpeg gives up on this file (as Pillow does). On rocket_orig.jpg it would
  // resynchronise at the next marker and decode, and so does Pillow.
  const smashed = u8(readFileSync(path.join(fixturesDir(), 'images', 'astronaut_portrait.jpg'))).slice();
  smashed.fill(0xff, 2, 64);
  write('corrupt-header.jpg', smashed);
  const badSof = jpeg.slice();
  const sof = findSof(badSof);
  badSof[sof + 9] = 0; // zero components
  write('corrupt-sof.jpg', badSof);
  const precision12 = jpeg.slice();
  precision12[sof + 4] = 12; // 12-bit samples: neither libjpeg-turbo's 8-bit decoder nor Pillow reads them
  write('precision-12.jpg', precision12);
  const bomb = jpeg.slice();
  const view = new DataView(bomb.buffer);
  view.setUint16(sof + 5, 40000); // height
  view.setUint16(sof + 7, 40000); // width
  write('bomb-40000x40000.jpg', bomb);
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** Offset of the SOF0/1/2 marker (0xFF at the offset). */
function findSof(jpeg: Uint8Array): number {
  const view = new DataView(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  for (let i = 2; i + 9 < jpeg.length;) {
    if (jpeg[i] !== 0xff) throw new Error('bad marker walk');
    if (jpeg[i + 1] >= 0xc0 && jpeg[i + 1] <= 0xc2) return i;
    i += 2 + view.getUint16(i + 2);
  }
  throw new Error('no SOF marker');
}

describe('native JPEG decoder: pixels', () => {
  it('is the decoder in use for gray and RGB JPEGs unless CLIP_TS_JPEG_DECODER=sharp', { skip: skipNative }, () => {
    const saved = process.env.CLIP_TS_JPEG_DECODER;
    try {
      delete process.env.CLIP_TS_JPEG_DECODER;
      assert.equal(jpegDecoderInUse(), 'libjpeg');
      process.env.CLIP_TS_JPEG_DECODER = 'sharp';
      assert.equal(jpegDecoderInUse(), 'sharp');
    } finally {
      if (saved === undefined) delete process.env.CLIP_TS_JPEG_DECODER;
      else process.env.CLIP_TS_JPEG_DECODER = saved;
    }
  });

  for (const file of fixtureJpegs) {
    it(`${file}: native (async and sync) == sharp == Pillow's hash`, { skip: skipNative }, async () => {
      const p = path.join(fixturesDir(), 'images', file);
      const viaSharp = await decodeWith('sharp', p);
      const viaNative = await decodeWith('libjpeg', p);
      const viaSync = await decodeWith('libjpeg', p, { sync: true });
      assertSameImage(viaNative, viaSharp, 'async vs sharp');
      assertSameImage(viaSync, viaSharp, 'sync vs sharp');
      const entry = manifest.images.find((m) => m.file === `images/${file}`);
      if (entry !== undefined) assert.equal(sha256(viaNative.data as Uint8Array), entry.decoded_sha256);
    });
  }

  const generated: [string, string, number][] = [
    ['gray.jpg', 'L', 1],
    ['gray-progressive.jpg', 'L', 1],
    ['progressive-420.jpg', 'RGB', 3],
    ['progressive-444.jpg', 'RGB', 3],
    ['baseline-444.jpg', 'RGB', 3],
    ['odd-size-420.jpg', 'RGB', 3],
  ];
  for (const [name, mode, components] of generated) {
    it(`${name} (made by sharp): native == sharp, mode ${mode}`, { skip: skipNative }, async () => {
      const header = nat.jpegHeader?.(u8(readFileSync(made[name])));
      assert.equal(header?.components, components);
      assert.equal(header?.progressive, name.includes('progressive'));
      const viaNative = await decodeWith('libjpeg', made[name]);
      assert.equal(viaNative.mode, mode);
      assertSameImage(viaNative, await decodeWith('sharp', made[name]), name);
      assertSameImage(await decodeWith('libjpeg', made[name], { sync: true }), viaNative, `${name} sync`);
    });
  }

  const pil = JSON.parse(readFileSync(path.join(imageTestDataDir(), 'golden', 'jpeg', 'pil-jpeg.json'), 'utf8')) as
    { cases: { file: string; mode: string; size_wh: [number, number]; sha256: string; without_eoi: string }[] };
  for (const c of pil.cases) {
    it(`${c.file} (made by Pillow): native == Pillow's im.tobytes() == sharp`, { skip: skipNative }, async () => {
      const p = path.join(imageTestDataDir(), 'golden', 'jpeg', c.file);
      for (const sync of [false, true]) {
        const img = await decodeWith('libjpeg', p, { sync });
        assert.deepEqual([img.mode, img.width, img.height], [c.mode, ...c.size_wh]);
        assert.equal(sha256(img.data as Uint8Array), c.sha256);
      }
      assertSameImage(await decodeWith('libjpeg', p), await decodeWith('sharp', p), c.file);
    });

    // Pillow stops after the last scanline, so a missing EOI marker only matters when libjpeg's
    // bit reader wanted bytes beyond the scan data: then Pillow says "truncated", and so must we.
    it(`${c.file} without its EOI marker: ${c.without_eoi === 'truncated' ? 'truncated' : 'decodes'}, as in Pillow`, { skip: skipNative }, async () => {
      const bytes = u8(readFileSync(path.join(imageTestDataDir(), 'golden', 'jpeg', c.file)));
      assert.deepEqual([...bytes.subarray(bytes.length - 2)], [0xff, 0xd9]);
      const cut = bytes.subarray(0, bytes.length - 2);
      if (c.without_eoi === 'truncated') {
        await assert.rejects(decodeWith('libjpeg', cut, { name: c.file }), /image file is truncated/);
      } else {
        assert.equal(sha256((await decodeWith('libjpeg', cut)).data as Uint8Array), c.without_eoi);
      }
    });
  }

  it('decodes a subarray at an odd offset', { skip: skipNative }, async () => {
    const full = u8(readFileSync(made['gray.jpg']));
    const shifted = new Uint8Array(full.length + 1);
    shifted.set(full, 1);
    assertSameImage(await decodeWith('libjpeg', shifted.subarray(1)), await decodeWith('libjpeg', u8(readFileSync(made['gray.jpg']))), 'offset');
  });
});

describe('native JPEG decoder: what stays with sharp', () => {
  it('CMYK JPEG: mode CMYK through sharp (libjpeg would refuse CMYK -> RGB)', async () => {
    const bytes = u8(readFileSync(made['cmyk.jpg']));
    if (haveNative) assert.equal(nat.jpegHeader?.(bytes).components, 4);
    const img = await decodeImage(made['cmyk.jpg']);
    assert.equal(img.mode, 'CMYK');
    assert.equal(img.channels, 4);
    assertSameImage(img, await decodeWith('sharp', made['cmyk.jpg']), 'cmyk');
  });

  it('applyExifOrientation goes through sharp (same pixels when there is no rotation)', async () => {
    const img = await decodeImage(made['odd-size-420.jpg'], { applyExifOrientation: true });
    assertSameImage(img, await decodeWith('sharp', made['odd-size-420.jpg']), 'exif');
  });

  it('CLIP_TS_JPEG_DECODER=sharp switches every JPEG to sharp (its error messages show it)', { skip: skipNative }, async () => {
    const reason = async (decoder: 'libjpeg' | 'sharp'): Promise<string> => {
      try {
        await decodeWith(decoder, made['truncated.jpg']);
      } catch (err) {
        assert.ok(err instanceof ImageDecodeError && err.kind === 'corrupt', String(err));
        return err.message;
      }
      throw new Error('no error');
    };
    assert.match(await reason('libjpeg'), /image file is truncated/);
    assert.doesNotMatch(await reason('sharp'), /image file is truncated/);
  });
});

describe('native JPEG decoder: bad files', () => {
  const cases: [string, string][] = [
    ['truncated.jpg', 'corrupt'],
    ['zero-bytes.jpg', 'empty'],
    ['soi-only.jpg', 'corrupt'],
    ['corrupt-header.jpg', 'corrupt'],
    ['corrupt-sof.jpg', 'corrupt'],
    ['precision-12.jpg', 'corrupt'],
    ['bomb-40000x40000.jpg', 'too-large'],
  ];
  for (const [name, kind] of cases) {
    for (const sync of [false, true]) {
      it(`${name}: ImageDecodeError (${kind}) naming the file${sync ? ' (sync)' : ''}`, async () => {
        await assertDecodeError(made[name], kind, { sync });
      });
    }
  }

  it('a truncated JPEG says so', { skip: skipNative }, async () => {
    await assert.rejects(decodeWith('libjpeg', made['truncated.jpg']), /: cannot decode JPEG: image file is truncated/);
  });

  it('the bomb is refused from the header, before any pixel is allocated', { skip: skipNative }, async () => {
    const bytes = u8(readFileSync(made['bomb-40000x40000.jpg']));
    assert.deepEqual(nat.jpegHeader?.(bytes), { width: 40000, height: 40000, components: 3, colorSpace: 'ycbcr', progressive: false });
    // The kernels refuse it too when given the limit, synchronously or not.
    assert.throws(() => nat.jpegDecode?.(bytes, 'rgb', 1e6), (err: unknown) => (err as NodeJS.ErrnoException).code === 'ERR_JPEG_TOO_LARGE');
    await assert.rejects(async () => nat.jpegDecodeAsync?.(bytes, 'rgb', 1e6),
      (err: unknown) => (err as NodeJS.ErrnoException).code === 'ERR_JPEG_TOO_LARGE');
    // A raised limit lets it through to the decoder, where the 4.8 GB output cannot be allocated.
    // (sharp 0.35.5 aborts the process on this file with "free(): double free detected".)
    await assert.rejects(decodeWith('libjpeg', bytes, { maxPixels: 2e9, name: 'bomb' }), (err: unknown) =>
      err instanceof ImageDecodeError && err.kind === 'too-large' && /cannot allocate/.test(err.message));
  });

  it('the kernels check their arguments', { skip: skipNative }, () => {
    const jpegDecode = nat.jpegDecode;
    assert.ok(jpegDecode !== undefined);
    assert.throws(() => jpegDecode('not bytes' as unknown as Uint8Array, 'rgb'), { name: 'TypeError', message: /bytes must be a typed array/ });
    assert.throws(() => jpegDecode(new Float32Array(4) as unknown as Uint8Array, 'rgb'), { name: 'TypeError', message: /bytes must be a Uint8Array/ });
    assert.throws(() => jpegDecode(new Uint8Array(4), 'cmyk' as 'rgb'), { name: 'TypeError', message: /outColor/ });
    assert.throws(() => jpegDecode(new Uint8Array(4), 'rgb', -1), { name: 'TypeError', message: /maxPixels/ });
    assert.throws(() => nat.jpegHeader?.(new Uint8Array([1, 2, 3])), (err: unknown) => (err as NodeJS.ErrnoException).code === 'ERR_JPEG_CORRUPT');
  });
});

describe('native JPEG decoder in the batch loader', () => {
  it('worker threads (sync decode) and this thread (async) give the tensors of preprocessFile', async () => {
    const files = [...fixtureJpegs.map((f) => path.join(fixturesDir(), 'images', f)), made['gray.jpg'], made['progressive-444.jpg']];
    const expected = await Promise.all(files.map((f) => preprocessFile(f, 64)));
    for (const workers of [0, 1]) {
      const loader = new ImageBatchLoader(files, { size: 64, batchSize: files.length, workers });
      const batches: ImageBatch[] = [];
      for await (const b of loader) batches.push(b);
      await loader.close();
      assert.equal(batches.length, 1);
      expected.forEach((t, i) => assert.deepEqual(batches[0].batch.subarray(i * t.length, (i + 1) * t.length), t, `${files[i]} workers ${workers}`));
    }
  });
});
