/** What the client throws: the broker's error (status, code, message) or a transport failure. */
export class TokenClientError extends Error {
  /** HTTP status of the broker's answer; 0 when no answer arrived (network, timeout). */
  readonly status: number;
  /** The broker's error code (e.g. UPSTREAM_ERROR, QUOTA_EXHAUSTED), or NETWORK / TIMEOUT / BAD_ANSWER. */
  readonly code: string;
  /** The broker's `details` (provider status and error code, budget...), when it sent them. */
  readonly details: Record<string, unknown> | undefined;
  /** Retry-After of the last answer, in milliseconds, when it carried one. */
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    init: { status: number; code: string; details?: Record<string, unknown>; retryAfterMs?: number },
  ) {
    super(message);
    this.name = 'TokenClientError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** WeChat / WeCom codes that mean "this access token is invalid or expired". */
export const INVALID_TOKEN_CODES: ReadonlySet<number> = new Set([40001, 40014, 42001]);

/** Whether an SDK error or an API answer says the token was rejected (errcode or code 40001/40014/42001). */
export function saysTokenInvalid(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  const record = value as { errcode?: unknown; code?: unknown };
  for (const candidate of [record.errcode, record.code]) {
    const n = typeof candidate === 'string' && /^\d+$/.test(candidate) ? Number(candidate) : candidate;
    if (typeof n === 'number' && INVALID_TOKEN_CODES.has(n)) return true;
  }
  return false;
}
