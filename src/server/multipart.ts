// A strict parser for multipart/form-data bodies (RFC 7578) already held in memory. Every form part
// is a header block and data between boundary lines; anything that does not follow that shape is
// rejected (400 invalid_multipart) rather than guessed at.
import { ApiError } from './api-error.js';

export interface FormPart {
  /** The field name from Content-Disposition. */
  name: string;
  /** The file name, for file fields (only its last path component, at most 200 characters). */
  filename?: string;
  /** The part's declared Content-Type, lower case, without parameters. */
  contentType?: string;
  data: Buffer;
}

const MAX_PARTS = 64;
const MAX_HEADER_BYTES = 8 * 1024;
const ascii = new TextEncoder();
const CRLF = ascii.encode('\r\n');
const HEADER_END = ascii.encode('\r\n\r\n');

function invalid(message: string): ApiError {
  return new ApiError(400, 'invalid_multipart', `malformed multipart/form-data body: ${message}`);
}

/** Parameters of a header value such as `form-data; name="a"; filename="b.png"`, keys lower-cased. */
export function headerParams(value: string): { value: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  const semi = value.indexOf(';');
  const main = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (semi >= 0) {
    const re = /;\s*([^\s=;]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
    for (const m of value.slice(semi).matchAll(re)) {
      const raw = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3].trim();
      params.set(m[1].toLowerCase(), raw);
    }
  }
  return { value: main, params };
}

/** The boundary of a multipart Content-Type header. */
export function multipartBoundary(contentType: string): string {
  const boundary = headerParams(contentType).params.get('boundary');
  if (boundary === undefined || boundary === '') throw invalid('the Content-Type header has no boundary parameter');
  if (boundary.length > 70) throw invalid('the boundary is longer than 70 characters');
  return boundary;
}

function safeFilename(name: string): string {
  // Browsers send the base name, but a client may send a path; only the last component is kept.
  const base = name.split(/[\\/]/).pop() ?? '';
  return base.slice(0, 200);
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalid(`bad part header line "${line.slice(0, 80)}"`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

export function parseMultipart(body: Buffer, contentType: string): FormPart[] {
  const boundary = multipartBoundary(contentType);
  const delimiter = ascii.encode(`--${boundary}`);
  const nextDelimiter = ascii.encode(`\r\n--${boundary}`);
  // The first delimiter may follow a preamble, which is ignored.
  let pos = body.subarray(0, delimiter.length).equals(delimiter) ? 0 : body.indexOf(nextDelimiter);
  if (pos < 0) throw invalid('the boundary does not occur in the body');
  if (pos > 0) pos += 2;
  const parts: FormPart[] = [];
  for (;;) {
    pos += delimiter.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // "--": the closing delimiter
    // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (!body.subarray(pos, pos + 2).equals(CRLF)) throw invalid('a boundary line is not followed by a line break');
    pos += 2;
    if (parts.length >= MAX_PARTS) throw invalid(`more than ${MAX_PARTS} parts`);
    const headerEnd = body.indexOf(HEADER_END, pos);
    if (headerEnd < 0 || headerEnd - pos > MAX_HEADER_BYTES) throw invalid('a part has no complete header block');
    const headers = parseHeaders(body.subarray(pos, headerEnd).toString('utf8'));
    const dataStart = headerEnd + 4;
    const dataEnd = body.indexOf(nextDelimiter, dataStart);
    if (dataEnd < 0) throw invalid('the closing boundary is missing (truncated body?)');
    const disposition = headers.get('content-disposition');
    if (disposition === undefined) throw invalid('a part has no Content-Disposition header');
    const d = headerParams(disposition);
    const name = d.params.get('name');
    if (d.value !== 'form-data' || name === undefined) throw invalid('a part\'s Content-Disposition is not form-data with a name');
    const filename = d.params.get('filename');
    const type = headers.get('content-type');
    parts.push({
      name,
      ...(filename !== undefined ? { filename: safeFilename(filename) } : {}),
      ...(type !== undefined ? { contentType: headerParams(type).value } : {}),
      data: body.subarray(dataStart, dataEnd),
    });
    pos = dataEnd + 2;
  }
}
