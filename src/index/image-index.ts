// The image index: a LanceDB database (a folder) holding one row per image file (its absolute
// path, size, modification time, SHA-256 and L2-normalised CLIP embedding) and a small table of
// facts about the index itself (format version, the model that made the embeddings, the next id).
//
// The database on disk is the source of truth. For queries, the rows are also kept in memory as one
// float32 matrix and ranked exactly by a native matrix-vector product (`VectorMatrix`); the copy is
// reloaded whenever the table's version changes, including changes made by another process (the
// connection re-checks the table on every read). LanceDB's own scan is available as well
// (`search: 'lancedb'`), for indexes too large to hold in memory.
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Connection, Table } from '@lancedb/lancedb';
import type * as arrowTypes from 'apache-arrow';
import { arrow, inFilters, lancedb } from './lance.js';
import { VectorMatrix } from './vector-matrix.js';

export interface IndexedImage {
  /** Stable for the life of the row: an updated file keeps its id, a removed file's id is never reused. */
  id: number;
  /** Absolute path. */
  path: string;
  /** File size in bytes. */
  size: number;
  /** Modification time (ms since the epoch), as fs.stat reports it. */
  mtimeMs: number;
  /** SHA-256 of the file's bytes, hex. */
  sha256: string;
}

export interface SearchHit extends IndexedImage {
  /** Cosine similarity with the query. */
  score: number;
}

export interface IndexModelInfo {
  /** The model name or path the index was built with. */
  model: string;
  /** SHA-256 of the model's weights file: the model's identity (names and paths can change). */
  modelSha256: string;
  /** Embedding dimension. */
  dim: number;
  /** The model's input resolution. */
  imageSize: number;
}

/** A row to store: an image and its embedding (length dim, L2-normalised). */
export type ImageRow = Omit<IndexedImage, 'id'> & { vector: Float32Array };

export type SearchEngine = 'memory' | 'lancedb';

export interface ImageIndexOptions {
  /**
   * How searchVector ranks: 'memory' (default) keeps every vector in memory and computes exact
   * cosine similarities with the native core; 'lancedb' asks LanceDB, which scans the table on disk
   * (also exact: the index has no approximate vector index) and needs no memory for the vectors.
   */
  search?: SearchEngine;
}

export type ImageIndexErrorReason = 'not-found' | 'not-an-index' | 'exists' | 'invalid';

/** A problem with the index folder itself; `reason` tells which (for servers mapping it to a status). */
export class ImageIndexError extends Error {
  readonly reason: ImageIndexErrorReason;

  constructor(reason: ImageIndexErrorReason, message: string) {
    super(message);
    this.name = 'ImageIndexError';
    this.reason = reason;
  }
}

const FORMAT = 'clip-ts-image-index';
const FORMAT_VERSION = '1';
const IMAGES_TABLE = 'images';
const META_TABLE = 'meta';
const ROW_COLUMNS = ['id', 'path', 'size', 'mtime_ms', 'sha256'];

function imagesSchema(dim: number): arrowTypes.Schema {
  return new arrow.Schema([
    new arrow.Field('id', new arrow.Int32(), false),
    new arrow.Field('path', new arrow.Utf8(), false),
    new arrow.Field('size', new arrow.Float64(), false),
    new arrow.Field('mtime_ms', new arrow.Float64(), false),
    new arrow.Field('sha256', new arrow.Utf8(), false),
    new arrow.Field('vector', new arrow.FixedSizeList(dim, new arrow.Field('item', new arrow.Float32(), true)), false),
  ]);
}

const metaSchema = new arrow.Schema([
  new arrow.Field('key', new arrow.Utf8(), false),
  new arrow.Field('value', new arrow.Utf8(), false),
]);

function utf8Data(values: string[]): arrowTypes.Data<arrowTypes.Utf8> {
  return arrow.vectorFromArray(values, new arrow.Utf8()).data[0];
}

/** Builds the Arrow table for rows directly (no per-row inference): vectors are copied once. */
function imagesArrowTable(schema: arrowTypes.Schema, rows: readonly (IndexedImage & { vector: Float32Array })[], dim: number): arrowTypes.Table {
  const n = rows.length;
  const flat = new Float32Array(n * dim);
  rows.forEach((r, i) => flat.set(r.vector, i * dim));
  const vectorType = schema.fields[5].type as arrowTypes.FixedSizeList<arrowTypes.Float32>;
  const children = [
    arrow.makeData({ type: new arrow.Int32(), length: n, data: Int32Array.from(rows, (r) => r.id) }),
    utf8Data(rows.map((r) => r.path)),
    arrow.makeData({ type: new arrow.Float64(), length: n, data: Float64Array.from(rows, (r) => r.size) }),
    arrow.makeData({ type: new arrow.Float64(), length: n, data: Float64Array.from(rows, (r) => r.mtimeMs) }),
    utf8Data(rows.map((r) => r.sha256)),
    arrow.makeData({ type: vectorType, length: n, child: arrow.makeData({ type: new arrow.Float32(), length: n * dim, data: flat }) }),
  ];
  const struct = arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, children });
  return new arrow.Table([new arrow.RecordBatch(schema, struct)]);
}

