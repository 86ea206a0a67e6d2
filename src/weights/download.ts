// Downloads into the cache with node:http / node:https only.
//
// The body goes to `<file>.part`; an interrupted transfer leaves that file, and the next attempt
// asks for the rest with a `Range` header (a server that ignores it and answers 200 makes us start
// over). The SHA-256 covers the whole file, including the part on disk from before; a mismatch
// deletes the part and reports both hashes. Only a verified file is renamed into place, so a file
// under its final name in the cache is always complete and correct.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { CheckpointError } from './errors.js';
import { ProgressReporter, type ProgressSink } from './progress.js';
import { cachedModelPath, findModel, listModels, resolveCacheDir, type ModelSource } from './registry.js';

export interface DownloadOptions {
  /** Cache folder (default: $CLIP_TS_CACHE or ~/.cache/clip-ts). */
  cacheDir?: string;
  /** Never touch the network; a model that is not cached is an error. Also $CLIP_TS_OFFLINE=1. */
  offline?: boolean;
  /** Where progress goes: default process.stderr; false for none. */
  progress?: ProgressSink | false;
  /** Extra attempts after a transfer breaks off (each resumes where the last stopped). Default 3. */
  retries?: number;
  /** Abort an attempt when no data arrives for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /** Redirects followed per attempt. Default 5. */
  maxRedirects?: number;
}

/** An error worth another attempt (the connection broke, the server had a 5xx). */
class TransientError extends Error {}

interface OpenResponse {
  res: http.IncomingMessage;
  url: string;
}

function get(url: string, headers: Record<string, string>, opts: Required<Pick<DownloadOptions, 'idleTimeoutMs' | 'maxRedirects'>>): Promise<OpenResponse> {
  return new Promise((resolve, reject) => {
    const follow = (current: string, left: number): void => {
      let u: URL;
      try {
        u = new URL(current);
      } catch {
        reject(new CheckpointError(url, `invalid URL ${current}`));
        return;
      }
      const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
      if (lib === undefined) {
        reject(new CheckpointError(url, `unsupported protocol ${u.protocol} in ${current}`));
        return;
      }
      const req = lib.get(u, { headers: { 'user-agent': 'clip-ts', 'accept-encoding': 'identity', ...headers } }, (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if ([301, 302, 303, 307, 308].includes(status) && location !== undefined) {
          res.resume();
          if (left <= 0) {
            reject(new CheckpointError(url, `too many redirects (more than ${opts.maxRedirects})`));
            return;
          }
          const next = new URL(location, u);
          if (u.protocol === 'https:' && next.protocol !== 'https:') {
            reject(new CheckpointError(url, `refusing a redirect from https to ${next.protocol} (${next.href})`));
            return;
          }
          follow(next.href, left - 1);
          return;
        }
        resolve({ res, url: current });
      });
      req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new TransientError(`no data for ${opts.idleTimeoutMs / 1000} s`)));
      req.on('error', (err) => reject(err instanceof TransientError ? err : new TransientError(err.message)));
    };
    follow(url, opts.maxRedirects);
  });
}

/** SHA-256 of the first bytes of a file already on disk (the part of a resumed download). */
async function hashExisting(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) {
    const b = chunk as Buffer;
    hash.update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* absent */
  }
}

/** Total size from `Content-Range: bytes a-b/total` (undefined when '*'). */
function parseContentRange(value: string | undefined): { start: number; total: number | undefined } | undefined {
  const m = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (m === null) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/**
 * Downloads `url` to `dest`, verifying its SHA-256; resumes from `dest + '.part'` when present.
 * Resolves to `dest`.
 */
export async function downloadFile(url: string, dest: string, sha256: string, opts: DownloadOptions = {}): Promise<string> {
  const expected = sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) throw new CheckpointError(url, `expected SHA-256 must be 64 hex digits, got ${JSON.stringify(sha256)}`);
  if (opts.offline === true || process.env.CLIP_TS_OFFLINE === '1') {
    throw new CheckpointError(url, `offline: not downloading to ${dest}`);
  }
  mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const sink = opts.progress === false ? undefined : opts.progress ?? process.stderr;
  const retries = opts.retries ?? 3;
  const netOpts = { idleTimeoutMs: opts.idleTimeoutMs ?? 60_000, maxRedirects: opts.maxRedirects ?? 5 };
  const label = path.basename(dest);

  const releaseLock = takeLock(`${dest}.lock`, url);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await attemptDownload(url, part, expected, netOpts, sink, label);
        renameSync(part, dest);
        return dest;
      } catch (err) {
        if (!(err instanceof TransientError) || attempt >= retries) {
          if (err instanceof TransientError) {
            throw new CheckpointError(url, `download failed after ${attempt + 1} attempt(s): ${err.message}; ` +
              `${sizeOf(part)} bytes kept in ${part}, run again to resume`);
          }
          throw err;
        }
        sink?.write(`${label}: ${err.message}; retrying (resuming at byte ${sizeOf(part)})\n`);
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)));
      }
    }
  } finally {
    releaseLock();
  }
}

/**
 * One download per destination at a time: two processes appending to the same `.part` would
 * corrupt it. The lock file holds the owner's pid; a lock whose process is gone is taken over.
 */
