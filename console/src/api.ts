/**
 * The console's only way to the server: the admin API that tokenctl uses (cli/api.ts), with the admin
 * key as a bearer token. Every failure becomes an ApiError with the server's code and message.
 */
import { isRecord } from './shapes';

export class ApiError extends Error {
  constructor(
    /** The HTTP status, 0 when no answer came. */
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface ApiCall {
  method: 'GET' | 'POST' | 'DELETE';
  /** `/api/...`, each variable segment already escaped (apiPath). */
  path: string;
  query?: Query;
  body?: unknown;
}

export type Api = (call: ApiCall) => Promise<unknown>;

/** `/api/realm/<id>` with each segment escaped, as tokenctl builds it. */
export function apiPath(...segments: string[]): string {
  return '/api/' + segments.map((s) => encodeURIComponent(s)).join('/');
}

/**
 * Where the API is: the page's path without its trailing /console (a Cloud Functions URL keeps its
 * /tokenServer prefix), on the page's own origin.
 */
export function apiBase(pathname: string = location.pathname): string {
  return pathname.replace(/\/console\/?$/, '');
}

function urlOf(call: ApiCall): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(call.query ?? {})) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  const search = params.toString();
  return `${apiBase()}${call.path}${search === '' ? '' : `?${search}`}`;
}

/** The server's `{"error": {"code", "message"}}`, or a description of what came instead. */
function errorOf(status: number, body: unknown): ApiError {
  const error = isRecord(body) ? body.error : undefined;
  if (isRecord(error) && typeof error.message === 'string') {
    return new ApiError(status, typeof error.code === 'string' ? error.code : 'ERROR', error.message);
  }
  return new ApiError(status, 'ERROR', `The server answered HTTP ${status} without an error message`);
}

/** An Api that sends `key`; the key goes in the Authorization header only. */
export function createApi(key: string): Api {
  return async (call) => {
    let res: Response;
    try {
      res = await fetch(urlOf(call), {
        method: call.method,
        headers: {
          Authorization: `Bearer ${key}`,
          Accept: 'application/json',
          ...(call.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The server did not answer (network error): try again');
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    if (!res.ok) throw errorOf(res.status, body);
    if (body === undefined) throw new ApiError(res.status, 'ERROR', 'The server answered without JSON');
    return body;
  };
}
