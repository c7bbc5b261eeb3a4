/**
 * Express request → ParsedRequest: the 64 KiB body limit, JSON-only bodies in UTF-8, each query
 * parameter at most once, and a request id. The body arrives read but unparsed, as `req.rawBody`
 * (http/body-gate.ts reads it, bounded, before the Functions Framework sees the request).
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { AppError } from '../errors';
import type { ParsedRequest } from './types';

export const MAX_BODY_BYTES = 64 * 1024;

export function normalisePath(path: string): string {
  if (path.length > 1 && path.endsWith('/')) return path.slice(0, -1);
  return path === '' ? '/' : path;
}

/** The 413 for a body over MAX_BODY_BYTES (size: what was declared or read, when known). */
export function bodyTooLarge(size: number | undefined): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `The request body is larger than ${MAX_BODY_BYTES} bytes`, {
    details: { limit: MAX_BODY_BYTES, ...(size === undefined ? {} : { size }) },
  });
}

function parseQuery(url: string): Record<string, string> {
  const q = url.indexOf('?');
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  if (q < 0) return query;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const [name, value] of params) {
    if (Object.prototype.hasOwnProperty.call(query, name)) {
      throw new AppError('INVALID_ARGUMENT', `Query parameter ${name} is given more than once`, {
        details: { field: name },
      });
    }
    query[name] = value;
  }
  return query;
}

/** What a caller's X-Request-Id may be to be used (and logged) as it is. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id when it is a sane one (at most 128 of A-Z a-z 0-9 . _ : -), else a new id. */
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string {
  const given = headerValue(headers['x-request-id']);
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Content-Type's charset parameter, lower-cased, when there is one. */
function charsetOf(type: string): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(type);
  return m?.[1]?.toLowerCase();
}

function rawBodyOf(req: Request): Buffer | undefined {
  const raw = (req as Request & { rawBody?: unknown }).rawBody;
  return Buffer.isBuffer(raw) ? raw : undefined;
}

function parseBody(req: Request): unknown {
  const declared = Number(req.headers['content-length'] ?? '0');
  const raw = rawBodyOf(req);
  const size = Math.max(Number.isFinite(declared) ? declared : 0, raw?.length ?? 0);
  if (size > MAX_BODY_BYTES) throw bodyTooLarge(size);
  if (raw === undefined || raw.length === 0) {
    // The framework consumed nothing (no body), or parsed an empty body.
    return req.body !== undefined &&
      typeof req.body === 'object' &&
      !Buffer.isBuffer(req.body) &&
      Object.keys(req.body as object).length > 0
      ? (req.body as unknown)
      : undefined;
  }
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (!/^application\/([\w.+-]+\+)?json\b/.test(type)) {
    throw new AppError(
      'UNSUPPORTED_MEDIA_TYPE',
      'Request bodies must be JSON (Content-Type: application/json)',
      {
        details: { field: 'Content-Type' },
      },
    );
  }
  const charset = charsetOf(type);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be UTF-8 JSON (charset=utf-8)', {
      details: { field: 'Content-Type' },
    });
  }
  if (req.body !== undefined && !Buffer.isBuffer(req.body) && typeof req.body !== 'string')
    return req.body as unknown;
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new AppError('INVALID_JSON', 'The request body is not valid JSON');
  }
  // Strict JSON bodies, as body-parser's: an object or an array, never a bare string, number or null.
  if (body === null || typeof body !== 'object') {
    throw new AppError('INVALID_JSON', 'The request body must be a JSON object');
  }
  return body;
}

export function parseRequest(req: Request): ParsedRequest {
  const url = req.originalUrl || req.url || '/';
  const pathOnly = url.split('?')[0] ?? '/';
  const query = parseQuery(url);
  let body: unknown;
  let bodyError: AppError | undefined;
  try {
    body = parseBody(req);
  } catch (err) {
    // A body that is not JSON (or not valid JSON) is refused later, by every route but those that
    // read it raw (the event route: a Feishu event that does not parse is one more unverified 401).
    if (!(err instanceof AppError) || (err.code !== 'UNSUPPORTED_MEDIA_TYPE' && err.code !== 'INVALID_JSON'))
      throw err;
    bodyError = err;
  }
  const rawBody = rawBodyOf(req);
  return {
    method: (req.method || 'GET').toUpperCase(),
    path: normalisePath(pathOnly),
    query,
    body,
    ...(rawBody === undefined ? {} : { rawBody }),
    ...(bodyError === undefined ? {} : { bodyError }),
    headers: req.headers,
    params: {},
    requestId: requestIdOf(req.headers),
  };
}

export function headerValue(h: string | string[] | undefined): string | undefined {
  if (Array.isArray(h)) return h[0];
  return h;
}
