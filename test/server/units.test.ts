// The server's building blocks on their own: admission control, the LRU cache, the multipart
// parser, request-field validation, and the command's argument errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/server/api-error.js';
import { JobQueue } from '../../src/server/job-queue.js';
import { resolveLimits } from '../../src/server/limits.js';
import { LruCache } from '../../src/server/lru-cache.js';
import { headerParams, parseMultipart } from '../../src/server/multipart.js';
import { base64Image, labelList, topCount } from '../../src/server/request-fields.js';
import { runCliCaptured } from '../helpers/capture-output.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('JobQueue', () => {
  it('runs at most maxConcurrent jobs, queues maxQueued, refuses the rest with 503', async () => {
    const q = new JobQueue({ maxConcurrent: 2, maxQueued: 1, timeoutMs: 1000 });
    let running = 0;
    let peak = 0;
    const job = async (): Promise<number> => {
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      return 7;
    };
    const settled = await Promise.allSettled([q.run(job), q.run(job), q.run(job), q.run(job)]);
    assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const refused = (settled[3] as PromiseRejectedResult).reason as ApiError;
    assert.equal(refused.status, 503);
    assert.equal(refused.code, 'overloaded');
    assert.equal(refused.headers['Retry-After'], '1');
    assert.equal(peak, 2);
    assert.deepEqual(q.stats(), { running: 0, queued: 0, rejected: 1, timedOut: 0 });
  });

  it('times out at the deadline but keeps the slot until the job really ends', async () => {
    const q = new JobQueue({ maxConcurrent: 1, maxQueued: 5, timeoutMs: 30 });
    let aborted = false;
    let finishJob = (): void => {};
    const slowDone = new Promise<void>((resolve) => { finishJob = resolve; });
    const slow = q.run(async (signal) => {
      signal.addEventListener('abort', () => { aborted = true; });
      await sleep(80);
      setImmediate(finishJob);
      return 1;
    });
    await assert.rejects(slow, (e: unknown) => e instanceof ApiError && e.code === 'inference_timeout' && e.status === 503);
    assert.ok(aborted, 'the job was told its result is no longer wanted');
    assert.equal(q.stats().running, 1, 'the abandoned job still holds its slot');
    await slowDone;
    assert.equal(q.stats().running, 0);
  });

  it('drops a queued job whose caller gave up, and refuses everything once closed', async () => {
    const q = new JobQueue({ maxConcurrent: 1, maxQueued: 5, timeoutMs: 1000 });
    const first = q.run(async () => { await sleep(30); return 'a'; });
    const caller = new AbortController();
    let started = false;
    const second = q.run(async () => { started = true; return 'b'; }, caller.signal);
    assert.equal(q.stats().queued, 1);
    caller.abort(new Error('client gone'));
    await assert.rejects(second, /client gone/);
    assert.equal(q.stats().queued, 0);
    const third = q.run(async () => 'c');
    const closing = q.close();
    await assert.rejects(third, (e: unknown) => e instanceof ApiError && e.code === 'shutting_down');
    assert.equal(await first, 'a');
    await closing;
    assert.equal(started, false);
    await assert.rejects(q.run(async () => 'd'), /shutting down/);
  });

  it('passes a job\'s own failure through', async () => {
    const q = new JobQueue({ maxConcurrent: 1, maxQueued: 0, timeoutMs: 1000 });
    await assert.rejects(q.run(async () => { throw new TypeError('boom'); }), TypeError);
    assert.equal(await q.run(async () => 3), 3);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entries by count and by weight', () => {
    const c = new LruCache<string, number>({ maxEntries: 3, maxWeight: 10 });
    c.set('a', 1, 2);
    c.set('b', 2, 2);
    c.set('c', 3, 2);
    assert.equal(c.get('a'), 1); // a is now the most recent
    c.set('d', 4, 2); // count 4 > 3: b goes
    assert.equal(c.get('b'), undefined);
    c.set('e', 5, 7); // weight 2+2+2+7 > 10: c, then a go
    assert.deepEqual(['a', 'c', 'd', 'e'].map((k) => c.get(k)), [undefined, undefined, 4, 5]);
    assert.equal(c.weight, 9);
    c.set('huge', 6, 11); // heavier than the budget: not stored, nothing evicted
    assert.equal(c.get('huge'), undefined);
    assert.equal(c.size, 2);
  });
});

