// Writing responses: JSON with the security headers every API answer carries, and errors in the
// one shape clients can rely on, {"error": {"code", "message"}}.
import type { ServerResponse } from 'node:http';
import { ApiError, errorBody } from './api-error.js';
import { API_CSP } from './static-files.js';

/** Headers on every response: no MIME sniffing, no referrer leaks. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** writeHead through setHeader, so that the headers stay readable (the request log reads Content-Length). */
export function writeHeaders(res: ServerResponse, status: number, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.writeHead(status);
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: Buffer | string,
  headers: Record<string, string> = {}): void {
  const data = typeof body === 'string' ? Buffer.from(body) : body;
  writeHeaders(res, status, {
    ...COMMON_HEADERS,
    'Content-Security-Policy': API_CSP,
    ...headers,
    'Content-Type': contentType,
    'Content-Length': String(data.length),
  });
  res.end(data);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendBody(res, status, 'application/json; charset=utf-8', JSON.stringify(value), { 'Cache-Control': 'no-store', ...headers });
}

/**
 * Sends `err` as JSON. When the request body was not read to the end (413, 408), the connection
 * is closed after the answer: what is left of the body would otherwise be read as the next request.
 */
export function sendError(res: ServerResponse, err: ApiError, closeConnection = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, errorBody(err), { ...err.headers, ...(closeConnection ? { Connection: 'close' } : {}) });
}
