// Image features for the probes, extracted once and cached in a file.
//
// Feature file format (`clip-ts-features/1`), little-endian:
//
//   bytes 0–7     ASCII "CLIPFEAT"
//   bytes 8–11    uint32 format version (1)
//   bytes 12–15   uint32 H, the byte length of the JSON header
//   16 … 16+H     UTF-8 JSON header (FeatureFileHeader), padded with spaces so 16+H is a multiple of 8
//   then          float32 [count, dim] features (encode_image output, not normalised), row-major
//   then          int32 [count] labels (indices into header.classes)
//
// The header records the image paths, the class names and fingerprints of the model file and of
// the image set, so a re-run with the same model and data reuses the file instead of encoding
// again. The file is written atomically (temporary file + rename). A long extraction is resumable:
// rows are appended to OUT.partial (same layout, labels last) and flushed after each batch; a
// re-run whose fingerprints match the partial file continues after its last complete row.
import { createHash } from 'node:crypto';
import {
  closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, statSync, writeSync,
} from 'node:fs';
import path from 'node:path';
import { ImageBatchLoader } from '../image/index.js';
import type { ClipModel } from '../model/index.js';
import { writeAll, writeFileAtomic } from '../weights/atomic-file.js';
import { featureMatrix, type FeatureMatrix } from './feature-matrix.js';
import type { LabelledImages } from './labelled-images.js';

export const FEATURE_FILE_MAGIC = 'CLIPFEAT';
export const FEATURE_FILE_VERSION = 1;
export const FEATURE_FORMAT = 'clip-ts-features/1';
const PREFIX_BYTES = 16;

export interface ModelFingerprint {
  /** Absolute path of the checkpoint. */
  file: string;
  bytes: number;
  mtimeMs: number;
}

export interface FeatureFileHeader {
  format: typeof FEATURE_FORMAT;
  count: number;
  dim: number;
  classes: string[];
  /** The image of each row, as listed by the image set. */
  paths: string[];
  model: ModelFingerprint & { imageSize: number };
  data: { source: string; fingerprint: string };
  /** Always false: rows are raw encode_image outputs (the probes normalise if they want to). */
  normalized: false;
  created: string;
}

export interface FeatureSet {
  header: FeatureFileHeader;
  /** float32 [count, dim]. */
  features: FeatureMatrix & { data: Float32Array };
  labels: Int32Array;
}

export function modelFingerprint(file: string): ModelFingerprint {
  const abs = path.resolve(file);
  const st = statSync(abs);
  return { file: abs, bytes: st.size, mtimeMs: Math.round(st.mtimeMs) };
}

/** A hash of the class list and of every item's path, label, size and modification time. */
export function dataFingerprint(data: Pick<LabelledImages, 'classes' | 'items'>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(data.classes));
  for (const it of data.items) {
    let size = -1;
    let mtime = -1;
    try {
      const st = statSync(it.path);
      size = st.size;
      mtime = Math.round(st.mtimeMs);
    } catch { /* a missing file fails later, when it is decoded */ }
    h.update(`\n${path.resolve(it.path)}\t${it.label}\t${size}\t${mtime}`);
  }
  return h.digest('hex');
}