describe('multipart parser', () => {
  const enc = (s: string): Buffer => Buffer.from(s, 'latin1');

  it('reads fields and files, ignores preamble and epilogue, keeps binary data intact', () => {
    const body = Buffer.concat([
      enc('preamble\r\n--XyZ\r\nContent-Disposition: form-data; name="labels"\r\n\r\ncat, dog\r\n'),
      enc('--XyZ  \r\ncontent-disposition: form-data; name="image"; filename="C:\\\\photos\\\\a \\"b\\".png"\r\nContent-Type: image/PNG; x=1\r\n\r\n'),
      Buffer.from([0, 13, 10, 45, 45, 255]),
      enc('\r\n--XyZ\r\nContent-Disposition: form-data; name="empty"\r\n\r\n\r\n--XyZ--\r\nepilogue'),
    ].map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
    const parts = parseMultipart(body, 'multipart/form-data; boundary="XyZ"');
    assert.deepEqual(parts.map((p) => [p.name, p.filename, p.contentType, p.data.length]), [
      ['labels', undefined, undefined, 8], ['image', 'a "b".png', 'image/png', 6], ['empty', undefined, undefined, 0]]);
    assert.deepEqual([...parts[1].data], [0, 13, 10, 45, 45, 255]);
  });

  it('rejects what is not multipart', () => {
    const bad: [string, string, RegExp][] = [
      ['--a\r\nContent-Disposition: form-data; name="x"\r\n\r\nv\r\n--a--', 'multipart/form-data', /no boundary/],
      ['no boundary here', 'multipart/form-data; boundary=a', /does not occur/],
      ['--a\r\nContent-Disposition: attachment\r\n\r\nv\r\n--a--', 'multipart/form-data; boundary=a', /not form-data with a name/],
      ['--a\r\nContent-Disposition: form-data; name="x"\r\n\r\nvalue without end', 'multipart/form-data; boundary=a', /closing boundary is missing/],
      ['--aXX', 'multipart/form-data; boundary=a', /not followed by a line break/],
    ];
    for (const [body, type, message] of bad) {
      assert.throws(() => parseMultipart(enc(body), type), (e: unknown) => e instanceof ApiError && e.code === 'invalid_multipart' && message.test(e.message), body);
    }
    assert.deepEqual(headerParams('form-data; name="a;b"; filename=x.png'), { value: 'form-data', params: new Map([['name', 'a;b'], ['filename', 'x.png']]) });
  });
});

describe('request fields', () => {
  it('parses labels from text or arrays and names what is wrong', () => {
    assert.deepEqual(labelList('cat, dog ,bird,', 10), ['cat', 'dog', 'bird']);
    assert.deepEqual(labelList('red apple\ngreen pear', 10), ['red apple', 'green pear']);
    assert.deepEqual(labelList([' a ', 'b'], 10), ['a', 'b']);
    assert.throws(() => labelList('a,,b', 10), /item 2: empty label/);
    assert.throws(() => labelList('', 10), /empty label/);
    assert.throws(() => labelList('a,b,a', 10), /duplicate label "a"/);
    assert.throws(() => labelList('a,b,c', 2), /at most 2/);
    assert.throws(() => labelList({ a: 1 }, 2), /must be comma-separated text or an array of strings, got object/);
  });

  it('checks top and base64 images', () => {
    assert.equal(topCount(undefined, 10, 5), 5);
    assert.equal(topCount('3', 10, 5), 3);
    assert.throws(() => topCount(6, 10, 5), /from 1 to 5/);
    assert.throws(() => topCount('', 10, 5), /"top"/);
    assert.deepEqual([...base64Image('data:image/png;base64,AAEC\n/w==', 'image').bytes], [0, 1, 2, 255]);
    assert.throws(() => base64Image('abc$', 'image'), /not valid base64/);
    assert.throws(() => base64Image(12, 'image'), /must be a base64-encoded image, got number 12/);
  });

  it('accepts only sane limits', () => {
    assert.equal(resolveLimits({ maxQueuedJobs: 0 }).maxQueuedJobs, 0);
    assert.throws(() => resolveLimits({ maxConcurrentJobs: 0 }), /maxConcurrentJobs must be a positive integer/);
    assert.throws(() => resolveLimits({ maxUploadBytes: 1.5 }), /positive integer/);
  });
});

describe('clip-ts serve arguments', () => {
  it('requires --db and checks its options before opening anything', async () => {
    const noDb = await runCliCaptured(['serve']);
    assert.equal(noDb.code, 2);
    assert.match(noDb.stderr, /--db PATH is required/);
    const badPort = await runCliCaptured(['serve', '--db', 'x', '--port', '70000']);
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port must be at most 65535/);
    const missing = await runCliCaptured(['serve', '--db', '/nonexistent/clip-ts-db', '--quiet']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no image index there/);
    const help = await runCliCaptured(['serve', '--help']);
    assert.match(help.stdout, /POST \/api\/classify/);
  });
});