function takeLock(lockPath: string, url: string): () => void {
  for (let tries = 0; tries < 2; tries++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => removeQuietly(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(lockPath, 'utf8').trim());
      } catch {
        /* vanished meanwhile: retry */
      }
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
        throw new CheckpointError(url, `another clip-ts process (pid ${owner}) is downloading to this file; wait for it, or delete ${lockPath} if it is stale`);
      }
      removeQuietly(lockPath);
    }
  }
  throw new CheckpointError(url, `cannot take the download lock ${lockPath}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function attemptDownload(
  url: string, part: string, expected: string,
  netOpts: { idleTimeoutMs: number; maxRedirects: number },
  sink: ProgressSink | undefined, label: string,
): Promise<void> {
  let have = sizeOf(part);
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  const { res } = await get(url, headers, netOpts);
  const status = res.statusCode ?? 0;
  let total: number | undefined;

  if (status === 416 && have > 0) {
    // Nothing left to send: the part may already be the whole file.
    res.resume();
    const hash = createHash('sha256');
    await hashExisting(part, hash);
    const got = hash.digest('hex');
    if (got === expected) return;
    removeQuietly(part);
    throw new TransientError(`server refused to resume (416) and the partial file does not match; starting over`);
  }
  if (status === 206) {
    const range = parseContentRange(res.headers['content-range']);
    if (range === undefined || range.start !== have) {
      res.resume();
      removeQuietly(part);
      throw new TransientError(`server resumed at the wrong offset (${res.headers['content-range'] ?? 'no Content-Range'}); starting over`);
    }
    total = range.total;
  } else if (status === 200) {
    // A server that ignores Range sends everything again: discard what we had.
    if (have > 0) {
      removeQuietly(part);
      have = 0;
    }
    const len = res.headers['content-length'];
    total = len !== undefined ? Number(len) : undefined;
  } else {
    res.resume();
    const msg = `HTTP ${status} ${res.statusMessage ?? ''}`.trim();
    if (status >= 500 || status === 429) throw new TransientError(msg);
    throw new CheckpointError(url, msg);
  }

  const hash = createHash('sha256');
  if (have > 0) await hashExisting(part, hash);
  const progress = sink === undefined ? undefined : new ProgressReporter(sink, label, total, have);
  const fd = openSync(part, have > 0 ? 'a' : 'w');
  let received = have;
  try {
    await new Promise<void>((resolve, reject) => {
      res.on('data', (buf: Buffer) => {
        const chunk = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
        try {
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
        } catch (err) {
          res.destroy();
          reject(err);
          return;
        }
        hash.update(chunk);
        received += chunk.length;
        progress?.update(received);
      });
      res.on('end', () => resolve());
      // Whatever else happens to the connection, a body that did not complete is a broken transfer.
      res.on('close', () => (res.complete ? resolve() : reject(new TransientError(`connection closed after ${received} bytes`))));
      res.on('aborted', () => reject(new TransientError(`connection closed after ${received} bytes`)));
      res.on('error', (err) => reject(new TransientError(`transfer broke off after ${received} bytes: ${err.message}`)));
    });
  } finally {
    closeSync(fd);
  }
  if (total !== undefined && received < total) {
    throw new TransientError(`transfer truncated at ${received} of ${total} bytes`);
  }
  const got = hash.digest('hex');
  if (got !== expected) {
    removeQuietly(part);
    throw new CheckpointError(url, `SHA-256 mismatch: expected ${expected}, got ${got} (${received} bytes); the download was deleted`);
  }
  progress?.finish(`${label}: ${received} bytes, SHA-256 verified`);
}

/** Downloads a known model into the cache unless it is there already; resolves to its path. */
export async function downloadModel(name: string, opts: DownloadOptions = {}): Promise<string> {
  const model = requireModel(name, opts.cacheDir);
  const dest = cachedModelPath(model, opts.cacheDir);
  if (existsSync(dest)) return dest;
  if (opts.offline === true || process.env.CLIP_TS_OFFLINE === '1') {
    throw new CheckpointError(dest, `model ${name} is not in the cache folder ${resolveCacheDir(opts.cacheDir)} and offline mode forbids downloading it ` +
      `(run \`clip-ts download ${name}\` while online)`);
  }
  return downloadFile(model.url, dest, model.sha256, opts);
}

function requireModel(name: string, cacheDir?: string): ModelSource {
  const model = findModel(name, cacheDir);
  if (model === undefined) {
    throw new CheckpointError(name, `unknown model name; known: ${listModels(cacheDir).map((m) => m.name).join(', ')} (or register one with --url and --sha256)`);
  }
  return model;
}

/**
 * A local checkpoint path for `nameOrPath`: an existing file is used as is; a model name resolves
 * to its file in the cache, downloaded first unless `offline`.
 */
export async function resolveModelPath(nameOrPath: string, opts: DownloadOptions = {}): Promise<string> {
  if (existsSync(nameOrPath) && statSync(nameOrPath).isFile()) return path.resolve(nameOrPath);
  if (findModel(nameOrPath, opts.cacheDir) === undefined) {
    throw new CheckpointError(nameOrPath, `no such file, and not a known model name (known: ${listModels(opts.cacheDir).map((m) => m.name).join(', ')})`);
  }
  return downloadModel(nameOrPath, opts);
}

// Exported for tests of the HTTP details.
export { parseContentRange };
