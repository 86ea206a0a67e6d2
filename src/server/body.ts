// Reads a request body into memory under two limits: a byte budget (413 as soon as it is exceeded,
// before the body is read when Content-Length already says so) and a deadline for the whole body
// (408), so that a slow or endless upload cannot hold memory or a connection forever.
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `the request body is larger than the limit of ${formatBytes(maxBytes)}`);
}

/** The whole body. Rejects with ApiError 413 / 408, or with an Error when the client disconnects. */
export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limits.maxBytes) return Promise.reject(tooLarge(limits.maxBytes));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let received = 0;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (err !== null) reject(err);
      else resolve(Buffer.concat(chunks, received));
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limits.maxBytes) {
        chunks.length = 0;
        finish(tooLarge(limits.maxBytes));
        return;
      }
      chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    };
    const onEnd = (): void => finish(null);
    const onError = (err: Error): void => finish(err);
    const onAborted = (): void => finish(new Error('the client closed the connection'));
    const timer = setTimeout(() => {
      finish(new ApiError(408, 'request_timeout', `the request body was not received within ${limits.timeoutMs} ms`));
    }, limits.timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
