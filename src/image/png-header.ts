// The PNG header (IHDR) decides Pillow's mode exactly: colour type and bit depth. sharp's metadata
// cannot tell Pillow's "L with a transparent colour" (tRNS, which Pillow ignores when converting)
// from a real gray+alpha image, so the header is read directly.
import type { PillowMode } from './image.js';

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
}

/** Reads IHDR, which the PNG specification requires to be the first chunk. */
export function readPngHeader(bytes: Uint8Array): PngHeader | undefined {
  if (bytes.length < 33) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  return { width: view.getUint32(16), height: view.getUint32(20), bitDepth: bytes[24], colourType: bytes[25] };
}

/** Pillow 9.4's mode for a PNG of this colour type and bit depth (PngImagePlugin's table). */
export function pillowModeOfPng(h: PngHeader): PillowMode | undefined {
  switch (h.colourType) {
    case 0: // grayscale: 1 bit is "1", 2/4/8 bits are scaled to "L", 16 bits become "I"
      if (h.bitDepth === 1) return '1';
      if (h.bitDepth === 16) return 'I';
      return [2, 4, 8].includes(h.bitDepth) ? 'L' : undefined;
    case 2: // truecolour (16-bit samples keep their high byte)
      return h.bitDepth === 8 || h.bitDepth === 16 ? 'RGB' : undefined;
    case 3:
      return [1, 2, 4, 8].includes(h.bitDepth) ? 'P' : undefined;
    case 4: // Pillow 9.4 opens 16-bit gray+alpha as RGBA (R = G = B = the gray's high byte)
      return h.bitDepth === 8 ? 'LA' : h.bitDepth === 16 ? 'RGBA' : undefined;
    case 6:
      return h.bitDepth === 8 || h.bitDepth === 16 ? 'RGBA' : undefined;
    default:
      return undefined;
  }
}
