// The server's limits, each with a default meant for a single-machine deployment; every one can be
// changed through createClipServer's options and `clip-ts serve` flags.

export interface ServerLimits {
  /** Largest request body in bytes (413 above). A base64 image in JSON counts at its encoded size. */
  maxUploadBytes: number;
  /** Milliseconds to receive a whole request body (408 after). */
  bodyTimeoutMs: number;
  /** Inference jobs running at once. */
  maxConcurrentJobs: number;
  /** Inference jobs waiting for a slot (503 + Retry-After when full). */
  maxQueuedJobs: number;
  /** Milliseconds from admission to the answer of one inference job (503 after). */
  inferenceTimeoutMs: number;
  /** Largest `top` of a search. */
  maxTop: number;
  /** Most labels in one classification. */
  maxLabels: number;
  /** Most texts in one embed request, and longest query or text in characters. */
  maxTexts: number;
  maxTextLength: number;
  /** Longest side of thumbnails, and their cache budget in bytes. */
  thumbnailSize: number;
  thumbnailCacheBytes: number;
  /** Images with more pixels are refused (decompression bombs); applies to thumbnails here and to uploads in the service. */
  maxImagePixels: number;
  /** On shutdown, milliseconds to let requests in progress finish before connections are cut. */
  shutdownGraceMs: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxUploadBytes: 10 * 1024 * 1024,
  bodyTimeoutMs: 30_000,
  maxConcurrentJobs: 2,
  maxQueuedJobs: 64,
  inferenceTimeoutMs: 60_000,
  maxTop: 100,
  maxLabels: 100,
  maxTexts: 64,
  maxTextLength: 2000,
  thumbnailSize: 256,
  thumbnailCacheBytes: 64 * 1024 * 1024,
  maxImagePixels: 50_000_000,
  shutdownGraceMs: 10_000,
});

/** The defaults overridden by `given`; every value must be a positive integer. */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const limits: ServerLimits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(given) as [keyof ServerLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS)) throw new RangeError(`unknown server limit "${key}"`);
    const zeroOk = key === 'maxQueuedJobs' || key === 'shutdownGraceMs';
    if (!Number.isInteger(value) || value < (zeroOk ? 0 : 1)) throw new RangeError(`${key} must be a ${zeroOk ? 'non-negative' : 'positive'} integer, got ${value}`);
    limits[key] = value;
  }
  return limits;
}