function metaArrowTable(entries: Record<string, string>): arrowTypes.Table {
  const keys = Object.keys(entries);
  const struct = arrow.makeData({
    type: new arrow.Struct(metaSchema.fields),
    length: keys.length,
    children: [utf8Data(keys), utf8Data(keys.map((k) => entries[k]))],
  });
  return new arrow.Table([new arrow.RecordBatch(metaSchema, struct)]);
}

/** A row from LanceDB (a plain object) as an IndexedImage, checking the types. */
function toIndexedImage(row: Record<string, unknown>): IndexedImage {
  const { id, path: p, size, mtime_ms: mtimeMs, sha256 } = row;
  if (typeof id !== 'number' || typeof p !== 'string' || typeof size !== 'number' || typeof mtimeMs !== 'number' || typeof sha256 !== 'string') {
    throw new Error(`image index: unexpected row ${JSON.stringify(Object.keys(row))}`);
  }
  return { id, path: p, size, mtimeMs, sha256 };
}

/** Checks a vector's length and values and returns it scaled to unit length (a copy). */
function unitVector(v: Float32Array, dim: number, what: string): Float32Array {
  if (v.length !== dim) throw new RangeError(`${what}: vector has ${v.length} dimensions, the index ${dim}`);
  let sq = 0;
  for (let i = 0; i < dim; i++) sq += v[i] * v[i];
  if (!Number.isFinite(sq) || sq === 0) throw new RangeError(`${what}: vector is zero or not finite`);
  const inv = 1 / Math.sqrt(sq);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = v[i] * inv;
  return out;
}

function checkInfo(info: IndexModelInfo): void {
  if (typeof info.model !== 'string' || info.model === '') throw new RangeError('index model name must be a non-empty string');
  if (!/^[0-9a-f]{64}$/.test(info.modelSha256)) throw new RangeError(`index modelSha256 must be 64 lower-case hex digits, got "${info.modelSha256}"`);
  if (!Number.isInteger(info.dim) || info.dim < 1) throw new RangeError(`index dim must be a positive integer, got ${info.dim}`);
  if (!Number.isInteger(info.imageSize) || info.imageSize < 1) throw new RangeError(`index imageSize must be a positive integer, got ${info.imageSize}`);
}

/** Everything a search needs, read from one table version. */
interface Snapshot {
  version: number;
  rows: IndexedImage[];
  matrix: VectorMatrix;
}

export class ImageIndex {
  /** Absolute path of the index folder. */
  readonly dbPath: string;
  readonly info: IndexModelInfo;
  private readonly db: Connection;
  private readonly images: Table;
  private readonly meta: Table;
  private readonly engine: SearchEngine;
  private readonly schema: arrowTypes.Schema;
  /** Writes run one at a time (id reservation reads, then writes the next id). */
  private writeQueue: Promise<unknown> = Promise.resolve();
  /** The in-memory copy, shared by concurrent searches while it loads. */
  private snapshot: Promise<Snapshot> | undefined;
  private closed = false;

  private constructor(dbPath: string, info: IndexModelInfo, db: Connection, images: Table, meta: Table, opts: ImageIndexOptions) {
    this.dbPath = dbPath;
    this.info = info;
    this.db = db;
    this.images = images;
    this.meta = meta;
    this.engine = opts.search ?? 'memory';
    this.schema = imagesSchema(info.dim);
    if (this.engine !== 'memory' && this.engine !== 'lancedb') throw new RangeError(`search must be 'memory' or 'lancedb', got "${String(opts.search)}"`);
  }

  /** True if `dbPath` holds a clip-ts image index (without opening it). */
  static exists(dbPath: string): boolean {
    return existsSync(path.join(dbPath, `${META_TABLE}.lance`)) && existsSync(path.join(dbPath, `${IMAGES_TABLE}.lance`));
  }

