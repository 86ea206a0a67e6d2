// Downloads against a local HTTP server on 127.0.0.1 (no other network): a good download, a bad
// hash, a transfer cut off and resumed with Range, a server that ignores Range, 404, redirects,
// offline mode with and without a cached file, the registry, and the `clip-ts download` command.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCliCaptured, type CliResult } from '../helpers/capture-output.js';
import {
  cachedModelPath, downloadFile, downloadModel, findModel, listModels, registerModel, registryPath,
  resolveCacheDir, resolveModelPath, type ProgressSink,
} from '../../src/weights/index.js';
import { tempDir } from './helpers.js';

// 300 kB of deterministic bytes.
const payload = new Uint8Array(300_000);
for (let i = 0, s = 1; i < payload.length; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  payload[i] = s >>> 24;
}
const payloadSha = createHash('sha256').update(payload).digest('hex');

interface Hit {
  path: string;
  range: string | undefined;
}
const hits: Hit[] = [];
let truncateNext = 0;
let base = '';
let server: http.Server;

function sendRange(req: http.IncomingMessage, res: http.ServerResponse, ignoreRange = false): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m !== null && !ignoreRange) {
    const start = Number(m[1]);
    if (start >= payload.length) {
      res.writeHead(416, { 'content-range': `bytes */${payload.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { 'content-length': payload.length - start, 'content-range': `bytes ${start}-${payload.length - 1}/${payload.length}` });
    res.end(payload.subarray(start));
    return;
  }
  res.writeHead(200, { 'content-length': payload.length });
  if (truncateNext > 0) {
    truncateNext--;
    // Announce the full length, send 40 %, then drop the connection.
    res.write(payload.subarray(0, 120_000), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(payload);
}

before(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push({ path: url, range: req.headers.range });
    if (url === '/model.bin') return sendRange(req, res);
    if (url === '/ignores-range.bin') return sendRange(req, res, true);
    if (url === '/redirect') {
      res.writeHead(302, { location: '/model.bin' });
      return res.end();
    }
    if (url === '/loop') {
      res.writeHead(307, { location: '/loop' });
      return res.end();
    }
    res.writeHead(404);
    res.end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

class Sink implements ProgressSink {
  text = '';
  readonly isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

function hitsFor(p: string): Hit[] {
  return hits.filter((h) => h.path === p);
}

describe('downloadFile', () => {
  it('downloads, verifies and renames into place, with plain progress lines', async () => {
    const dir = tempDir();
    const dest = path.join(dir, 'sub', 'model.bin');
    const sink = new Sink();
    const got = await downloadFile(`${base}/model.bin`, dest, payloadSha, { progress: sink });
    assert.equal(got, dest);
    assert.deepEqual(readFileSync(dest), Buffer.from(payload));
    assert.deepEqual(readdirSync(path.dirname(dest)), ['model.bin']);
    assert.match(sink.text, /model\.bin {2}0\.3\/0\.3 MB {2}100\.0% {2}[\d.]+ MB\/s {2}ETA/);
    assert.match(sink.text, /SHA-256 verified/);
    assert.ok(!sink.text.includes('\r'), 'no carriage returns when stderr is not a terminal');
  });

  it('rejects a wrong SHA-256 with both hashes and deletes the partial file', async () => {
    const dest = path.join(tempDir(), 'bad.bin');
    const wrong = '0'.repeat(64);
    await assert.rejects(downloadFile(`${base}/model.bin`, dest, wrong, { progress: false }), (err: Error) => {
      assert.match(err.message, new RegExp(`SHA-256 mismatch: expected ${wrong}, got ${payloadSha}`));
      return true;
    });
    assert.equal(existsSync(dest), false);
    assert.equal(existsSync(dest + '.part'), false);
  });

  it('keeps a truncated transfer and resumes it with a Range request', async () => {
    const dest = path.join(tempDir(), 'resume.bin');
    truncateNext = 1;
    const before = hitsFor('/model.bin').length;
    await assert.rejects(downloadFile(`${base}/model.bin`, dest, payloadSha, { progress: false, retries: 0 }),
      /download failed after 1 attempt\(s\): .*120000 bytes.*kept in .*resume\.bin\.part, run again to resume/);
    assert.equal(statSync(dest + '.part').size, 120_000);
    assert.equal(existsSync(dest), false);
    await downloadFile(`${base}/model.bin`, dest, payloadSha, { progress: false, retries: 0 });
    assert.deepEqual(readFileSync(dest), Buffer.from(payload));
    const mine = hitsFor('/model.bin').slice(before);
    assert.deepEqual(mine.map((h) => h.range), [undefined, 'bytes=120000-']);
  });

  it('retries a broken transfer by itself, resuming each time', async () => {
    const dest = path.join(tempDir(), 'retry.bin');
    truncateNext = 1;
    const sink = new Sink();
    await downloadFile(`${base}/model.bin`, dest, payloadSha, { progress: sink, retries: 2 });
    assert.deepEqual(readFileSync(dest), Buffer.from(payload));
    assert.match(sink.text, /retrying \(resuming at byte 120000\)/);
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    const dest = path.join(tempDir(), 'ignored.bin');
    writeFileSync(dest + '.part', new Uint8Array(5000).fill(7)); // garbage that must not survive
    await downloadFile(`${base}/ignores-range.bin`, dest, payloadSha, { progress: false });
    assert.deepEqual(readFileSync(dest), Buffer.from(payload));
    assert.equal(hitsFor('/ignores-range.bin').at(-1)?.range, 'bytes=5000-');
  });

  it('finishes a part that is already complete (416 on resume)', async () => {
    const dest = path.join(tempDir(), 'complete.bin');
    writeFileSync(dest + '.part', payload);
    await downloadFile(`${base}/model.bin`, dest, payloadSha, { progress: false });
    assert.deepEqual(readFileSync(dest), Buffer.from(payload));
  });

  it('fails on 404 at once, naming the URL', async () => {
    const before = hitsFor('/missing.bin').length;
    await assert.rejects(downloadFile(`${base}/missing.bin`, path.join(tempDir(), 'm.bin'), payloadSha, { progress: false }),
      (err: Error) => err.message === `${base}/missing.bin: HTTP 404 Not Found`);
    assert.equal(hitsFor('/missing.bin').length, before + 1);
  });

  it('follows redirects, up to a limit', async () => {
    const dest = path.join(tempDir(), 'redir.bin');
    await downloadFile(`${base}/redirect`, dest, payloadSha, { progress: false });
    assert.deepEqual(readFileSync(dest), Buffer.from(payload));
    await assert.rejects(downloadFile(`${base}/loop`, path.join(tempDir(), 'loop.bin'), payloadSha, { progress: false, maxRedirects: 3 }),
      /too many redirects \(more than 3\)/);
  });

  it('refuses to race another live download of the same file, and takes over a stale lock', async () => {
    const dest = path.join(tempDir(), 'locked.bin');
    writeFileSync(dest + '.lock', String(process.ppid)); // a live process
    await assert.rejects(downloadFile(`${base}/model.bin`, dest, payloadSha, { progress: false }),
      new RegExp(`another clip-ts process \\(pid ${process.ppid}\\) is downloading to this file`));
    writeFileSync(dest + '.lock', '2147480000'); // above any pid_max: no such process
    await downloadFile(`${base}/model.bin`, dest, payloadSha, { progress: false });
    assert.deepEqual(readdirSync(path.dirname(dest)), ['locked.bin']);
  });

  it('refuses to touch the network when offline', async () => {
    const before = hits.length;
    await assert.rejects(downloadFile(`${base}/model.bin`, path.join(tempDir(), 'o.bin'), payloadSha, { offline: true }), /offline/);
    assert.equal(hits.length, before);
  });
});

describe('registry and model resolution', () => {
  it('lists OpenAI\'s nine models with their published SHA-256', () => {
    const names = listModels(tempDir()).filter((m) => m.builtin).map((m) => m.name);
    assert.deepEqual(names, ['RN50', 'RN101', 'RN50x4', 'RN50x16', 'RN50x64', 'ViT-B/32', 'ViT-B/16', 'ViT-L/14', 'ViT-L/14@336px']);
    const b32 = findModel('ViT-B/32');
    assert.equal(b32?.sha256, '40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af');
    assert.equal(b32?.url, `https://openaipublic.azureedge.net/clip/models/${b32?.sha256}/ViT-B-32.pt`);
    assert.equal(b32?.fileName, 'ViT-B-32.pt');
    for (const m of listModels(tempDir()).filter((x) => x.builtin)) assert.equal(m.url.split('/').at(-2), m.sha256);
  });

  it('registers models persistently (atomic JSON), replaces them, and refuses bad entries', () => {
    const cache = tempDir();
    const m = registerModel({ name: 'laion/ViT-B-32', url: `${base}/model.bin`, sha256: payloadSha.toUpperCase(), format: 'torch-save' }, cache);
    assert.equal(m.sha256, payloadSha);
    assert.match(m.fileName, /^laion-ViT-B-32-[0-9a-f]{8}\.bin$/);
    const doc = JSON.parse(readFileSync(registryPath(cache), 'utf8')) as { format: string; models: unknown[] };
    assert.equal(doc.format, 'clip-ts-registry/1');
    assert.equal(doc.models.length, 1);
    registerModel({ name: 'laion/ViT-B-32', url: `${base}/redirect`, sha256: payloadSha, format: 'torch-save' }, cache);
    assert.equal(findModel('laion/ViT-B-32', cache)?.url, `${base}/redirect`);
    assert.equal(listModels(cache).length, 10);
    assert.deepEqual(readdirSync(cache), ['registry.json']);
    assert.throws(() => registerModel({ name: 'RN50', url: `${base}/x`, sha256: payloadSha, format: 'torchscript' }, cache), /built-in/);
    assert.throws(() => registerModel({ name: 'x', url: `${base}/x`, sha256: 'abc', format: 'torchscript' }, cache), /sha256 must be 64 hex digits/);
    assert.throws(() => registerModel({ name: 'x', url: 'ftp://host/x', sha256: payloadSha, format: 'torchscript' }, cache), /URL must be http\(s\)/);
    writeFileSync(registryPath(cache), '{"models": 3}');
    assert.throws(() => listModels(cache), /registry\.json: model registry must be/);
  });

  it('resolves the cache folder from the argument, then $CLIP_TS_CACHE, then ~/.cache/clip-ts', () => {
    const saved = process.env.CLIP_TS_CACHE;
    try {
      process.env.CLIP_TS_CACHE = '/tmp/from-env';
      assert.equal(resolveCacheDir(), '/tmp/from-env');
      assert.equal(resolveCacheDir('/tmp/explicit'), '/tmp/explicit');
      delete process.env.CLIP_TS_CACHE;
      assert.match(resolveCacheDir(), /\.cache\/clip-ts$/);
    } finally {
      if (saved === undefined) delete process.env.CLIP_TS_CACHE;
      else process.env.CLIP_TS_CACHE = saved;
    }
  });

  it('resolveModelPath: a file as is; a name from the cache, downloading once; offline without cache fails', async () => {
    const cache = tempDir();
    const local = path.join(cache, 'local.pt');
    writeFileSync(local, 'x');
    assert.equal(await resolveModelPath(local, { cacheDir: cache }), local);
    await assert.rejects(resolveModelPath('no-such-model', { cacheDir: cache }), /no-such-model: no such file, and not a known model name/);

    registerModel({ name: 'mine', url: `${base}/model.bin`, sha256: payloadSha, format: 'safetensors' }, cache);
    await assert.rejects(resolveModelPath('mine', { cacheDir: cache, offline: true }),
      /model mine is not in the cache folder .* offline mode forbids downloading it/);
    const model = findModel('mine', cache);
    assert.ok(model !== undefined);
    const first = await resolveModelPath('mine', { cacheDir: cache, progress: false });
    assert.equal(first, cachedModelPath(model, cache));
    const count = hits.length;
    assert.equal(await resolveModelPath('mine', { cacheDir: cache, offline: true }), first);
    assert.equal(await downloadModel('mine', { cacheDir: cache }), first);
    assert.equal(hits.length, count, 'a cached model needs no request');
  });
});

