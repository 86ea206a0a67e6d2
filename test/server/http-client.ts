// Test clients: `raw` writes bytes on a TCP socket exactly as given (fetch would normalise "..",
// fix bad headers or refuse them), and `request` is node:http with a JSON-aware result.
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import net from 'node:net';

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The body parsed as JSON when it is JSON, else undefined. */
  json: unknown;
}

function parseJson(body: Buffer, type: string | undefined): unknown {
  if (type === undefined || !type.startsWith('application/json') || body.length === 0) return undefined;
  return JSON.parse(body.toString('utf8')) as unknown;
}

/** Sends `head` (request line and headers, CRLF-separated, without the final blank line) and `body`; reads until the server closes. */
export function raw(port: number, head: string, body: Uint8Array = new Uint8Array(0)): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const all = Buffer.concat(chunks.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength)));
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) {
        reject(new Error(`no HTTP response: ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
        return;
      }
      const lines = all.subarray(0, split).toString('latin1').split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let b = all.subarray(split + 4);
      if (headers['content-length'] !== undefined) b = b.subarray(0, Number(headers['content-length']));
      resolve({ status, headers, body: b, json: parseJson(b, headers['content-type']) });
    });
    socket.write(`${head}\r\nConnection: close\r\n\r\n`);
    if (body.length > 0) socket.write(body);
  });
}

export interface RequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Uint8Array | string;
}

/** One request with node:http; resolves with the response even when the server cut the upload short. */
export function request(port: number, path: string, opts: RequestOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on('data', (c: Buffer) => chunks.push(new Uint8Array(c.buffer, c.byteOffset, c.byteLength)));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        resolve({ status: res.statusCode ?? 0, headers, body, json: parseJson(body, headers['content-type']) });
      });
      res.on('error', reject);
    });
    // Writing may fail with EPIPE/ECONNRESET after the server answered early (413); the response wins.
    req.on('error', (err) => setTimeout(() => reject(err), 50));
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** POST of a JSON value. */
export function postJson(port: number, path: string, value: unknown): Promise<HttpResult> {
  return request(port, path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(value) });
}

/** A multipart/form-data body with text fields and files. */
export function multipartBody(fields: Record<string, string>, files: { field: string; filename: string; type: string; data: Uint8Array }[]):
  { body: Uint8Array; contentType: string } {
  const boundary = `----clip-ts-test-${Math.random().toString(16).slice(2)}`;
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  for (const f of files) {
    parts.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${f.field}"; filename="${f.filename}"\r\nContent-Type: ${f.type}\r\n\r\n`));
    parts.push(f.data, enc.encode('\r\n'));
  }
  parts.push(enc.encode(`--${boundary}--\r\n`));
  return { body: concatBytes(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The `{error: {code, message}}` of an error response (fails the test if the shape is wrong). */
export function errorOf(r: HttpResult): { code: string; message: string } {
  const e = (r.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (e === undefined || typeof e.code !== 'string' || typeof e.message !== 'string') {
    throw new Error(`expected a JSON error body, got ${r.status} ${JSON.stringify(r.body.toString('utf8').slice(0, 200))}`);
  }
  return { code: e.code, message: e.message };
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const b = Buffer.concat(parts);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
