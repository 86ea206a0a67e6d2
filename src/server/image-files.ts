// Reading an indexed image for a response. The path always comes from the index (looked up by the
// integer id in the URL), never from the request; the file must still be a regular file, and its
// Content-Type comes from its first bytes, not from its name.
import { open, type FileHandle } from 'node:fs/promises';
import { sniffFormat, type ImageFormat } from '../image/format-sniff.js';
import { ApiError } from './api-error.js';
import type { ServedImage } from './service.js';

export const IMAGE_CONTENT_TYPES: Readonly<Record<ImageFormat, string>> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  tiff: 'image/tiff',
  heif: 'image/heif',
};

export interface OpenedImage {
  file: FileHandle;
  size: number;
  contentType: string;
}

function gone(image: ServedImage): ApiError {
  return new ApiError(404, 'not_found', `image ${image.id} is in the index but its file is no longer readable`);
}

/** Opens the image's file; 404 if it vanished or is no longer a regular file. The caller closes it. */
export async function openImageFile(image: ServedImage): Promise<OpenedImage> {
  let file: FileHandle;
  try {
    file = await open(image.path, 'r');
  } catch {
    throw gone(image);
  }
  try {
    const stat = await file.stat();
    if (!stat.isFile()) throw gone(image);
    const head = new Uint8Array(16);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const format = sniffFormat(head.subarray(0, bytesRead));
    return { file, size: stat.size, contentType: format === undefined ? 'application/octet-stream' : IMAGE_CONTENT_TYPES[format] };
  } catch (err) {
    await file.close();
    throw err instanceof ApiError ? err : gone(image);
  }
}