  /** Opens an existing index; an error names `dbPath` if there is none or it is not a clip-ts index. */
  static async open(dbPath: string, opts: ImageIndexOptions = {}): Promise<ImageIndex> {
    const abs = path.resolve(dbPath);
    if (!existsSync(abs)) {
      throw new ImageIndexError('not-found', `${dbPath}: no image index there (build one with \`clip-ts index DIR --db ${dbPath}\`)`);
    }
    if (!statSync(abs).isDirectory()) throw new ImageIndexError('not-an-index', `${dbPath} is not a clip-ts image index (it is a file; an index is a folder)`);
    const db = await (await lancedb()).connect(abs, { readConsistencyInterval: 0 });
    try {
      const names = await db.tableNames();
      if (!names.includes(META_TABLE) || !names.includes(IMAGES_TABLE)) {
        throw new ImageIndexError('not-an-index', `${dbPath} is not a clip-ts image index (it has no "${IMAGES_TABLE}" and "${META_TABLE}" tables)`);
      }
      const meta = await db.openTable(META_TABLE);
      const entries = new Map<string, string>();
      for (const row of await meta.query().toArray() as Record<string, unknown>[]) {
        if (typeof row.key === 'string' && typeof row.value === 'string') entries.set(row.key, row.value);
      }
      if (entries.get('format') !== FORMAT) throw new ImageIndexError('not-an-index', `${dbPath} is not a clip-ts image index (its "${META_TABLE}" table has no format "${FORMAT}")`);
      if (entries.get('format_version') !== FORMAT_VERSION) {
        throw new ImageIndexError('invalid', `${dbPath}: image index format version ${entries.get('format_version')} is not supported (this clip-ts reads version ${FORMAT_VERSION})`);
      }
      const info: IndexModelInfo = {
        model: entries.get('model') ?? '',
        modelSha256: entries.get('model_sha256') ?? '',
        dim: Number(entries.get('dim')),
        imageSize: Number(entries.get('image_size')),
      };
      try {
        checkInfo(info);
      } catch (err) {
        throw new ImageIndexError('invalid', `${dbPath}: damaged image index: ${(err as Error).message}`);
      }
      const images = await db.openTable(IMAGES_TABLE);
      return new ImageIndex(abs, info, db, images, meta, opts);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Creates an empty index in a new or empty folder `dbPath`. */
  static async create(dbPath: string, info: IndexModelInfo, opts: ImageIndexOptions = {}): Promise<ImageIndex> {
    checkInfo(info);
    const abs = path.resolve(dbPath);
    if (existsSync(abs)) {
      if (!statSync(abs).isDirectory()) throw new ImageIndexError('exists', `${dbPath} exists and is a file; an image index is a folder`);
      if (ImageIndex.exists(abs)) throw new ImageIndexError('exists', `${dbPath} already holds an image index (open it, or choose another --db)`);
      if (readdirSync(abs).length > 0) throw new ImageIndexError('exists', `${dbPath} is a folder that is not empty; an image index needs a new or empty folder`);
    }
    mkdirSync(abs, { recursive: true });
    const db = await (await lancedb()).connect(abs, { readConsistencyInterval: 0 });
    try {
      const images = await db.createEmptyTable(IMAGES_TABLE, imagesSchema(info.dim), { mode: 'create' });
      // The meta table is written last: it is what makes the folder an index.
      const meta = await db.createTable(META_TABLE, metaArrowTable({
        format: FORMAT,
        format_version: FORMAT_VERSION,
        model: info.model,
        model_sha256: info.modelSha256,
        dim: String(info.dim),
        image_size: String(info.imageSize),
        next_id: '0',
        created: new Date().toISOString(),
      }), { mode: 'create' });
      return new ImageIndex(abs, { ...info }, db, images, meta, opts);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`image index ${this.dbPath} is closed`);
  }

  async count(): Promise<number> {
    this.checkOpen();
    return this.images.countRows();
  }

  async get(id: number): Promise<IndexedImage | undefined> {
    this.checkOpen();
    if (!Number.isInteger(id)) return undefined;
    const rows = await this.images.query().where(`id = ${id}`).select(ROW_COLUMNS).limit(1).toArray() as Record<string, unknown>[];
    return rows.length > 0 ? toIndexedImage(rows[0]) : undefined;
  }

  /** Every image, by id. */
  async all(): Promise<IndexedImage[]> {
    this.checkOpen();
    const rows = await this.images.query().select(ROW_COLUMNS).toArray() as Record<string, unknown>[];
    return rows.map(toIndexedImage).sort((a, b) => a.id - b.id);
  }

  /** Every vector (count x dim, row-major, L2-normalised) and the id of each row, by id. */
  async vectors(): Promise<{ ids: Int32Array; vectors: Float32Array }> {
    const { matrix } = await this.current();
    return { ids: matrix.ids.slice(), vectors: matrix.vectors.slice() };
  }

  /** The stored vectors of some ids (those that exist). */
  async vectorsOf(ids: readonly number[]): Promise<Map<number, Float32Array>> {
    this.checkOpen();
    const out = new Map<number, Float32Array>();
    for (const filter of inFilters('id', ids.filter((id) => Number.isInteger(id)))) {
      const table = await this.images.query().where(filter).select(['id', 'vector']).toArrow();
      const ids = table.getChild('id');
      const vectors = table.getChild('vector');
      if (ids === null || vectors === null) continue;
      for (let i = 0; i < table.numRows; i++) {
        const v = vectors.get(i) as arrowTypes.Vector<arrowTypes.Float32> | null;
        if (v !== null) out.set(Number(ids.get(i)), Float32Array.from(v.toArray()));
      }
    }
    return out;
  }

  /**
   * Adds or replaces images by path (a path already in the index keeps its id; a new one gets the
   * next unused id). Vectors are checked and scaled to unit length. Returns the stored rows, in
   * the order given (for a path given twice, the last one wins).
   */
  upsert(rows: ImageRow[]): Promise<IndexedImage[]> {
    this.checkOpen();
    return this.serialized(async () => {
      const byPath = new Map<string, ImageRow & { vector: Float32Array }>();
      for (const r of rows) {
        const p = path.resolve(r.path);
        byPath.set(p, { ...r, path: p, vector: unitVector(r.vector, this.info.dim, p) });
      }
      if (byPath.size === 0) return [];
      const existing = new Map<string, number>();
      for (const filter of inFilters('path', [...byPath.keys()])) {
        for (const row of await this.images.query().where(filter).select(['id', 'path']).toArray() as Record<string, unknown>[]) {
          existing.set(String(row.path), Number(row.id));
        }
      }
      const fresh = [...byPath.keys()].filter((p) => !existing.has(p));
      if (fresh.length > 0) {
        // Reserve the ids before writing the rows: a crash in between leaves unused ids, never reused ones.
        const first = await this.readNextId();
        await this.writeMeta({ next_id: String(first + fresh.length) });
        fresh.forEach((p, i) => existing.set(p, first + i));
      }
      const stored = [...byPath.values()].map((r) => ({
        id: existing.get(r.path) as number, path: r.path, size: r.size, mtimeMs: r.mtimeMs, sha256: r.sha256, vector: r.vector,
      }));
      const data = imagesArrowTable(this.schema, stored, this.info.dim);
      // A plain append when every path is new (the common case while indexing): faster than a merge.
      if (fresh.length === byPath.size) await this.images.add(data);
      else await this.images.mergeInsert('path').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
      const result = new Map(stored.map(({ vector: _vector, ...image }) => [image.path, image]));
      return rows.map((r) => result.get(path.resolve(r.path)) as IndexedImage);
    });
  }

  /** Removes images by path (paths not in the index are ignored). */
  remove(paths: string[]): Promise<void> {
    this.checkOpen();
    return this.serialized(async () => {
      for (const filter of inFilters('path', paths.map((p) => path.resolve(p)))) await this.images.delete(filter);
    });
  }

  /** The `k` images most similar to `vector` (unit length, length dim), best first. */
  async searchVector(vector: Float32Array, k: number): Promise<SearchHit[]> {
    this.checkOpen();
    const query = unitVector(vector, this.info.dim, 'query');
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
    if (this.engine === 'lancedb') return this.searchLance(query, k);
    const { rows, matrix } = await this.current();
    return matrix.nearest(query, k).map(({ index, score }) => ({ ...rows[index], score }));
  }

  /** Loads the in-memory copy now (otherwise the first search does), e.g. when a server starts. */
  async preload(): Promise<void> {
    if (this.engine === 'memory') await this.current();
  }

  /** Compacts the table's small write fragments into larger files and drops superseded versions. */
  async compact(): Promise<void> {
    this.checkOpen();
    await this.serialized(async () => {
      // Versions younger than a few minutes stay, so a reader in another process that is still on
      // one of them is not pulled from under its feet.
      const cleanupOlderThan = new Date(Date.now() - 5 * 60_000);
      await this.images.optimize({ cleanupOlderThan });
      await this.meta.optimize({ cleanupOlderThan });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeQueue.catch(() => undefined);
    await this.snapshot?.catch(() => undefined);
    this.snapshot = undefined;
    this.images.close();
    this.meta.close();
    this.db.close();
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeQueue.then(fn, fn);
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private async readNextId(): Promise<number> {
    const rows = await this.meta.query().where(`key = 'next_id'`).toArray() as Record<string, unknown>[];
    const next = rows.length > 0 ? Number(rows[0].value) : NaN;
    if (!Number.isInteger(next) || next < 0) throw new ImageIndexError('invalid', `${this.dbPath}: damaged image index (next_id is ${JSON.stringify(rows[0]?.value)})`);
    return next;
  }

  private async writeMeta(entries: Record<string, string>): Promise<void> {
    await this.meta.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(metaArrowTable(entries));
  }

  private async searchLance(query: Float32Array, k: number): Promise<SearchHit[]> {
    // LanceDB's "dot" distance is 1 - dot product, so for unit vectors the score is 1 - distance.
    const rows = await this.images.vectorSearch(query).distanceType('dot').select(ROW_COLUMNS).limit(k).toArray() as Record<string, unknown>[];
    return rows.map((r) => ({ ...toIndexedImage(r), score: 1 - Number(r._distance) }));
  }

  /** The in-memory copy of the current table version, reloaded when the table has changed. */
  private async current(): Promise<Snapshot> {
    this.checkOpen();
    const version = await this.images.version();
    const cached = this.snapshot;
    if (cached !== undefined) {
      const snap = await cached.catch(() => undefined);
      if (snap !== undefined && snap.version === version) return snap;
      if (this.snapshot !== cached) return this.current(); // another caller started a reload
    }
    const loading = this.loadSnapshot(version);
    this.snapshot = loading;
    return loading;
  }

  private async loadSnapshot(version: number): Promise<Snapshot> {
    const dim = this.info.dim;
    const table = await this.images.query().select([...ROW_COLUMNS, 'vector']).toArrow();
    const n = table.numRows;
    const rows: IndexedImage[] = [];
    const vectorColumns: arrowTypes.Vector[] = [];
    for (const batch of table.batches) {
      const column = (name: string): arrowTypes.Vector => {
        const c = batch.getChild(name);
        if (c === null) throw new ImageIndexError('invalid', `${this.dbPath}: damaged image index (no column ${name})`);
        return c;
      };
      // Whole columns at once: much faster than Arrow's per-cell accessors.
      const id = column('id').toArray() as ArrayLike<number>;
      const p = column('path').toArray() as ArrayLike<string>;
      const size = column('size').toArray() as ArrayLike<number>;
      const mtime = column('mtime_ms').toArray() as ArrayLike<number>;
      const sha = column('sha256').toArray() as ArrayLike<string>;
      for (let i = 0; i < batch.numRows; i++) rows.push({ id: id[i], path: p[i], size: size[i], mtimeMs: mtime[i], sha256: sha[i] });
      vectorColumns.push(column('vector'));
    }
    // Rows by id, so results and vectors() do not depend on the table's physical order; each
    // vector is copied once, straight to its row (fresh memory is costly to touch twice).
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => rows[a].id - rows[b].id);
    const slot = new Int32Array(n);
    order.forEach((from, to) => { slot[from] = to; });
    const flat = new Float32Array(n * dim);
    let r = 0;
    for (const column of vectorColumns) {
      forEachVector(column, dim, (v) => {
        flat.set(v, slot[r++] * dim);
      });
    }
    const sortedRows = order.map((i) => rows[i]);
    const ids = Int32Array.from(sortedRows, (row) => row.id);
    // The table may have moved on while it was read; the copy is then labelled stale and reloaded next time.
    const after = await this.images.version();
    return { version: after === version ? version : -1, rows: sortedRows, matrix: new VectorMatrix(ids, flat, dim) };
  }
}

/** Calls `fn` with each row's vector of a FixedSizeList<Float32> column, in order (views, not copies, where possible). */
function forEachVector(column: arrowTypes.Vector, dim: number, fn: (vector: Float32Array) => void): void {
  for (const data of column.data) {
    const child = data.children[0];
    const values = child?.values as Float32Array | undefined;
    // Unsliced data (what LanceDB returns) holds its values from the buffer's start; anything
    // else goes through Arrow's accessors rather than guessing how a slice was taken.
    if (values instanceof Float32Array && data.offset === 0 && child.offset === 0 && data.nullCount === 0
      && child.nullCount === 0 && values.length >= data.length * dim) {
      for (let i = 0; i < data.length; i++) fn(values.subarray(i * dim, (i + 1) * dim));
    } else {
      const part = new arrow.Vector([data]);
      for (let i = 0; i < data.length; i++) {
        const v = part.get(i) as arrowTypes.Vector<arrowTypes.Float32> | null;
        if (v === null) throw new Error('image index: a row has no vector');
        fn(v.toArray());
      }
    }
  }
}
