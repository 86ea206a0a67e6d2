// Decoding into the pixels Pillow would hold for the same file, in Pillow's mode. Checked bit for
// bit against Pillow 9.4 + libjpeg-turbo 2.1.5 on the fixture JPEGs and on the modes listed in
// image.ts; see test/image/decode.test.ts and jpeg-native.test.ts.
//
// Gray and RGB JPEGs (the common case) go to the native addon's libjpeg-turbo decoder, set up as
// Pillow sets it up (native/jpeg.cc): the library Pillow itself uses, so the same pixels, and
// about twice as fast as sharp. CMYK/YCCK JPEGs, EXIF rotation, other formats and builds without
// the decoder use sharp. CLIP_TS_JPEG_DECODER=sharp forces sharp for every JPEG (benchmarks, or as
// an escape hatch); it is read at each call.
//
// What makes sharp's pixels equal Pillow's:
// * `ignoreIcc`: Pillow does no colour management, sharp would otherwise convert embedded
//   profiles to sRGB (rocket_orig.jpg differs by up to 55 levels without it);
// * no EXIF rotation unless asked for (Pillow doesn't rotate);
// * the output colour space follows the mode (gray stays one channel, CMYK stays CMYK);
// * GIF transparency: the transparent index shows its palette colour, as in Pillow's P mode.
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { native, type JpegHeader, type NativeBackend } from '../tensor/native.js';
import { ImageDecodeError } from './errors.js';
import { sniffFormat, SUPPORTED_FORMATS, type ImageFormat } from './format-sniff.js';
import { readGifFirstFrame } from './gif-header.js';
import { MODE_CHANNELS, type DecodedImage, type PillowMode } from './image.js';
import { pillowModeOfPng, readPngHeader } from './png-header.js';

/** Pillow refuses images above 2 x `Image.MAX_IMAGE_PIXELS` (DecompressionBombError). */
export const DEFAULT_MAX_PIXELS = 2 * 89478485;

export interface DecodeOptions {
  /** Rotate/flip by the EXIF orientation tag. Default false, like Pillow (and OpenAI's pipeline). */
  applyExifOrientation?: boolean;
  /** Refuse images with more pixels than this (decompression bombs). Default 178,956,970 like Pillow. */
  maxPixels?: number;
  /** The name used in error messages when decoding a buffer. Default `<buffer>`. */
  name?: string;
  /**
   * Decode JPEGs in this thread, blocking it, instead of on libuv's thread pool: for worker
   * threads, where that saves a thread hop and nothing else waits on the event loop. Default false.
   */
  sync?: boolean;
}

type NativeJpeg = Required<Pick<NativeBackend, 'jpegHeader' | 'jpegDecode' | 'jpegDecodeAsync'>>;
let nativeJpegFns: NativeJpeg | null | undefined;

/** The addon's libjpeg decoder; null when the addon is not built or was built without libjpeg. */
function nativeJpegDecoder(): NativeJpeg | null {
  if (nativeJpegFns === undefined) {
    let backend: NativeBackend | undefined;
    try {
      backend = native();
    } catch {
      backend = undefined; // decoding does not need the compute core: sharp it is
    }
    const { jpegHeader, jpegDecode, jpegDecodeAsync } = backend ?? {};
    nativeJpegFns = jpegHeader !== undefined && jpegDecode !== undefined && jpegDecodeAsync !== undefined
      ? { jpegHeader, jpegDecode, jpegDecodeAsync } : null;
  }
  return process.env.CLIP_TS_JPEG_DECODER === 'sharp' ? null : nativeJpegFns;
}

