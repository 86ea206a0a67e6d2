// The HTTP server: routing, limits, logging and graceful shutdown around a ClipService. Every
// failure of a request ends as a JSON error response; nothing a client sends can throw past the
// request handler, and malformed HTTP is answered by the 'clientError' hook.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { ApiError, errorBody } from './api-error.js';
import type { Handler, HandlerDeps, RequestContext } from './api-handlers.js';
import { JobQueue } from './job-queue.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { formatRequestLog } from './request-log.js';
import { COMMON_HEADERS, sendError, writeHeaders } from './respond.js';
import { matchRoute, type Method } from './routes.js';
import type { ClipService } from './service.js';
import { loadStaticFiles, PAGE_CSP, type StaticFile } from './static-files.js';
import { ThumbnailCache } from './thumbnails.js';

export interface ClipServerOptions extends Partial<ServerLimits> {
  /** Receives one line per request; default none. */
  log?: (line: string) => void;
  /** Receives unexpected errors (bugs, I/O failures); default stderr. */
  onError?: (err: unknown, where: string) => void;
  /** Folder of the web page (default assets/web). */
  webDir?: string;
}

export class ClipServer {
  readonly http: Server;
  readonly limits: ServerLimits;
  private readonly deps: HandlerDeps;
  private readonly files: Map<string, StaticFile>;
  private readonly staticPaths: Set<string>;
  private readonly log: ((line: string) => void) | undefined;
  private readonly onError: (err: unknown, where: string) => void;
  private readonly active = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(service: ClipService, opts: ClipServerOptions = {}) {
    const { log, onError, webDir, ...limitOptions } = opts;
    this.limits = resolveLimits(limitOptions);
    this.log = log;
    this.onError = onError ?? ((err, where) => process.stderr.write(`clip-ts serve: ${where}: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`));
    this.files = loadStaticFiles(webDir);
    this.staticPaths = new Set(this.files.keys());
    this.deps = {
      service,
      queue: new JobQueue({ maxConcurrent: this.limits.maxConcurrentJobs, maxQueued: this.limits.maxQueuedJobs, timeoutMs: this.limits.inferenceTimeoutMs }),
      thumbnails: new ThumbnailCache({ size: this.limits.thumbnailSize, cacheBytes: this.limits.thumbnailCacheBytes, maxPixels: this.limits.maxImagePixels }),
      limits: this.limits,
      startedAt: Date.now(),
    };
    this.http = createServer({
      // Node's own limit for the whole request, a little above ours so that ours (JSON 408) fires first.
      requestTimeout: this.limits.bodyTimeoutMs + 5_000,
      maxHeaderSize: 16 * 1024,
    }, (req, res) => {
      const done = this.handle(req, res).catch((err: unknown) => this.onError(err, 'request handler'));
      this.active.add(done);
      void done.finally(() => this.active.delete(done));
    });
    this.http.headersTimeout = Math.min(this.limits.bodyTimeoutMs + 5_000, 60_000);
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.clientError(err, socket));
  }

  /** Starts listening; resolves to the actual address (port 0 picks a free port). */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /** http://host:port/ of the listening server. */
  get url(): string {
    const a = this.http.address() as AddressInfo | null;
    if (a === null) throw new Error('the server is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${a.port}/`;
  }

  /**
   * Stops accepting connections, lets requests in progress finish (up to shutdownGraceMs), refuses
   * queued inference, then closes every connection. Does not close the service (its owner does).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.http.close(() => resolve()));
      this.http.closeIdleConnections();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, this.limits.shutdownGraceMs).unref());
      await Promise.race([Promise.allSettled([...this.active]), grace]);
      await this.deps.queue.close();
      this.http.closeAllConnections();
      await stopped;
    })();
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
      this.log?.(formatRequestLog({
        time: new Date(), remote: req.socket.remoteAddress ?? '-', method: req.method ?? '-', path: req.url ?? '-',
        status: res.statusCode, milliseconds: performance.now() - started, bytes: Number(res.getHeader('content-length') ?? 0),
      }));
    });
    try {
      if (this.closing !== undefined) res.setHeader('Connection', 'close');
      await this.route(req, res, controller.signal);
    } catch (err) {
      if (controller.signal.aborted && !(err instanceof ApiError)) return; // the client is gone; nobody to answer
      const apiError = err instanceof ApiError ? err : new ApiError(500, 'internal', 'internal server error');
      if (!(err instanceof ApiError)) this.onError(err, `${req.method} ${req.url}`);
      // A body not read to its end would be parsed as the next request: close after answering.
      sendError(res, apiError, !req.complete);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      throw new ApiError(400, 'bad_request', 'the request URL cannot be parsed');
    }
    const route = matchRoute(url.pathname, this.staticPaths, this.staticHandler);
    if (route === undefined) throw new ApiError(404, 'not_found', `no route for ${url.pathname.slice(0, 100)}`);
    // HEAD is GET without the body (Node drops the body of HEAD responses).
    const method = (req.method === 'HEAD' ? 'GET' : req.method) as Method;
    const handler = route.handlers[method];
    if (handler === undefined) {
      const allowed = Object.keys(route.handlers);
      if (allowed.includes('GET')) allowed.push('HEAD');
      throw new ApiError(405, 'method_not_allowed', `${String(req.method).slice(0, 20)} is not allowed on ${url.pathname}; use ${allowed.join(' or ')}`, { Allow: allowed.join(', ') });
    }
    const ctx: RequestContext = { req, res, url, signal, ...(route.id !== undefined ? { id: route.id } : {}) };
    await handler(ctx, this.deps);
  }

  private readonly staticHandler: Handler = async (ctx) => {
    const file = this.files.get(ctx.url.pathname) as StaticFile;
    writeHeaders(ctx.res, 200, {
      ...COMMON_HEADERS,
      'Content-Security-Policy': PAGE_CSP,
      'Content-Type': file.contentType,
      'Content-Length': String(file.body.length),
      'Cache-Control': 'no-cache',
      'X-Frame-Options': 'DENY',
    });
    ctx.res.end(file.body);
  };

  /** Malformed HTTP (bad request line, oversized headers, header timeout): a JSON answer, then close. */
  private clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'bad_request', 'request headers too large'] as const
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout', 'the request was not received in time'] as const
          : [400, 'bad_request', 'malformed HTTP request'] as const;
    const body = JSON.stringify(errorBody(new ApiError(status, code, message)));
    this.log?.(formatRequestLog({
      time: new Date(), remote: (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? '-', method: '-', path: '-',
      status, milliseconds: 0, bytes: Buffer.byteLength(body),
    }));
    const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
}
