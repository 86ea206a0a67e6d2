// The endpoints. Each validates its input completely before any inference is queued, runs the
// inference through the job queue (admission control, deadline, cancellation), and answers JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { builtinTemplateSetNames } from '../eval/templates.js';
import { ApiError, invalidField } from './api-error.js';
import { readBody } from './body.js';
import { openImageFile } from './image-files.js';
import type { JobQueue } from './job-queue.js';
import type { ServerLimits } from './limits.js';
import { checkImageUpload, parsePayload, type Payload, type PayloadKind } from './payload.js';
import {
  base64Image, formField, jsonObject, labelList, requiredString, singleFormFile, textList, topCount,
} from './request-fields.js';
import { sendBody, sendJson, writeHeaders } from './respond.js';
import type { ClipService, ImageUpload, ScoredImage, ServedImage } from './service.js';
import type { ThumbnailCache } from './thumbnails.js';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** Aborted when the client goes away before the answer. */
  signal: AbortSignal;
  /** The integer id of /api/images/:id and /api/thumbs/:id. */
  id?: number;
}

export interface HandlerDeps {
  service: ClipService;
  queue: JobQueue;
  thumbnails: ThumbnailCache;
  limits: ServerLimits;
  startedAt: number;
}

export type Handler = (ctx: RequestContext, deps: HandlerDeps) => Promise<void>;

const DEFAULT_TOP = 10;

async function readPayload(ctx: RequestContext, deps: HandlerDeps, accepted: readonly PayloadKind[]): Promise<Payload> {
  const body = await readBody(ctx.req, { maxBytes: deps.limits.maxUploadBytes, timeoutMs: deps.limits.bodyTimeoutMs });
  return parsePayload(ctx.req.headers, body, accepted);
}

/** The search result as the API shows it: links instead of file paths. */
function resultJson(hit: ScoredImage): Record<string, unknown> {
  return { id: hit.id, score: hit.score, name: hit.name, size: hit.size, url: `/api/images/${hit.id}`, thumb: `/api/thumbs/${hit.id}` };
}

function vectorJson(v: Float32Array): number[] {
  return Array.from(v);
}

/** A per-request template set: only built-in names, never a file path. */
function templateSetName(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  const names = builtinTemplateSetNames();
  const found = typeof value === 'string' ? names.find((n) => n.toLowerCase() === value.toLowerCase()) : undefined;
  if (found === undefined) throw invalidField(`"templates" must be one of ${names.join(', ')}`);
  return found;
}

export const health: Handler = async (ctx, deps) => {
  const jobs = deps.queue.stats();
  sendJson(ctx.res, 200, { status: 'ok', uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000), jobs: { running: jobs.running, queued: jobs.queued } });
};

export const info: Handler = async (ctx, deps) => {
  const i = deps.service.info();
  const l = deps.limits;
  sendJson(ctx.res, 200, {
    model: i.model, dim: i.dim, imageSize: i.imageSize, count: await deps.service.count(), templates: i.templates,
    limits: { maxUploadBytes: l.maxUploadBytes, maxTop: l.maxTop, maxLabels: l.maxLabels, maxTexts: l.maxTexts, maxTextLength: l.maxTextLength },
  });
};

export const searchText: Handler = async (ctx, deps) => {
  const payload = await readPayload(ctx, deps, ['json']);
  const body = jsonObject(payload.kind === 'json' ? payload.value : undefined);
  const query = requiredString(body.query, 'query', deps.limits.maxTextLength);
  const top = topCount(body.top, DEFAULT_TOP, deps.limits.maxTop);
  const hits = await deps.queue.run((signal) => deps.service.searchText(query, top, { signal }), ctx.signal);
  sendJson(ctx.res, 200, { query, results: hits.map(resultJson) });
};

export const searchImage: Handler = async (ctx, deps) => {
  const payload = await readPayload(ctx, deps, ['image', 'form']);
  let image: ImageUpload;
  let topValue: unknown;
  if (payload.kind === 'form') {
    image = singleFormFile(payload.files, 'image');
    topValue = formField(payload.fields, 'top');
  } else if (payload.kind === 'image') {
    image = payload.image;
    topValue = ctx.url.searchParams.get('top') ?? undefined;
  } else {
    throw new Error('searchImage: unexpected payload'); // parsePayload accepted only images and forms
  }
  const top = topCount(topValue, DEFAULT_TOP, deps.limits.maxTop);
  checkImageUpload(image);
  const hits = await deps.queue.run((signal) => deps.service.searchImage(image, top, { signal }), ctx.signal);
  sendJson(ctx.res, 200, { results: hits.map(resultJson) });
};

