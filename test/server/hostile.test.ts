// The HTTP layer against hostile and broken requests, with a fake service: no request may reach a
// file outside the index, crash the server or get anything but a JSON error with the right status.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { ClipServer } from '../../src/server/server.js';
import { BrokenService, FakeService } from './fake-service.js';
import { concatBytes, errorOf, multipartBody, postJson, raw, request, type HttpResult } from './http-client.js';

const UPLOAD_LIMIT = 64 * 1024;

async function tinyPng(): Promise<Uint8Array> {
  const b = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f00' } }).png().toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function assertNoLeak(r: HttpResult, what: string): void {
  const text = r.body.toString('latin1');
  assert.ok(!/root:.*:0:0:/.test(text), `${what}: /etc/passwd content in the answer`);
  assert.ok(!text.includes('"devDependencies"'), `${what}: package.json content in the answer`);
}

describe('server: hostile requests (fake service)', () => {
  let fake: FakeService;
  let server: ClipServer;
  let port: number;
  let png: Uint8Array;
  const logLines: string[] = [];

  before(async () => {
    fake = await FakeService.create(3);
    png = await tinyPng();
    server = new ClipServer(fake, {
      maxUploadBytes: UPLOAD_LIMIT, bodyTimeoutMs: 400, maxConcurrentJobs: 2, maxQueuedJobs: 8, inferenceTimeoutMs: 5_000,
      log: (line) => logLines.push(line), onError: () => {},
    });
    port = (await server.listen(0)).port;
  });

  after(async () => {
    await server.close();
    await fake.close();
  });

  it('serves the page, its assets, health and info with the right types and a restrictive CSP', async () => {
    const page = await request(port, '/');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html; charset=utf-8/);
    const csp = page.headers['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.match(page.body.toString(), /data-testid="search-input"/);
    assert.match((await request(port, '/app.js')).headers['content-type'], /^text\/javascript/);
    assert.match((await request(port, '/style.css')).headers['content-type'], /^text\/css/);
    const health = await request(port, '/api/health');
    assert.equal(health.status, 200);
    assert.equal((health.json as { status: string }).status, 'ok');
    const info = (await request(port, '/api/info')).json as { model: string; count: number; dim: number };
    assert.deepEqual([info.model, info.count, info.dim], ['fake-model', 3, 4]);
    const head = await request(port, '/api/health', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
  });

  it('serves indexed images by id only, with a sniffed Content-Type, and WebP thumbnails', async () => {
    const r = await request(port, '/api/images/1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    assert.deepEqual(new Uint8Array(r.body), new Uint8Array(readFileSync(fake.images[1].path)));
    const again = await request(port, '/api/images/1', { headers: { 'If-None-Match': r.headers.etag } });
    assert.equal(again.status, 304);
    const t = await request(port, '/api/thumbs/2');
    assert.equal(t.status, 200);
    assert.equal(t.headers['content-type'], 'image/webp');
    const meta = await sharp(t.body).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(meta.width, 42);
    assert.equal(errorOf(await request(port, '/api/images/99')).code, 'not_found');
    assert.equal((await request(port, '/api/thumbs/99')).status, 404);
  });

  it('never serves a file named by the request (path traversal, encoded dots, absolute paths, bad ids)', async () => {
    const attempts = [
      '/api/images/../../etc/passwd', '/api/images/..%2F..%2Fetc%2Fpasswd', '/api/images/%2e%2e/%2e%2e/etc/passwd',
      '/api/images/1%2F..', '/api/images/1%2F..%2F..%2Fpackage.json', '/api/images//etc/passwd', '/api/images/%2Fetc%2Fpasswd',
      '/api/images/-1', '/api/images/1.5', '/api/images/abc', '/api/images/1e3', '/api/images/0x1', '/api/images/',
      '/api/images/99999999999999999999', '/api/images/1/', '/api/images/1%00', '/api/thumbs/../../package.json',
      '/api/thumbs/%2e%2e%2fpackage.json', '/assets/../package.json', '/assets/web/app.js', '/%2e%2e/package.json',
      '/..%2fpackage.json', '/app.js/../../package.json', '/app.js%00.png', '/index.html/', '/package.json',
      '/etc/passwd', '//etc/passwd', '/static/../../../../etc/passwd', '/api/../package.json', '/./package.json',
      '/%252e%252e/package.json', '/api/images/..\\..\\etc\\passwd', 'http://evil.example/../../etc/passwd',
      '/api/images/1?path=/etc/passwd&../../',
    ];
    for (const target of attempts) {
      const r = await raw(port, `GET ${target} HTTP/1.1\r\nHost: localhost`);
      assertNoLeak(r, target);
      if (target === '/api/images/1?path=/etc/passwd&../../') {
        assert.equal(r.status, 200, target); // the query is ignored: image 1 itself
        assert.equal(r.headers['content-type'], 'image/png');
        continue;
      }
      assert.ok(r.status === 400 || r.status === 404, `${target}: status ${r.status}`);
      const e = errorOf(r);
      assert.ok(['not_found', 'invalid_id', 'bad_request'].includes(e.code), `${target}: ${e.code}`);
    }
  });

  it('refuses oversize uploads with 413, whether declared or streamed', async () => {
    const big = new Uint8Array(UPLOAD_LIMIT + 1);
    big.set(png);
    const declared = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: big });
    assert.equal(declared.status, 413);
    assert.equal(errorOf(declared).code, 'payload_too_large');
    assert.match(errorOf(declared).message, /64 KB/);
    // Chunked: no Content-Length, so the limit is found while reading.
    const chunked = await raw(port, 'POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked',
      concatBytes([new TextEncoder().encode(`${(UPLOAD_LIMIT * 2).toString(16)}\r\n`), new Uint8Array(UPLOAD_LIMIT * 2), new TextEncoder().encode('\r\n0\r\n\r\n')]));
    assert.equal(chunked.status, 413);
    const json = await request(port, '/api/search', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"query":"${'a'.repeat(UPLOAD_LIMIT)}"}` });
    assert.equal(json.status, 413);
  });

  it('refuses non-image uploads with a message that says what was wrong', async () => {
    const text = new TextEncoder().encode('hello, I am not an image');
    const wrongType = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: text });
    assert.equal(wrongType.status, 415);
    assert.match(errorOf(wrongType).message, /text\/plain is not accepted.*image/);
    const lying = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: text });
    assert.equal(lying.status, 400);
    assert.equal(errorOf(lying).code, 'invalid_image');
    assert.match(errorOf(lying).message, /not an image of a supported format \(JPEG, PNG/);
    const form = multipartBody({ labels: 'cat,dog' }, [{ field: 'image', filename: 'notes.txt', type: 'text/plain', data: text }]);
    const inForm = await request(port, '/api/classify', { method: 'POST', headers: { 'Content-Type': form.contentType }, body: form.body });
    assert.equal(inForm.status, 400);
    assert.match(errorOf(inForm).message, /"notes\.txt" is not an image/);
    const empty = multipartBody({}, [{ field: 'image', filename: 'empty.png', type: 'image/png', data: new Uint8Array(0) }]);
    const emptyR = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': empty.contentType }, body: empty.body });
    assert.match(errorOf(emptyR).message, /"empty\.png" is empty/);
    const noFile = multipartBody({ labels: 'a,b' }, []);
    const noFileR = await request(port, '/api/classify', { method: 'POST', headers: { 'Content-Type': noFile.contentType }, body: noFile.body });
    assert.equal(noFileR.status, 400);
    assert.match(errorOf(noFileR).message, /no file/);
    assert.equal(fake.calls.searchImage, 0, 'nothing reached the service');
    assert.equal(fake.calls.classify.length, 0);
  });

  it('answers malformed JSON and bad fields with 400 naming the problem', async () => {
    const cases: [string, string | undefined, RegExp, string][] = [
      ['{"query": "cat"', 'application/json', /not valid JSON/, 'invalid_json'],
      ['', 'application/json', /body is empty/, 'invalid_json'],
      ['[1,2]', 'application/json', /expected a JSON object, got an array/, 'invalid_field'],
      ['{"top": 3}', 'application/json', /missing field "query"/, 'invalid_field'],
      ['{"query": 42}', 'application/json', /"query" must be a string/, 'invalid_field'],
      ['{"query": "   "}', 'application/json', /"query" is empty/, 'invalid_field'],
      ['{"query": "cat", "top": 0}', 'application/json', /"top" must be an integer from 1 to 100/, 'invalid_field'],
      ['{"query": "cat", "top": 2.5}', 'application/json', /"top"/, 'invalid_field'],
      ['{"query": "cat", "top": "ten"}', undefined, /"top"/, 'invalid_field'],
      ['\u00ff\u00fe{', 'application/json', /not valid JSON/, 'invalid_json'],
    ];
    for (const [body, type, message, code] of cases) {
      const r = await request(port, '/api/search', { method: 'POST', headers: type === undefined ? {} : { 'Content-Type': type }, body });
      assert.equal(r.status, 400, body);
      assert.equal(errorOf(r).code, code, body);
      assert.match(errorOf(r).message, message, body);
    }
    const form = await request(port, '/api/search', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"query":"x"}' });
    assert.equal(form.status, 415);
    const ok = await postJson(port, '/api/search', { query: 'a red apple', top: 2 });
    assert.equal(ok.status, 200);
    const results = (ok.json as { results: { id: number; score: number; url: string; thumb: string }[] }).results;
    assert.deepEqual(results.map((r) => [r.id, r.url, r.thumb]), [[0, '/api/images/0', '/api/thumbs/0'], [1, '/api/images/1', '/api/thumbs/1']]);
  });

  it('validates classify and embed requests, JSON and multipart', async () => {
    const b64 = Buffer.from(png).toString('base64');
    const cases: [unknown, RegExp][] = [
      [{ labels: ['a'] }, /missing field "image"/],
      [{ image: b64 }, /missing field "labels"/],
      [{ image: b64, labels: 'cat,,dog' }, /item 2: empty label/],
      [{ image: b64, labels: ['cat', 'cat'] }, /duplicate label "cat"/],
      [{ image: b64, labels: [1, 2] }, /"labels" must be/],
      [{ image: 'not base64!!', labels: 'a,b' }, /not valid base64/],
      [{ image: b64, labels: 'a,b', templates: '/etc/passwd' }, /"templates" must be one of imagenet, simple, emoji/],
      [{ image: b64, labels: Array.from({ length: 101 }, (_, i) => `l${i}`) }, /at most 100/],
    ];
    for (const [body, message] of cases) {
      const r = await postJson(port, '/api/classify', body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      assert.match(errorOf(r).message, message);
    }
    const good = await postJson(port, '/api/classify', { image: `data:image/png;base64,${b64}`, labels: 'cat, dog,', templates: 'Simple' });
    assert.equal(good.status, 200);
    assert.deepEqual((good.json as { labels: { label: string }[] }).labels.map((l) => l.label), ['cat', 'dog']);
    assert.equal(fake.calls.classify.at(-1)?.templates, 'simple');
    const form = multipartBody({ labels: 'red\ngreen\nblue' }, [{ field: 'file', filename: '../../x.png', type: 'application/octet-stream', data: png }]);
    const viaForm = await request(port, '/api/classify', { method: 'POST', headers: { 'Content-Type': form.contentType }, body: form.body });
    assert.equal(viaForm.status, 200);
    assert.deepEqual(fake.calls.classify.at(-1)?.labels, ['red', 'green', 'blue']);
    assert.equal(fake.calls.classify.at(-1)?.image.name, 'x.png', 'only the base name of an uploaded file name is kept');
    const twoFiles = multipartBody({ labels: 'a' }, [
      { field: 'a', filename: 'a.png', type: 'image/png', data: png }, { field: 'b', filename: 'b.png', type: 'image/png', data: png }]);
    assert.match(errorOf(await request(port, '/api/classify', { method: 'POST', headers: { 'Content-Type': twoFiles.contentType }, body: twoFiles.body })).message, /2 files/);
    const e = await postJson(port, '/api/embed', { texts: ['a', 'b'], image: b64 });
    assert.equal(e.status, 200);
    const ej = e.json as { dim: number; texts: number[][]; image: number[] };
    assert.equal(ej.texts.length, 2);
    assert.equal(ej.image.length, 4);
    assert.match(errorOf(await postJson(port, '/api/embed', {})).message, /nothing to embed/);
    assert.match(errorOf(await postJson(port, '/api/embed', { texts: 'x'.repeat(3000) })).message, /longer than 2000/);
    assert.match(errorOf(await postJson(port, '/api/embed', { texts: [1] })).message, /array of strings/);
  });

  it('answers broken multipart bodies with 400', async () => {
    const noBoundary = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': 'multipart/form-data' }, body: 'xx' });
    assert.equal(errorOf(noBoundary).code, 'invalid_multipart');
    const form = multipartBody({}, [{ field: 'image', filename: 'a.png', type: 'image/png', data: png }]);
    const truncated = form.body.subarray(0, form.body.length - 30);
    const r = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': form.contentType }, body: truncated });
    assert.equal(r.status, 400);
    assert.match(errorOf(r).message, /closing boundary is missing/);
    const garbage = await request(port, '/api/search/image', { method: 'POST', headers: { 'Content-Type': 'multipart/form-data; boundary=zz' }, body: '--zz\r\nno colon here\r\n\r\ndata\r\n--zz--' });
    assert.equal(errorOf(garbage).code, 'invalid_multipart');
  });

  it('answers a wrong method with 405 and Allow, an unknown route with 404', async () => {
    const get = await request(port, '/api/search');
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal(errorOf(get).code, 'method_not_allowed');
    const del = await request(port, '/api/images/1', { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.headers.allow, 'GET, HEAD');
    assert.equal((await request(port, '/', { method: 'POST', body: 'x' })).status, 405);
    assert.equal((await request(port, '/api/health', { method: 'OPTIONS' })).status, 405);
    const unknown = await request(port, '/api/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal(errorOf(unknown).code, 'not_found');
  });

  it('answers a body that stops arriving with 408 and malformed HTTP with 400', async () => {
    const slow = await raw(port, 'POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100', new TextEncoder().encode('{"query":'));
    assert.equal(slow.status, 408);
    assert.equal(errorOf(slow).code, 'request_timeout');
    const garbage = await raw(port, 'HELLO THERE\r\n\u0001\u0002');
    assert.equal(garbage.status, 400);
    assert.equal(errorOf(garbage).code, 'bad_request');
    const badLength = await raw(port, 'POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Length: -5');
    assert.equal(badLength.status, 400);
  });

  it('answers 100 concurrent requests: each 200 or 503 with Retry-After, none dropped', async () => {
    fake.delayMs = 30;
    try {
      const before = fake.calls.searchText.length;
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => postJson(port, '/api/search', { query: `query ${i}`, top: 3 })));
      const ok = results.filter((r) => r.status === 200);
      const busy = results.filter((r) => r.status === 503);
      assert.equal(ok.length + busy.length, 100, `statuses: ${[...new Set(results.map((r) => r.status))].join(', ')}`);
      assert.ok(ok.length >= 10, `only ${ok.length} answered`);
      assert.ok(busy.length > 0, 'the queue limit (2 running + 8 waiting) was never reached');
      for (const r of ok) assert.equal((r.json as { results: unknown[] }).results.length, 3);
      for (const r of busy) {
        assert.equal(r.headers['retry-after'], '1');
        assert.equal(errorOf(r).code, 'overloaded');
      }
      assert.equal(fake.calls.searchText.length - before, ok.length, 'refused requests never reached the service');
    } finally {
      fake.delayMs = 0;
    }
    assert.equal((await request(port, '/api/health')).status, 200);
  });

  it('logs one line per request, with hostile paths escaped', async () => {
    const n = logLines.length;
    await raw(port, 'GET /api/x%0a"<b>{fake}| HTTP/1.1\r\nHost: x');
    // The line is written when the server's side of the response closes, which may be just after the client saw it.
    for (let i = 0; i < 50 && !logLines.slice(n).some((l) => l.includes('/api/x')); i++) await new Promise((r) => setTimeout(r, 10));
    const line = logLines.slice(n).find((l) => l.includes('/api/x'));
    assert.ok(line !== undefined, 'a log line for the request');
    assert.match(line, /^\d{4}-\d\d-\d\dT\S+ \S+ GET \/api\/x%0a"<b>\{fake\}\| 404 \d+\.\dms [1-9]\d*B$/);
    await raw(port, 'GET /a\u0001b HTTP/1.1');
    assert.ok(logLines.slice(n).some((l) => / - - 400 /.test(l)), 'malformed requests are logged too');
  });
});

describe('server: failures inside the service, timeouts and shutdown', () => {
  it('turns an unexpected service error into a 500 without internals, and keeps serving', async () => {
    const broken = await BrokenService.create(1);
    const errors: unknown[] = [];
    const server = new ClipServer(broken, { onError: (err) => errors.push(err) });
    const { port } = await server.listen(0);
    try {
      const r = await postJson(port, '/api/search', { query: 'x' });
      assert.equal(r.status, 500);
      assert.deepEqual(r.json, { error: { code: 'internal', message: 'internal server error' } });
      assert.equal(errors.length, 1, 'the error was reported to the operator');
      const png = await tinyPng();
      const c = await postJson(port, '/api/classify', { image: Buffer.from(png).toString('base64'), labels: 'a,b' });
      assert.equal(c.status, 400);
      assert.equal(errorOf(c).code, 'invalid_image');
      assert.equal((await request(port, '/api/health')).status, 200);
    } finally {
      await server.close();
      await broken.close();
    }
  });

  it('answers 503 inference_timeout when a job runs past its deadline', async () => {
    const slow = await FakeService.create(1);
    slow.delayMs = 400;
    const server = new ClipServer(slow, { inferenceTimeoutMs: 100 });
    const { port } = await server.listen(0);
    try {
      const t0 = performance.now();
      const r = await postJson(port, '/api/search', { query: 'x' });
      assert.equal(r.status, 503);
      assert.equal(errorOf(r).code, 'inference_timeout');
      assert.ok(performance.now() - t0 < 350, 'answered at the deadline, not when the job ended');
    } finally {
      await server.close();
      await slow.close();
    }
  });

  it('finishes requests in progress on close, then stops accepting connections', async () => {
    const slow = await FakeService.create(1);
    slow.delayMs = 200;
    const server = new ClipServer(slow, {});
    const { port } = await server.listen(0);
    const inFlight = postJson(port, '/api/search', { query: 'x' });
    await new Promise((r) => setTimeout(r, 50));
    await server.close();
    assert.equal((await inFlight).status, 200);
    await assert.rejects(request(port, '/api/health'), /ECONNREFUSED/);
    await slow.close();
  });
});
