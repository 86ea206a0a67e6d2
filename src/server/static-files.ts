// The web page's files, read once from assets/web/ at start-up. Only the fixed URL paths listed
// here are served, each mapped to a fixed file, so no part of a request URL is ever joined into a
// file system path.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assetPath } from '../paths.js';

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

/** URL path -> file under assets/web/ and its Content-Type. */
const ROUTES: Readonly<Record<string, { file: string; contentType: string }>> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', contentType: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', contentType: 'image/svg+xml' },
};

/**
 * The page's policy: its own scripts, styles and images only, thumbnails from the API, uploads
 * previewed as blob: URLs, no framing, no plugins, no inline code.
 */
export const PAGE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** For JSON and images: nothing may run or load in their context. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

export function loadStaticFiles(dir: string = assetPath('web')): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const [route, { file, contentType }] of Object.entries(ROUTES)) {
    files.set(route, { body: readFileSync(path.join(dir, file)), contentType });
  }
  return files;
}