function cli(...argv: string[]): Promise<CliResult> {
  return runCliCaptured(argv);
}

describe('clip-ts download', () => {
  it('registers a URL, downloads it and prints the path; then works offline', async () => {
    const cache = tempDir();
    const r = await cli('download', 'my-model', '--url', `${base}/model.bin`, '--sha256', payloadSha, '--cache-dir', cache, '--quiet');
    assert.equal(r.code, 0, r.stderr);
    const file = r.stdout.trim();
    assert.equal(path.dirname(file), cache);
    assert.deepEqual(readFileSync(file), Buffer.from(payload));
    const again = await cli('download', 'my-model', '--cache-dir', cache, '--offline');
    assert.equal(again.code, 0);
    assert.equal(again.stdout.trim(), file);
    const list = await cli('download', '--list', '--cache-dir', cache);
    assert.match(list.stdout, /my-model +cached +torch-save/);
    assert.match(list.stdout, /ViT-L\/14@336px/);
  });

  it('fails clearly offline without a cached file, and on bad usage', async () => {
    const cache = tempDir();
    const r = await cli('download', 'ViT-B/32', '--cache-dir', cache, '--offline');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /model ViT-B\/32 is not in the cache folder .* offline mode forbids downloading it/);
    const u = await cli('download', 'x', '--url', `${base}/model.bin`);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /--url and --sha256 go together/);
    const unknown = await cli('download', 'nope', '--cache-dir', cache);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /nope: unknown model name; known: RN50, RN101/);
  });
});
