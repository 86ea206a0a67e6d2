// Small WebP previews of indexed images for the result grid, made with sharp (on libuv's thread
// pool, off the event loop) and kept in a byte-bounded LRU. Concurrent requests for the same
// thumbnail share one rendering. The cache key includes the file's hash and mtime, so a re-indexed
// file gets a fresh thumbnail.
import sharp from 'sharp';
import { ApiError } from './api-error.js';
import { LruCache } from './lru-cache.js';
import type { ServedImage } from './service.js';

export interface ThumbnailOptions {
  /** Longest side in pixels (images are never enlarged). Default 256. */
  size?: number;
  /** Cache budget in bytes. Default 64 MB. */
  cacheBytes?: number;
  /** Images with more pixels are not thumbnailed (decompression bombs). */
  maxPixels: number;
}

export interface Thumbnail {
  data: Buffer;
  contentType: string;
}

export class ThumbnailCache {
  private readonly cache: LruCache<string, Thumbnail>;
  private readonly rendering = new Map<string, Promise<Thumbnail>>();
  private readonly size: number;

  constructor(private readonly opts: ThumbnailOptions) {
    this.size = opts.size ?? 256;
    this.cache = new LruCache({ maxWeight: opts.cacheBytes ?? 64 * 1024 * 1024 });
  }

  get cachedBytes(): number {
    return this.cache.weight;
  }

  async get(image: ServedImage): Promise<Thumbnail> {
    const key = `${image.id}:${image.sha256}:${image.mtimeMs}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let pending = this.rendering.get(key);
    if (pending === undefined) {
      pending = this.render(image).finally(() => this.rendering.delete(key));
      this.rendering.set(key, pending);
      const thumb = await pending;
      this.cache.set(key, thumb, thumb.data.length);
      return thumb;
    }
    return pending;
  }

  private async render(image: ServedImage): Promise<Thumbnail> {
    try {
      const data = await sharp(image.path, { limitInputPixels: this.opts.maxPixels, failOn: 'error', page: 0, pages: 1 })
        // Shown to people, so upright as the camera meant it (unlike the model's Pillow-faithful input).
        .rotate()
        .resize(this.size, this.size, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 80 })
        .toBuffer();
      return { data, contentType: 'image/webp' };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const missing = code === 'ENOENT' || /no such file|Input file is missing/i.test(err instanceof Error ? err.message : '');
      if (missing) throw new ApiError(404, 'not_found', `image ${image.id} is in the index but its file is no longer readable`);
      throw new ApiError(500, 'internal', `cannot make a thumbnail of image ${image.id}`);
    }
  }
}
