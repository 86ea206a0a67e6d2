// A ClipService without a model or an index, for the HTTP layer's tests: a few real PNG files on
// disk, canned scores, and an adjustable delay that makes "inference" take time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { ApiError } from '../../src/server/api-error.js';
import type {
  ClassifyRequest, ClipService, Embeddings, ImageUpload, LabelProbability, ScoredImage, ServedImage, ServiceInfo,
} from '../../src/server/service.js';

export interface FakeServiceCalls {
  searchText: string[];
  searchImage: number;
  classify: ClassifyRequest[];
  embed: number;
}

export class FakeService implements ClipService {
  readonly dir: string;
  readonly images: ServedImage[] = [];
  readonly calls: FakeServiceCalls = { searchText: [], searchImage: 0, classify: [], embed: 0 };
  /** Milliseconds every inference call takes. */
  delayMs = 0;
  closed = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Writes `count` small PNGs of different colours and "indexes" them with ids 0..count-1. */
  static async create<T extends FakeService>(this: new (dir: string) => T, count = 3): Promise<T> {
    const s = new this(mkdtempSync(path.join(tmpdir(), 'clip-ts-fake-')));
    for (let i = 0; i < count; i++) {
      const file = path.join(s.dir, `image-${i}.png`);
      const png = await sharp({ create: { width: 40 + i, height: 30, channels: 3, background: { r: 60 * i, g: 100, b: 200 - 50 * i } } }).png().toBuffer();
      writeFileSync(file, new Uint8Array(png.buffer, png.byteOffset, png.byteLength));
      s.images.push({ id: i, path: file, size: png.length, mtimeMs: Date.now(), sha256: `fake${i}`.padEnd(64, '0') });
    }
    return s;
  }

  private async work(): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
  }

  private hits(top: number): ScoredImage[] {
    return this.images.slice(0, top).map((im, i) => ({ id: im.id, score: 0.9 - 0.1 * i, name: path.basename(im.path), size: im.size }));
  }

  info(): ServiceInfo {
    return { model: 'fake-model', dim: 4, imageSize: 32, templates: 'simple' };
  }

  async count(): Promise<number> {
    return this.images.length;
  }

  async searchText(query: string, top: number): Promise<ScoredImage[]> {
    this.calls.searchText.push(query);
    await this.work();
    return this.hits(top);
  }

  async searchImage(_image: ImageUpload, top: number): Promise<ScoredImage[]> {
    this.calls.searchImage++;
    await this.work();
    return this.hits(top);
  }

  async classify(request: ClassifyRequest): Promise<LabelProbability[]> {
    this.calls.classify.push(request);
    await this.work();
    // The first label wins with half the mass; the rest share the other half.
    const n = request.labels.length;
    return request.labels.map((label, i) => ({ label, probability: n === 1 ? 1 : i === 0 ? 0.5 : 0.5 / (n - 1) }));
  }

  async embed(texts: readonly string[], image: ImageUpload | undefined): Promise<Embeddings> {
    this.calls.embed++;
    await this.work();
    const unit = (): Float32Array => Float32Array.of(0.5, 0.5, 0.5, 0.5);
    return { dim: 4, texts: texts.map(unit), ...(image !== undefined ? { image: unit() } : {}) };
  }

  async image(id: number): Promise<ServedImage | undefined> {
    return this.images.find((im) => im.id === id);
  }

  /** Also deletes the image files. */
  async close(): Promise<void> {
    this.closed = true;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A service whose every call fails unexpectedly: the server must answer 500 and keep running. */
export class BrokenService extends FakeService {
  override async searchText(): Promise<ScoredImage[]> {
    throw new Error('disk on fire at /secret/path');
  }

  override async classify(): Promise<LabelProbability[]> {
    throw new ApiError(400, 'invalid_image', 'upload: cannot read the PNG header');
  }
}