function encodeHeader(header: FeatureFileHeader): Uint8Array {
  let json = JSON.stringify(header);
  const raw = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - ((PREFIX_BYTES + raw) % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(PREFIX_BYTES + body.length);
  out.set(new TextEncoder().encode(FEATURE_FILE_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, FEATURE_FILE_VERSION, true);
  view.setUint32(12, body.length, true);
  out.set(body, PREFIX_BYTES);
  return out;
}

function bytesOf(a: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Writes all of `bytes` at file offset `position`; returns the offset after them. */
function writeAt(fd: number, bytes: Uint8Array, position: number): number {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
  return position + bytes.length;
}

/** True when `file` starts with the feature-file magic (so a CLI argument can be a file or a folder). */
export function isFeatureFile(file: string): boolean {
  if (!existsSync(file) || !statSync(file).isFile()) return false;
  const fd = openSync(file, 'r');
  try {
    const b = new Uint8Array(8);
    return readSync(fd, b, 0, 8, 0) === 8 && String.fromCharCode(...b) === FEATURE_FILE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** Parses and checks the prefix and JSON header of a feature file's first bytes. */
function parseHeader(file: string, bytes: Uint8Array): { header: FeatureFileHeader; dataOffset: number } {
  if (bytes.length < PREFIX_BYTES || String.fromCharCode(...bytes.subarray(0, 8)) !== FEATURE_FILE_MAGIC) {
    throw new Error(`${file}: not a clip-ts feature file (no ${FEATURE_FILE_MAGIC} signature)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== FEATURE_FILE_VERSION) throw new Error(`${file}: feature file version ${version}, this clip-ts reads version ${FEATURE_FILE_VERSION}`);
  const h = view.getUint32(12, true);
  if (PREFIX_BYTES + h > bytes.length) throw new Error(`${file}: truncated header (${h} bytes announced)`);
  let header: FeatureFileHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + h))) as FeatureFileHeader;
  } catch (err) {
    throw new Error(`${file}: the header is not valid JSON (${(err as Error).message})`);
  }
  const ok = header !== null && typeof header === 'object' && header.format === FEATURE_FORMAT &&
    Number.isInteger(header.count) && header.count >= 0 && Number.isInteger(header.dim) && header.dim > 0 &&
    Array.isArray(header.classes) && Array.isArray(header.paths) && header.paths.length === header.count;
  if (!ok) throw new Error(`${file}: the header lacks count/dim/classes/paths or they disagree`);
  return { header, dataOffset: PREFIX_BYTES + h };
}

export function readFeatureFile(file: string): FeatureSet {
  const buf = readFileSync(file);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const { header, dataOffset } = parseHeader(file, bytes);
  const { count, dim } = header;
  const expected = dataOffset + count * dim * 4 + count * 4;
  if (bytes.length !== expected) {
    throw new Error(`${file}: ${bytes.length} bytes, but a header of ${count} rows × ${dim} needs ${expected} (truncated or corrupt)`);
  }
  // Copies, so the arrays are aligned whatever the Buffer's offset.
  const features = new Float32Array(count * dim);
  bytesOf(features).set(bytes.subarray(dataOffset, dataOffset + count * dim * 4));
  const labels = new Int32Array(count);
  bytesOf(labels).set(bytes.subarray(dataOffset + count * dim * 4));
  for (let i = 0; i < count; i++) {
    if (labels[i] < 0 || labels[i] >= header.classes.length) {
      throw new Error(`${file}: row ${i} (${header.paths[i]}) has label ${labels[i]} outside the ${header.classes.length} classes`);
    }
  }
  return { header, features: { ...featureMatrix(features, count, dim), data: features }, labels };
}

export function writeFeatureFile(file: string, set: FeatureSet): void {
  const { header, features, labels } = set;
  if (features.rows !== header.count || features.dim !== header.dim || labels.length !== header.count) {
    throw new RangeError(`feature set: header says [${header.count}, ${header.dim}], data is [${features.rows}, ${features.dim}] with ${labels.length} labels`);
  }
  writeFileAtomic(file, (fd) => {
    writeAll(fd, encodeHeader(header));
    writeAll(fd, bytesOf(features.data));
    writeAll(fd, bytesOf(labels));
  });
}

export interface ExtractFeaturesOptions {
  model: ClipModel;
  /** The checkpoint the model was loaded from (fingerprinted for cache reuse). */
  modelFile: string;
  data: LabelledImages;
  /** Cache file: reused when its fingerprints match, else written (atomically, resumably). */
  out?: string;
  /** Images per encode_image call. Default 32. */
  batchSize?: number;
  /** Decoding worker threads (ImageBatchLoader). */
  workers?: number;
  /** Ignore a matching cache and encode again. */
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface ExtractFeaturesResult {
  set: FeatureSet;
  /** True when an existing file was reused without encoding. */
  reused: boolean;
  /** Rows taken over from an interrupted run's partial file. */
  resumedRows: number;
}

function sameSource(a: FeatureFileHeader, b: FeatureFileHeader): boolean {
  return a.dim === b.dim && a.count === b.count && a.model.file === b.model.file && a.model.bytes === b.model.bytes &&
    a.model.mtimeMs === b.model.mtimeMs && a.data.fingerprint === b.data.fingerprint;
}

/** Reads only the header of a feature file (or a partial one); undefined when unreadable. */
function peekHeader(file: string): { header: FeatureFileHeader; dataOffset: number } | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      const prefix = new Uint8Array(PREFIX_BYTES);
      if (readSync(fd, prefix, 0, PREFIX_BYTES, 0) !== PREFIX_BYTES) return undefined;
      const h = new DataView(prefix.buffer).getUint32(12, true);
      if (h > 1 << 30) return undefined;
      const all = new Uint8Array(PREFIX_BYTES + h);
      if (readSync(fd, all, 0, all.length, 0) !== all.length) return undefined;
      return parseHeader(file, all);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * The feature file `file` when it was made from the same model file and the same images (paths,
 * labels, sizes, modification times); undefined when absent, different or damaged.
 */
export function reusableFeatureFile(file: string, modelFile: string, data: Pick<LabelledImages, 'classes' | 'items'>): FeatureSet | undefined {
  if (!existsSync(file)) return undefined;
  const peek = peekHeader(file);
  if (peek === undefined) return undefined;
  const h = peek.header;
  const m = modelFingerprint(modelFile);
  if (h.count !== data.items.length || h.model.file !== m.file || h.model.bytes !== m.bytes || h.model.mtimeMs !== m.mtimeMs ||
      h.data.fingerprint !== dataFingerprint(data)) return undefined;
  try {
    return readFeatureFile(file);
  } catch {
    return undefined; // a damaged cache (e.g. truncated by a full disk) is simply made again
  }
}

/** Encodes every image of `data` (or reuses / resumes a cache file) into a feature set. */
export async function extractFeatures(opts: ExtractFeaturesOptions): Promise<ExtractFeaturesResult> {
  const { model, data } = opts;
  if (data.items.length === 0) throw new Error(`${data.source}: no images`);
  const dim = model.config.embedDim;
  const count = data.items.length;
  const header: FeatureFileHeader = {
    format: FEATURE_FORMAT, count, dim, classes: [...data.classes], paths: data.items.map((it) => it.path),
    model: { ...modelFingerprint(opts.modelFile), imageSize: model.imageSize },
    data: { source: path.resolve(data.source), fingerprint: dataFingerprint(data) },
    normalized: false, created: new Date().toISOString(),
  };
  const labels = Int32Array.from(data.items.map((it) => it.label));

  if (opts.out !== undefined && opts.force !== true) {
    const cached = reusableFeatureFile(opts.out, opts.modelFile, data);
    if (cached !== undefined && cached.header.dim === dim) return { set: cached, reused: true, resumedRows: 0 };
  }

  const features = new Float32Array(count * dim);
  let start = 0;
  let fd: number | undefined;
  let position = 0;
  const partial = opts.out !== undefined ? `${opts.out}.partial` : undefined;
  try {
    if (partial !== undefined) {
      const old = opts.force !== true && existsSync(partial) ? peekHeader(partial) : undefined;
      if (old !== undefined && sameSource(old.header, header)) {
        // Resume: keep the complete rows, drop a half-written one.
        Object.assign(header, { created: old.header.created });
        fd = openSync(partial, 'r+');
        const size = fstatSync(fd).size;
        start = Math.min(count, Math.max(0, Math.floor((size - old.dataOffset) / (dim * 4))));
        if (start > 0) {
          const done = bytesOf(features).subarray(0, start * dim * 4);
          if (readSync(fd, done, 0, done.length, old.dataOffset) !== done.length) throw new Error(`${partial}: short read`);
        }
        position = old.dataOffset + start * dim * 4;
        ftruncateSync(fd, position);
      } else {
        fd = openSync(partial, 'w');
        position = writeAt(fd, encodeHeader(header), 0);
      }
    }
    const resumedRows = start;
    opts.onProgress?.(start, count);
    if (start < count) {
      const loader = new ImageBatchLoader(header.paths.slice(start), {
        size: model.imageSize, batchSize: opts.batchSize ?? 32, onError: 'throw',
        ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      });
      let row = start;
      for await (const batch of loader) {
        const out = model.embedImages(model.imageTensor(batch.batch, batch.count)).data;
        const rows = out instanceof Float32Array ? out : Float32Array.from(out);
        for (let i = 0; i < rows.length; i++) {
          if (!Number.isFinite(rows[i])) throw new Error(`${batch.paths[Math.floor(i / dim)]}: the model produced a non-finite feature`);
        }
        features.set(rows, row * dim);
        if (fd !== undefined) {
          position = writeAt(fd, bytesOf(rows), position);
          fsyncSync(fd);
        }
        row += batch.count;
        opts.onProgress?.(row, count);
      }
      if (row !== count) throw new Error(`internal: encoded ${row} of ${count} images`);
    }
    if (fd !== undefined && partial !== undefined && opts.out !== undefined) {
      writeAt(fd, bytesOf(labels), position);
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(partial, opts.out);
    }
    return { set: { header, features: { ...featureMatrix(features, count, dim), data: features }, labels }, reused: false, resumedRows };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