export const classify: Handler = async (ctx, deps) => {
  const payload = await readPayload(ctx, deps, ['form', 'json', 'image']);
  let image: ImageUpload;
  let labelsValue: unknown;
  let templatesValue: unknown;
  if (payload.kind === 'form') {
    image = singleFormFile(payload.files, 'image');
    labelsValue = formField(payload.fields, 'labels');
    templatesValue = formField(payload.fields, 'templates');
  } else if (payload.kind === 'json') {
    const body = jsonObject(payload.value);
    if (body.image === undefined) throw invalidField('missing field "image" (the image as base64)');
    image = base64Image(body.image, 'image');
    labelsValue = body.labels;
    templatesValue = body.templates;
  } else {
    image = payload.image;
    labelsValue = ctx.url.searchParams.get('labels') ?? undefined;
    templatesValue = ctx.url.searchParams.get('templates') ?? undefined;
  }
  const labels = labelList(labelsValue, deps.limits.maxLabels);
  const templates = templateSetName(templatesValue);
  checkImageUpload(image);
  const ranked = await deps.queue.run((signal) => deps.service.classify({ image, labels, templates }, { signal }), ctx.signal);
  sendJson(ctx.res, 200, { templates: templates ?? deps.service.info().templates, labels: ranked });
};

export const embed: Handler = async (ctx, deps) => {
  const payload = await readPayload(ctx, deps, ['json', 'form', 'image']);
  let texts: string[] = [];
  let image: ImageUpload | undefined;
  const { maxTexts, maxTextLength } = deps.limits;
  if (payload.kind === 'json') {
    const body = jsonObject(payload.value);
    if (body.texts !== undefined) texts = textList(body.texts, maxTexts, maxTextLength);
    if (body.image !== undefined) image = base64Image(body.image, 'image');
  } else if (payload.kind === 'form') {
    texts = textList([...(payload.fields.get('texts') ?? []), ...(payload.fields.get('text') ?? [])], maxTexts, maxTextLength);
    if (payload.files.length > 0) image = singleFormFile(payload.files, 'image');
  } else {
    image = payload.image;
  }
  if (texts.length === 0 && image === undefined) throw invalidField('nothing to embed: give "texts" (an array of strings) and/or an image');
  if (image !== undefined) checkImageUpload(image);
  const upload = image;
  const e = await deps.queue.run((signal) => deps.service.embed(texts, upload, { signal }), ctx.signal);
  sendJson(ctx.res, 200, { dim: e.dim, texts: e.texts.map(vectorJson), ...(e.image !== undefined ? { image: vectorJson(e.image) } : {}) });
};

async function indexedImage(ctx: RequestContext, deps: HandlerDeps): Promise<ServedImage> {
  const id = ctx.id as number;
  const image = await deps.service.image(id);
  if (image === undefined) throw new ApiError(404, 'not_found', `no image with id ${id} in the index`);
  return image;
}

/** True (and 304 sent) when the client's cached copy is current. */
function notModified(ctx: RequestContext, etag: string): boolean {
  const given = ctx.req.headers['if-none-match'];
  if (given === undefined || !given.split(',').some((t) => t.trim() === etag)) return false;
  ctx.res.writeHead(304, { ETag: etag, 'Cache-Control': 'private, no-cache' });
  ctx.res.end();
  return true;
}

export const imageFile: Handler = async (ctx, deps) => {
  const image = await indexedImage(ctx, deps);
  const etag = `"${image.sha256}"`;
  if (notModified(ctx, etag)) return;
  const opened = await openImageFile(image);
  try {
    writeHeaders(ctx.res, 200, {
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'Content-Type': opened.contentType,
      'Content-Length': String(opened.size),
      'Content-Disposition': 'inline',
      ETag: etag,
      'Cache-Control': 'private, no-cache',
    });
    if (ctx.req.method === 'HEAD' || opened.size === 0) {
      ctx.res.end();
      return;
    }
    await pipeline(opened.file.createReadStream({ start: 0, end: Math.max(0, opened.size - 1), autoClose: false }), ctx.res);
  } finally {
    await opened.file.close();
  }
};

export const thumbnail: Handler = async (ctx, deps) => {
  const image = await indexedImage(ctx, deps);
  const etag = `"t${deps.limits.thumbnailSize}-${image.sha256}"`;
  if (notModified(ctx, etag)) return;
  const thumb = await deps.thumbnails.get(image);
  sendBody(ctx.res, 200, thumb.contentType, thumb.data, { ETag: etag, 'Cache-Control': 'private, no-cache' });
};
