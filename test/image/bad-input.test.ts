// Corrupt, truncated, empty, non-image, missing and oversized (decompression-bomb) files: each must
// give an ImageDecodeError naming the file - never a crash, a hang or a huge allocation - and the
// batch loader must be able to skip and count them. All test files are made here, in a temp dir.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDeflate } from 'node:zlib';
import { decodeImage, ImageBatchLoader, ImageDecodeError } from '../../src/image/index.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { assertDecodeError } from './test-data.js';

/** Node's Buffer as a plain Uint8Array (@types/node 20.9's Buffer does not match TS 5.9's typed arrays). */
function u8(b: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function crc32(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint32(0, data.length);
  for (let i = 0; i < 4; i++) head[4 + i] = type.charCodeAt(i);
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, crc32(concat([head.subarray(4), data])));
  return concat([head, data, crc]);
}

/** A valid 1-bit grayscale PNG of 30000 x 30000 pixels: ~110 kB of deflated zero rows. */
async function bombPng(): Promise<Uint8Array> {
  const side = 30000;
  const row = new Uint8Array(1 + side / 8); // filter byte 0 + packed bits
  const deflate = createDeflate({ level: 9 });
  const parts: Uint8Array[] = [];
  deflate.on('data', (b: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) => parts.push(u8(b)));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  for (let y = 0; y < side; y++) {
    if (!deflate.write(row)) await new Promise<void>((r) => deflate.once('drain', () => r()));
  }
  deflate.end();
  await done;
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, side);
  view.setUint32(4, side);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  return concat([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', concat(parts)), chunk('IEND', new Uint8Array(0))]);
}

/** A real JPEG whose frame header (SOF) claims 30000 x 30000. */
function bombJpeg(jpeg: Uint8Array): Uint8Array {
  const out = jpeg.slice();
  const view = new DataView(out.buffer);
  for (let i = 2; i + 9 < out.length;) {
    if (out[i] !== 0xff) throw new Error('bad marker walk');
    const marker = out[i + 1];
    const len = view.getUint16(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) {
      view.setUint16(i + 5, 30000); // height
      view.setUint16(i + 7, 30000); // width
      return out;
    }
    i += 2 + len;
  }
  throw new Error('no SOF marker found');
}

let dir: string;
const files: Record<string, string> = {};

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'clip-ts-bad-images-'));
  const png = u8(readFileSync(path.join(fixturesDir(), 'images', 'coffee_tiny_50x30.png')));
  const jpeg = u8(readFileSync(path.join(fixturesDir(), 'images', 'astronaut_portrait.jpg')));
  const write = (name: string, data: Uint8Array | string): void => {
    files[name] = path.join(dir, name);
    writeFileSync(files[name], data);
  };
  write('zero-bytes.jpg', new Uint8Array(0));
  write('text.jpg', 'this is not an image\n');
  write('random.bin', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251));
  write('truncated.jpg', jpeg.subarray(0, jpeg.length >> 1));
  write('truncated.png', png.subarray(0, png.length >> 1));
  write('header-only.png', png.subarray(0, 40));
  const corruptPng = png.slice();
  for (let i = 100; i < 400; i++) corruptPng[i] ^= 0x5a; // inside IDAT: bad CRC and bad deflate data
  write('corrupt.png', corruptPng);
  const corruptJpeg = jpeg.slice();
  corruptJpeg.fill(0xff, 2, 64); // smash the headers after SOI
  write('corrupt-header.jpg', corruptJpeg);
  write('bomb-30000x30000.png', await bombPng());
  write('bomb-30000x30000.jpg', bombJpeg(jpeg));
  files['missing.png'] = path.join(dir, 'missing.png');
  files['a-directory.png'] = path.join(dir, 'a-directory.png');
  mkdirSync(files['a-directory.png']);
  files['good.png'] = path.join(fixturesDir(), 'images', 'coffee_tiny_50x30.png');
});

after(() => rmSync(dir, { recursive: true, force: true }));

const expectedKind: Record<string, string> = {
  'zero-bytes.jpg': 'empty',
  'text.jpg': 'unknown-format',
  'random.bin': 'unknown-format',
  'truncated.jpg': 'corrupt',
  'truncated.png': 'corrupt',
  'header-only.png': 'corrupt',
  'corrupt.png': 'corrupt',
  'corrupt-header.jpg': 'corrupt',
  'bomb-30000x30000.png': 'too-large',
  'bomb-30000x30000.jpg': 'too-large',
  'missing.png': 'not-found',
  'a-directory.png': 'not-found',
};

describe('bad image files', () => {
  for (const [name, kind] of Object.entries(expectedKind)) {
    it(`${name}: ImageDecodeError (${kind}) naming the file`, async () => {
      await assertDecodeError(files[name], kind);
    });
  }

  it('a buffer is named by the name option', async () => {
    await assert.rejects(decodeImage(new Uint8Array([1, 2, 3]), { name: 'upload #7' }), /^ImageDecodeError: upload #7: not a recognised image/);
  });

  it('the bomb limit is adjustable (maxPixels)', async () => {
    await assert.rejects(decodeImage(files['good.png'], { maxPixels: 1000 }), (err: unknown) => err instanceof ImageDecodeError && err.kind === 'too-large');
    const img = await decodeImage(files['good.png'], { maxPixels: 1500 });
    assert.equal(img.width * img.height, 1500);
  });
});

describe('ImageBatchLoader with bad files', () => {
  const order = ['good.png', 'zero-bytes.jpg', 'good.png', 'truncated.jpg', 'bomb-30000x30000.png', 'good.png', 'text.jpg', 'good.png', 'good.png'];

  for (const workers of [0, 2]) {
    it(`onError 'skip' leaves bad files out, counts and reports them (workers ${workers})`, async () => {
      const loader = new ImageBatchLoader(order.map((n) => files[n]), { size: 32, batchSize: 2, workers, onError: 'skip' });
      const batches = [];
      for await (const b of loader) batches.push(b);
      await loader.close();
      assert.deepEqual(batches.map((b) => b.count), [2, 2, 1]);
      assert.equal(loader.skippedCount, 4);
      assert.equal(loader.loadedCount, 5);
      const skipped = batches.flatMap((b) => b.skipped);
      assert.deepEqual(skipped.map((s) => path.basename(s.path)), ['zero-bytes.jpg', 'truncated.jpg', 'bomb-30000x30000.png', 'text.jpg']);
      assert.deepEqual(skipped.map((s) => s.kind), ['empty', 'corrupt', 'too-large', 'unknown-format']);
      for (const s of skipped) assert.ok(s.message.startsWith(s.path), s.message);
      for (const b of batches) assert.equal(b.batch.length, b.count * 3 * 32 * 32);
    });

    it(`onError 'throw' stops with an error naming the file (workers ${workers})`, async () => {
      const loader = new ImageBatchLoader(order.map((n) => files[n]), { size: 32, batchSize: 2, workers });
      const seen: number[] = [];
      await assert.rejects(async () => {
        for await (const b of loader) seen.push(b.count);
      }, (err: unknown) => err instanceof ImageDecodeError && err.file === files['zero-bytes.jpg'] && err.kind === 'empty');
      assert.deepEqual(seen, []);
    });
  }
});
