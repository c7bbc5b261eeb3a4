/** The shapes every route works with: a parsed request in, a reply out. No Express types past http/. */
import type { Runtime } from '../runtime';
import type { ClientRecord } from '../store/types';

/** Who a request is: the admin, or a client (http/auth.ts decides). */
export type Principal = { kind: 'admin' } | { kind: 'client'; client: ClientRecord };

export interface ParsedRequest {
  method: string;
  /** Path without the query string, without a trailing slash (except "/"). */
  path: string;
  /** Each query parameter once; a repeated parameter is a 400 before any route runs. */
  query: Record<string, string>;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** The body as it came (within the 64 KiB limit), for routes that read another format. */
  rawBody?: Buffer;
  /** Why the body is not JSON (a 415), raised for every route that does not read the raw body. */
  bodyError?: Error;
  headers: Record<string, string | string[] | undefined>;
  /** Route parameters (`:id`). */
  params: Record<string, string>;
  requestId: string;
}

export interface Reply {
  status?: number;
  body: unknown;
  /** A plain-text answer instead of JSON (the event route's `success`). */
  text?: string;
  headers?: Record<string, string>;
  /** Sent as it is, with this Content-Type, instead of `body` as JSON (the console's static files). */
  raw?: { contentType: string; text: string };
}

/** What a route tells the request log (never a value of a secret). */
export interface RouteLogFields {
  realm?: string;
  key?: string;
  source?: string;
  /**
   * Why a token was served without a call of this request's own (engine/served.ts `reason`), for
   * the request line: `waited` means it waited for another request's refresh.
   */
  reason?: string;
  /**
   * The token was served from a valid copy without waiting or refreshing (a memory hit, or the
   * engine's first read): counted in the hit summary instead of a request line at info.
   */
  hit?: boolean;
}

export interface RouteContext {
  req: ParsedRequest;
  runtime: Runtime;
  /** Fields for the one request log line. */
  logFields: RouteLogFields;
  /** On token routes: throws 403 unless the caller may use realm/key. */
  authorize?: (realm: string, key: string) => void;
  /** On token routes: who is asking (the audit log's actor of a flush or report). */
  principal?: Principal;
}

export type Auth = 'none' | 'admin' | 'token';

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** `/api/realm/:id` — segments starting with ':' are parameters. */
  pattern: string;
  auth: Auth;
  /** The route reads `rawBody` itself: a body that is not JSON is no 415 here. */
  rawBody?: true;
  /** A plain Reply when it can answer at once (no promise, no await: see app.ts). */
  handle(ctx: RouteContext): Reply | Promise<Reply>;
  /**
   * A `token` route's reads that may start while the instance's first client-key lookup is in
   * flight (app.ts): it starts store reads for the request's target and serves nothing; `handle`,
   * once the caller is authorised, uses what they read.
   */
  readAhead?(ctx: RouteContext): void;
}

/** `{"data": ..., "success": "ok"}`, the original design's list envelope. */
export function ok<T>(data: T): Reply {
  return { body: { data, success: 'ok' } };
}
