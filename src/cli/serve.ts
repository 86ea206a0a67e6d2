// clip-ts serve: the HTTP server with the JSON API and the web page, over an image index.
import { resolveTemplates } from '../eval/templates.js';
import { IndexedClipService } from '../server/clip-service.js';
import { DEFAULT_LIMITS, type ServerLimits } from '../server/limits.js';
import { ClipServer } from '../server/server.js';
import type { MatmulPrecision } from '../tensor/index.js';
import { UsageError, numberOption, parseArgs, type ParsedArgs } from './args.js';

const MB = 1024 * 1024;

export const usage = `usage: clip-ts serve --db PATH [--model NAME|PATH] [--port P] [--host H] [--templates SET]
                    [--quiet] [limits] [--threads N] [--precision fp32|bf16] [--cache-dir D]

Serves a web page (search box, image drop zone for zero-shot classification and search by image)
and a JSON API over the image index at --db (made with \`clip-ts index\`):

  POST /api/search          {"query": "red apple", "top": 10}
  POST /api/search/image    an image (raw body with an image Content-Type, or multipart/form-data)
  POST /api/classify        multipart: an image file + "labels" (comma/newline separated);
                            or JSON {"image": BASE64, "labels": [...], "templates": "simple"}
  POST /api/embed           JSON {"texts": [...], "image": BASE64}, or a form, or a raw image
  GET  /api/images/ID       the indexed file          GET /api/thumbs/ID   a WebP thumbnail
  GET  /api/health          GET /api/info (model, count, dim)

  --db PATH            the image index folder
  --model NAME|PATH    the model (default: the one the index was built with); it must have the
                       same weights as the index's
  --port P             port (default 8080; 0 picks a free one, the URL printed says which)
  --host H             address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --templates SET      prompt templates for classification requests that name none: imagenet
                       (default; emoji for the bundled model), simple, emoji, a dataset of
                       CLIP's prompts.md, or a FILE
  --quiet              no request log on stderr

limits (defaults in brackets):
  --max-upload-mb N      largest request body, in MB [${DEFAULT_LIMITS.maxUploadBytes / MB}] (413 above)
  --body-timeout-s N     time to receive a request body [${DEFAULT_LIMITS.bodyTimeoutMs / 1000}] (408 after)
  --max-jobs N           inference jobs at once [${DEFAULT_LIMITS.maxConcurrentJobs}]
  --max-queue N          inference jobs waiting [${DEFAULT_LIMITS.maxQueuedJobs}] (503 + Retry-After when full)
  --job-timeout-s N      time for one inference job, waiting included [${DEFAULT_LIMITS.inferenceTimeoutMs / 1000}] (503 after)
  --max-pixels N         largest uploaded image in pixels [${DEFAULT_LIMITS.maxImagePixels}]

Stops cleanly on SIGINT (Ctrl-C) or SIGTERM: requests in progress are finished first.`;

function limitOptions(args: ParsedArgs): Partial<ServerLimits> {
  const limits: Partial<ServerLimits> = {};
  if (args.values.has('max-upload-mb')) limits.maxUploadBytes = Math.round(numberOption(args, 'max-upload-mb', 0, { min: 0.001, max: 4096 }) * MB);
  if (args.values.has('body-timeout-s')) limits.bodyTimeoutMs = Math.round(numberOption(args, 'body-timeout-s', 0, { min: 0.001 }) * 1000);
  if (args.values.has('max-jobs')) limits.maxConcurrentJobs = numberOption(args, 'max-jobs', 0, { min: 1, integer: true });
  if (args.values.has('max-queue')) limits.maxQueuedJobs = numberOption(args, 'max-queue', 0, { min: 0, integer: true });
  if (args.values.has('job-timeout-s')) limits.inferenceTimeoutMs = Math.round(numberOption(args, 'job-timeout-s', 0, { min: 0.001 }) * 1000);
  if (args.values.has('max-pixels')) limits.maxImagePixels = numberOption(args, 'max-pixels', 0, { min: 1, integer: true });
  return limits;
}

/** Resolves on the first SIGINT or SIGTERM; a second one ends the process at once. */
function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', first);
      process.off('SIGTERM', first);
      const force = (): void => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    db: { type: 'string' }, model: { type: 'string', short: 'm' }, port: { type: 'string', short: 'p' }, host: { type: 'string' },
    templates: { type: 'string', short: 't' }, quiet: { type: 'flag', short: 'q' }, threads: { type: 'string' }, precision: { type: 'string' },
    'cache-dir': { type: 'string' }, 'max-upload-mb': { type: 'string' }, 'body-timeout-s': { type: 'string' }, 'max-jobs': { type: 'string' },
    'max-queue': { type: 'string' }, 'job-timeout-s': { type: 'string' }, 'max-pixels': { type: 'string' },
  });
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const db = args.values.get('db');
  if (db === undefined) throw new UsageError('--db PATH is required (an index made with `clip-ts index`)');
  const port = numberOption(args, 'port', 8080, { min: 0, max: 65535, integer: true });
  const host = args.values.get('host') ?? '127.0.0.1';
  const precision = (args.values.get('precision') ?? 'fp32') as MatmulPrecision;
  if (precision !== 'fp32' && precision !== 'bf16') throw new UsageError(`--precision must be fp32 or bf16, got "${precision}"`);
  const threads = numberOption(args, 'threads', 0, { min: 0, integer: true });
  const limits = { ...DEFAULT_LIMITS, ...limitOptions(args) };
  const templatesSpec = args.values.get('templates');
  const templates = templatesSpec === undefined ? undefined : resolveTemplates(templatesSpec);
  const quiet = args.flags.has('quiet');

  const service = await IndexedClipService.open({
    dbPath: db, model: args.values.get('model'), cacheDir: args.values.get('cache-dir'), templates, precision, threads,
    maxImagePixels: limits.maxImagePixels,
  });
  const server = new ClipServer(service, { ...limits, ...(quiet ? {} : { log: (line: string) => process.stderr.write(line + '\n') }) });
  const stopped = shutdownSignal();
  try {
    await server.listen(port, host);
  } catch (err) {
    await service.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is already in use (--port 0 picks a free one)`);
    throw err;
  }
  const info = service.info();
  process.stdout.write(`clip-ts serve: ${await service.count()} images, model ${info.model} (${info.dim}-d), listening on ${server.url}\n`);
  const signal = await stopped;
  process.stderr.write(`clip-ts serve: ${signal}, shutting down\n`);
  await server.close();
  await service.close();
  return 0;
}
