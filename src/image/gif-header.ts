// What is needed to reproduce Pillow's first GIF frame on top of sharp's decode: the colour that
// the transparent palette index stands for. Pillow keeps the frame as palette indices (mode P), so
// `convert("RGB")` shows the palette colour of the transparent index, while sharp (libnsgif) gives
// those pixels alpha 0. Only the block structure is walked; no pixel data is decompressed.

export interface GifFirstFrame {
  /** RGB of the transparent index, from the local palette if the frame has one, else the global. */
  transparentColour?: [number, number, number];
  /** The frame rectangle on the logical screen. */
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Walks the GIF blocks up to the first image descriptor; undefined when the data is malformed. */
export function readGifFirstFrame(b: Uint8Array): GifFirstFrame | undefined {
  if (b.length < 13) return undefined;
  const u16 = (at: number): number => b[at] | (b[at + 1] << 8);
  const packed = b[10];
  let pos = 13;
  let globalPalette: Uint8Array | undefined;
  if ((packed & 0x80) !== 0) {
    const size = 3 * (2 << (packed & 7));
    globalPalette = b.subarray(pos, pos + size);
    pos += size;
  }
  let transparentIndex: number | undefined;
  while (pos < b.length) {
    const block = b[pos];
    if (block === 0x21) {
      const label = b[pos + 1];
      pos += 2;
      if (label === 0xf9 && b[pos] === 4) {
        const flags = b[pos + 1];
        transparentIndex = (flags & 1) !== 0 ? b[pos + 4] : undefined;
      }
      // Skip the data sub-blocks (each prefixed by its length, ended by a zero length).
      while (pos < b.length && b[pos] !== 0) pos += b[pos] + 1;
      pos += 1;
    } else if (block === 0x2c) {
      if (pos + 10 > b.length) return undefined;
      const frame: GifFirstFrame = { left: u16(pos + 1), top: u16(pos + 3), width: u16(pos + 5), height: u16(pos + 7) };
      const fpacked = b[pos + 9];
      let palette = globalPalette;
      if ((fpacked & 0x80) !== 0) palette = b.subarray(pos + 10, pos + 10 + 3 * (2 << (fpacked & 7)));
      if (transparentIndex !== undefined && palette !== undefined && 3 * transparentIndex + 2 < palette.length) {
        frame.transparentColour = [palette[3 * transparentIndex], palette[3 * transparentIndex + 1], palette[3 * transparentIndex + 2]];
      } else if (transparentIndex !== undefined) {
        frame.transparentColour = [0, 0, 0];
      }
      return frame;
    } else {
      return undefined; // trailer or garbage before any image
    }
  }
  return undefined;
}
