/**
 * One error class with a closed set of codes, and one table from code to HTTP status and to the
 * tokenctl exit code. Everything that goes wrong on purpose is an AppError; anything else becomes a
 * generic 500 in http/respond.ts without internals.
 */

/**
 * status: the HTTP status the server answers with. exit: tokenctl's exit code when the CLI raises
 * this error itself, before any request (e.g. it validates a realm file: 2). Whatever the code, an
 * error *answered by the server* exits 1, and 401 or an unreachable server exits 3 (README "tokenctl: the admin CLI").
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: { status: 400, exit: 2 },
  INVALID_JSON: { status: 400, exit: 2 },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 2 },
  UNAUTHENTICATED: { status: 401, exit: 3 },
  PERMISSION_DENIED: { status: 403, exit: 1 },
  NOT_FOUND: { status: 404, exit: 1 },
  METHOD_NOT_ALLOWED: { status: 405, exit: 1 },
  CONFLICT: { status: 409, exit: 1 },
  PAYLOAD_TOO_LARGE: { status: 413, exit: 2 },
  QUOTA_EXHAUSTED: { status: 429, exit: 1 },
  UPSTREAM_ERROR: { status: 502, exit: 1 },
  UPSTREAM_TIMEOUT: { status: 504, exit: 1 },
  NOT_READY: { status: 503, exit: 1 },
  REFRESH_IN_PROGRESS: { status: 503, exit: 1 },
  UNAVAILABLE: { status: 503, exit: 1 },
  /** A realm that needs a pushed ticket (${ticket}) before any has arrived. */
  TICKET_MISSING: { status: 503, exit: 1 },
  /** The provider refused the pushed ticket as expired or invalid (WeChat 61005/61006). */
  TICKET_STALE: { status: 503, exit: 1 },
  /** A tenant the platform revoked (WeChat `unauthorized`, WeCom `cancel_auth`): kept as a tombstone. */
  AUTHORIZER_REVOKED: { status: 410, exit: 1 },
  INTERNAL: { status: 500, exit: 1 },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Codes of refresh failures that are never the credentials' fault: the engine remembers them as
 * transient (no negative cache) and answers them as they are.
 */
export const PUSHED_VALUE_CODES: ReadonlySet<string> = new Set(['TICKET_MISSING', 'TICKET_STALE']);

export interface AppErrorOptions {
  details?: Record<string, unknown>;
  /** Seconds, sent as Retry-After (503 and 429). */
  retryAfter?: number;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  /** The error body every route answers (README "HTTP API"): {"error": {"code", "message", "details"?}}. */
  toBody(): { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}
