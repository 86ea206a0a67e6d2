// Turns a request body into what an endpoint accepts: JSON, a raw image (an image/* or
// application/octet-stream body), or a multipart form. A Content-Type the endpoint does not take is
// 415 naming the ones it does; a body that does not match its declared type is 400.
import type { IncomingHttpHeaders } from 'node:http';
import { sniffFormat, SUPPORTED_FORMATS } from '../image/format-sniff.js';
import { ApiError } from './api-error.js';
import { headerParams, parseMultipart } from './multipart.js';
import type { ImageUpload } from './service.js';

export interface FormFile extends ImageUpload {
  field: string;
}

export type Payload =
  | { kind: 'json'; value: unknown }
  | { kind: 'image'; image: ImageUpload }
  | { kind: 'form'; fields: Map<string, string[]>; files: FormFile[] };

export type PayloadKind = Payload['kind'];

const DESCRIPTIONS: Record<PayloadKind, string> = {
  json: 'application/json',
  image: 'an image type (image/jpeg, image/png, ...) or application/octet-stream',
  form: 'multipart/form-data',
};

/** A Uint8Array view of a Buffer (the two types are not interchangeable for the compiler). */
export function bytesOf(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function kindOf(contentType: string): PayloadKind | undefined {
  if (contentType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(contentType)) return 'json';
  if (contentType.startsWith('image/') || contentType === 'application/octet-stream') return 'image';
  if (contentType === 'multipart/form-data') return 'form';
  return undefined;
}

/** The upload's bytes must be a supported image; says what was wrong otherwise. */
export function checkImageUpload(image: ImageUpload): ImageUpload {
  if (image.bytes.length === 0) throw new ApiError(400, 'invalid_image', `the uploaded file "${image.name}" is empty`);
  if (sniffFormat(image.bytes) === undefined) {
    throw new ApiError(400, 'invalid_image', `the uploaded file "${image.name}" is not an image of a supported format (${SUPPORTED_FORMATS})`);
  }
  return image;
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new ApiError(400, 'invalid_json', 'the request body is empty; expected a JSON object');
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new ApiError(400, 'invalid_json', `the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Parses `body` by its Content-Type. Without a Content-Type a body is read as JSON when JSON is
 * accepted (curl without -H), since guessing anything else could misread it.
 */
export function parsePayload(headers: IncomingHttpHeaders, body: Buffer, accepted: readonly PayloadKind[]): Payload {
  const header = headers['content-type'];
  const type = header === undefined ? undefined : headerParams(header).value;
  const kind = type === undefined ? (accepted.includes('json') ? 'json' : undefined) : kindOf(type);
  if (kind === undefined || !accepted.includes(kind)) {
    const got = type === undefined ? 'no Content-Type' : `Content-Type ${type.slice(0, 100)}`;
    throw new ApiError(415, 'unsupported_media_type', `${got} is not accepted here; send ${accepted.map((k) => DESCRIPTIONS[k]).join(' or ')}`);
  }
  switch (kind) {
    case 'json':
      return { kind, value: parseJson(body) };
    case 'image':
      return { kind, image: { bytes: bytesOf(body), name: 'upload' } };
    case 'form': {
      const fields = new Map<string, string[]>();
      const files: FormFile[] = [];
      for (const part of parseMultipart(body, header as string)) {
        if (part.filename !== undefined) {
          files.push({ field: part.name, name: part.filename === '' ? part.name : part.filename, bytes: bytesOf(part.data) });
        } else {
          const list = fields.get(part.name) ?? [];
          list.push(part.data.toString('utf8'));
          fields.set(part.name, list);
        }
      }
      return { kind, fields, files };
    }
  }
}
