// The server over a real index: emoji PNGs indexed with a small random model, served by
// IndexedClipService (model in a worker thread, LanceDB index). Results must be what the library
// computes in-process: same text embeddings, same zero-shot probabilities, the uploaded image first.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { buildZeroShotClassifier } from '../../src/eval/zeroshot.js';
import { preprocessFile } from '../../src/image/index.js';
import { loadModelFile } from '../../src/model/load.js';
import type { ClipModel } from '../../src/model/clip.js';
import { IndexedClipService } from '../../src/server/clip-service.js';
import { ClipServer } from '../../src/server/server.js';
import { l2Normalize, noGrad } from '../../src/tensor/index.js';
import { tokenize } from '../../src/text/index.js';
import { packageRoot } from '../../src/paths.js';
import { errorOf, multipartBody, postJson, request } from './http-client.js';
import { buildRealIndex, TEST_MODEL_CONFIG } from './real-index.js';

interface Result { id: number; score: number; name: string; url: string; thumb: string }

function bytes(file: string): Uint8Array {
  const b = readFileSync(file);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

describe('server: integration with a real index and model', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'clip-ts-serve-'));
  let db = '';
  let files: string[] = [];
  /** Preprocessed pixels of every file, as the library makes them in-process. */
  const pixels = new Map<string, Float32Array>();
  const pixelsOf = (file: string): Float32Array => (pixels.get(file) as Float32Array).slice();
  let model: ClipModel;
  let service: IndexedClipService;
  let server: ClipServer;
  let port: number;

  before(async () => {
    const built = await buildRealIndex(root);
    files = built.files;
    db = built.db;
    model = loadModelFile(built.modelFile);
    for (const f of files) pixels.set(f, await preprocessFile(f, TEST_MODEL_CONFIG.vision.imageSize));
    service = await IndexedClipService.open({ dbPath: db, maxImagePixels: 1_000_000, threads: 1 });
    server = new ClipServer(service, {});
    port = (await server.listen(0)).port;
  });

  after(async () => {
    await server?.close();
    await service?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('reports the model and the index in /api/info', async () => {
    const info = (await request(port, '/api/info')).json as { model: string; count: number; dim: number; imageSize: number; templates: string };
    assert.deepEqual(info && { model: info.model, count: info.count, dim: info.dim, imageSize: info.imageSize, templates: info.templates },
      { model: 'model.safetensors', count: files.length, dim: 32, imageSize: 32, templates: 'imagenet' });
  });

  it('searches by text: every image ranked by cosine with the in-process text embedding', async () => {
    const r = await postJson(port, '/api/search', { query: 'a red apple', top: 4 });
    assert.equal(r.status, 200);
    const results = (r.json as { results: Result[] }).results;
    assert.equal(results.length, 4);
    for (let i = 1; i < results.length; i++) assert.ok(results[i - 1].score >= results[i].score);
    // The same ranking from vectors computed here.
    const q = noGrad(() => l2Normalize(model.encodeText(tokenize(['a red apple'], { contextLength: 77 }).ids))).data;
    const scores = files.map((f) => {
      const v = noGrad(() => l2Normalize(model.encodeImage(model.imageTensor(pixelsOf(f), 1)))).data;
      let dot = 0;
      for (let i = 0; i < 32; i++) dot += v[i] * q[i];
      return { name: path.basename(f), dot };
    });
    scores.sort((a, b) => b.dot - a.dot);
    assert.equal(results[0].name, scores[0].name);
    assert.ok(Math.abs(results[0].score - scores[0].dot) < 1e-4, `${results[0].score} vs ${scores[0].dot}`);
    assert.equal(results[0].url, `/api/images/${results[0].id}`);
  });

  it('searches by an uploaded image (raw body and multipart): that image comes back first', async () => {
    const file = files[2];
    const raw = await request(port, '/api/search/image?top=3', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: bytes(file) });
    assert.equal(raw.status, 200);
    const first = (raw.json as { results: Result[] }).results[0];
    assert.equal(first.name, path.basename(file));
    assert.ok(first.score > 0.9999, `score ${first.score}`);
    const form = multipartBody({ top: '2' }, [{ field: 'image', filename: 'query.png', type: 'image/png', data: bytes(file) }]);
    const viaForm = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': form.contentType }, body: form.body });
    const results = (viaForm.json as { results: Result[] }).results;
    assert.equal(results.length, 2);
    assert.equal(results[0].id, first.id);
    // Served bytes are the indexed file's.
    const original = await request(port, first.url);
    assert.equal(original.headers['content-type'], 'image/png');
    assert.deepEqual(new Uint8Array(original.body), bytes(file));
  });

  it('classifies an upload against the given labels like buildZeroShotClassifier does', async () => {
    const labels = ['grinning face', 'red apple', 'rocket'];
    const form = multipartBody({ labels: labels.join(', ') }, [{ field: 'image', filename: 'a.png', type: 'image/png', data: bytes(files[0]) }]);
    const r = await request(port, '/api/classify', { method: 'POST', headers: { 'Content-Type': form.contentType }, body: form.body });
    assert.equal(r.status, 200);
    const got = (r.json as { templates: string; labels: { label: string; probability: number }[] });
    assert.equal(got.templates, 'imagenet');
    assert.deepEqual(got.labels.map((l) => l.label).sort(), [...labels].sort());
    const sum = got.labels.reduce((s, l) => s + l.probability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
    for (let i = 1; i < got.labels.length; i++) assert.ok(got.labels[i - 1].probability >= got.labels[i].probability);
    const classifier = buildZeroShotClassifier(model, labels);
    const [expected] = classifier.classify(model.embedImages(model.imageTensor(pixelsOf(files[0]), 1)), labels.length);
    for (const e of expected) {
      const p = got.labels.find((l) => l.label === e.label)?.probability ?? NaN;
      assert.ok(Math.abs(p - e.probability) < 1e-5, `${e.label}: ${p} vs ${e.probability}`);
    }
    // JSON with base64 and another template set.
    const json = await postJson(port, '/api/classify', { image: Buffer.from(bytes(files[1])).toString('base64'), labels, templates: 'simple' });
    assert.equal(json.status, 200);
    assert.equal((json.json as { templates: string }).templates, 'simple');
  });

  it('refuses an upload that only looks like an image', async () => {
    const broken = bytes(files[0]).slice(0, 60);
    const r = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: broken });
    assert.equal(r.status, 400);
    assert.equal(errorOf(r).code, 'invalid_image');
    assert.match(errorOf(r).message, /^upload: /);
    const huge = await sharp({ create: { width: 1100, height: 1000, channels: 3, background: '#000' } }).png().toBuffer();
    const tooMany = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: new Uint8Array(huge.buffer, huge.byteOffset, huge.byteLength) });
    assert.equal(tooMany.status, 413);
    assert.match(errorOf(tooMany).message, /exceeds the limit of 1000000/);
  });

  it('embeds texts and an image as unit vectors equal to the in-process ones', async () => {
    const r = await postJson(port, '/api/embed', { texts: ['a dog', 'a cat'], image: Buffer.from(bytes(files[3])).toString('base64') });
    assert.equal(r.status, 200);
    const e = r.json as { dim: number; texts: number[][]; image: number[] };
    assert.equal(e.dim, 32);
    const expected = noGrad(() => l2Normalize(model.encodeText(tokenize(['a dog', 'a cat'], { contextLength: 77 }).ids))).data;
    e.texts.flat().forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-5));
    assert.ok(Math.abs(Math.hypot(...e.image) - 1) < 1e-5);
  });

  it('serves thumbnails as WebP images no larger than the limit', async () => {
    const r = await request(port, '/api/thumbs/0');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/webp');
    const meta = await sharp(r.body).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok((meta.width ?? 0) <= 256 && (meta.width ?? 0) > 0);
    assert.equal((await request(port, '/api/thumbs/12345')).status, 404);
  });

  it('runs as `clip-ts serve --port 0`, prints its URL, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(packageRoot(), 'bin', 'clip-ts.js'), 'serve', '--db', db, '--port', '0', '--threads', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m !== null) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited with ${code} before listening: ${stderr}`)));
    });
    assert.match(stdout, new RegExp(`${files.length} images, model model\\.safetensors \\(32-d\\)`));
    const childPort = Number(new URL(url).port);
    assert.ok(childPort > 0);
    assert.equal((await request(childPort, '/api/health')).status, 200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /GET \/api\/health 200/);
    assert.match(stderr, /SIGTERM, shutting down/);
  });
});