/** The decoder that gray and RGB JPEGs get now: 'libjpeg' (native addon) or 'sharp'. */
export function jpegDecoderInUse(): 'libjpeg' | 'sharp' {
  return nativeJpegDecoder() === null ? 'sharp' : 'libjpeg';
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readInput(input: string | Uint8Array, name: string): Promise<Uint8Array> {
  if (typeof input !== 'string') return input;
  try {
    const buf = await readFile(input);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${message(err)})`;
    throw new ImageDecodeError(name, 'not-found', why, { cause: err });
  }
}

/** Pillow's mode for the file, from the header (PNG) or sharp's metadata. */
function pillowMode(format: ImageFormat, bytes: Uint8Array, meta: Metadata): PillowMode | undefined {
  switch (format) {
    case 'png': {
      const h = readPngHeader(bytes);
      return h === undefined ? undefined : pillowModeOfPng(h);
    }
    case 'jpeg':
      if (meta.space === 'cmyk' || meta.channels === 4) return 'CMYK';
      return meta.channels === 1 ? 'L' : 'RGB';
    case 'gif':
      return 'P';
    case 'webp':
    case 'heif':
      return meta.hasAlpha ? 'RGBA' : 'RGB';
    case 'tiff':
      if (meta.isPalette) return 'P';
      if (meta.space === 'cmyk') return 'CMYK';
      if (meta.channels === 1) return meta.bitsPerSample === 1 ? '1' : 'L';
      if (meta.channels === 2) return 'LA';
      return meta.channels === 4 ? 'RGBA' : 'RGB';
  }
}

/** Decodes an image file (or its bytes) into 8-bit pixels (16-bit for mode I) in Pillow's mode. */
export async function decodeImage(input: string | Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const name = typeof input === 'string' ? input : opts.name ?? '<buffer>';
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const bytes = await readInput(input, name);
  if (bytes.length === 0) throw new ImageDecodeError(name, 'empty', 'empty file (0 bytes)');
  const format = sniffFormat(bytes);
  if (format === undefined) {
    throw new ImageDecodeError(name, 'unknown-format', `not a recognised image (supported: ${SUPPORTED_FORMATS})`);
  }

  if (format === 'jpeg' && opts.applyExifOrientation !== true) {
    const jpeg = nativeJpegDecoder();
    const image = jpeg === null ? undefined : await decodeJpegNative(jpeg, bytes, name, maxPixels, opts.sync === true);
    if (image !== undefined) return image;
  }

  // Header first: a decompression bomb must be refused before any pixel is allocated.
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new ImageDecodeError(name, 'corrupt', `cannot read the ${format.toUpperCase()} header: ${message(err)}`, { cause: err });
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  checkSize(name, width, height, maxPixels);
  const mode = pillowMode(format, bytes, meta);
  if (mode === undefined) throw new ImageDecodeError(name, 'unsupported', `unsupported ${format.toUpperCase()} pixel format`);

  const gif = format === 'gif' ? readGifFirstFrame(bytes) : undefined;
  const keepGifAlpha = gif?.transparentColour !== undefined;

  let pipeline = sharp(bytes, {
    ignoreIcc: true,
    autoOrient: opts.applyExifOrientation === true,
    // 'error' rejects corrupt and truncated data (as Pillow does) but not mere warnings such as
    // libpng's complaints about an sRGB profile, which Pillow ignores too.
    failOn: 'error',
    limitInputPixels: maxPixels,
    page: 0,
    pages: 1,
    sequentialRead: true,
  });
  switch (mode) {
    case '1':
    case 'L':
      pipeline = pipeline.toColourspace('b-w').removeAlpha();
      break;
    case 'I':
      pipeline = pipeline.toColourspace('grey16').removeAlpha();
      break;
    case 'LA':
    case 'RGBA':
      // Gray+alpha comes back as RGBA (R = G = B = gray); the gray channel is picked below.
      pipeline = pipeline.toColourspace('srgb').ensureAlpha();
      break;
    case 'RGB':
    case 'P':
      pipeline = pipeline.toColourspace('srgb');
      if (!keepGifAlpha) pipeline = pipeline.removeAlpha();
      break;
    case 'CMYK':
      pipeline = pipeline.pipelineColourspace('cmyk').toColourspace('cmyk');
      break;
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw(mode === 'I' ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageDecodeError(name, 'corrupt', `cannot decode ${format.toUpperCase()}: ${message(err)}`, { cause: err });
  }
  const { info } = raw;
  const expectedChannels = mode === 'LA' || keepGifAlpha ? 4 : MODE_CHANNELS[mode];
  if (info.channels !== expectedChannels) {
    throw new ImageDecodeError(name, 'unsupported', `decoder gave ${info.channels} channels for Pillow mode ${mode}`);
  }
  const w = info.width;
  const h = info.height;
  if (mode === 'I') {
    const data = new Uint16Array(w * h);
    const src = raw.data;
    // sharp writes native-endian 16-bit samples, possibly at an odd offset: copy them into an
    // aligned array of our own.
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const littleEndian = endianness() === 'LE';
    for (let i = 0; i < data.length; i++) data[i] = view.getUint16(2 * i, littleEndian);
    return { mode, width: w, height: h, channels: 1, data };
  }
  // A view of sharp's output buffer (no copy: it can be several megabytes).
  let data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  if (mode === 'LA') data = pickChannels(data, 4, [0, 3]);
  if (keepGifAlpha && gif?.transparentColour !== undefined) data = fillTransparent(data, gif.transparentColour);
  return { mode, width: w, height: h, channels: MODE_CHANNELS[mode], data };
}

function checkSize(name: string, width: number, height: number, maxPixels: number): void {
  if (!(width > 0 && height > 0)) throw new ImageDecodeError(name, 'corrupt', `invalid image size ${width}x${height}`);
  if (width * height > maxPixels) {
    throw new ImageDecodeError(name, 'too-large',
      `${width}x${height} = ${width * height} pixels exceeds the limit of ${maxPixels} (possible decompression bomb; raise maxPixels if the file is trusted)`);
  }
}

/** A gray or RGB JPEG with libjpeg; undefined for the other kinds (CMYK, YCCK), which sharp decodes. */
async function decodeJpegNative(jpeg: NativeJpeg, bytes: Uint8Array, name: string, maxPixels: number,
  sync: boolean): Promise<DecodedImage | undefined> {
  let header: JpegHeader;
  try {
    header = jpeg.jpegHeader(bytes);
  } catch (err) {
    throw new ImageDecodeError(name, 'corrupt', `cannot read the JPEG header: ${message(err)}`, { cause: err });
  }
  // Pillow's mode follows the component count alone: 1 is L, 3 is RGB (YCbCr or RGB data), 4 is CMYK.
  const mode = header.components === 1 ? 'L' : header.components === 3 ? 'RGB' : undefined;
  if (mode === undefined) return undefined;
  checkSize(name, header.width, header.height, maxPixels);
  const colour = mode === 'L' ? 'gray' : 'rgb';
  let data: Uint8Array;
  try {
    data = sync ? jpeg.jpegDecode(bytes, colour, maxPixels) : await jpeg.jpegDecodeAsync(bytes, colour, maxPixels);
  } catch (err) {
    const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_JPEG_TOO_LARGE';
    throw new ImageDecodeError(name, tooLarge ? 'too-large' : 'corrupt', `cannot decode JPEG: ${message(err)}`, { cause: err });
  }
  const channels = MODE_CHANNELS[mode];
  if (data.length !== header.width * header.height * channels) {
    throw new ImageDecodeError(name, 'corrupt', `the JPEG decoder returned ${data.length} bytes for ${header.width}x${header.height}`);
  }
  return { mode, width: header.width, height: header.height, channels, data };
}

function pickChannels(data: Uint8Array, from: number, picks: number[]): Uint8Array {
  const n = data.length / from;
  const out = new Uint8Array(n * picks.length);
  for (let p = 0, q = 0; p < data.length; p += from) for (const c of picks) out[q++] = data[p + c];
  return out;
}

/** RGBA -> RGB where fully transparent pixels take the transparent index's palette colour. */
function fillTransparent(rgba: Uint8Array, colour: [number, number, number]): Uint8Array {
  const out = new Uint8Array((rgba.length / 4) * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    const transparent = rgba[p + 3] === 0;
    out[q] = transparent ? colour[0] : rgba[p];
    out[q + 1] = transparent ? colour[1] : rgba[p + 1];
    out[q + 2] = transparent ? colour[2] : rgba[p + 2];
  }
  return out;
}
