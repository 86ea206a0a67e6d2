// The route table: fixed paths plus the two id routes. Matching works on the URL's path after the
// WHATWG URL parser has resolved dot segments ("..", "%2e%2e"), and an id must be a plain decimal
// integer, so "/api/images/1%2F.." or "/api/images/-1" never reach a handler.
import { ApiError } from './api-error.js';
import * as api from './api-handlers.js';
import type { Handler } from './api-handlers.js';

export type Method = 'GET' | 'POST';

export interface MatchedRoute {
  handlers: Partial<Record<Method, Handler>>;
  id?: number;
}

const API_ROUTES: Readonly<Record<string, Partial<Record<Method, Handler>>>> = {
  '/api/health': { GET: api.health },
  '/api/info': { GET: api.info },
  '/api/search': { POST: api.searchText },
  '/api/search/image': { POST: api.searchImage },
  '/api/classify': { POST: api.classify },
  '/api/embed': { POST: api.embed },
};

const ID_ROUTES: Readonly<Record<string, Handler>> = {
  images: api.imageFile,
  thumbs: api.thumbnail,
};

const ID_PATH = /^\/api\/(images|thumbs)\/([^/]*)$/;

/** Image ids are non-negative integers that fit exactly in a double. */
export function parseImageId(raw: string): number {
  if (!/^\d{1,15}$/.test(raw)) {
    throw new ApiError(400, 'invalid_id', `image ids are non-negative integers, got "${raw.slice(0, 40)}"`);
  }
  return Number(raw);
}

/** The handlers for a path, or undefined (404). `staticPaths` are the web page's files. */
export function matchRoute(pathname: string, staticPaths: ReadonlySet<string>, staticHandler: Handler): MatchedRoute | undefined {
  const fixed = API_ROUTES[pathname];
  if (fixed !== undefined) return { handlers: fixed };
  const m = ID_PATH.exec(pathname);
  if (m !== null) return { handlers: { GET: ID_ROUTES[m[1]] }, id: parseImageId(m[2]) };
  if (staticPaths.has(pathname)) return { handlers: { GET: staticHandler } };
  return undefined;
}
