/**
 * Reads a provider's answer: the token and its lifetime, or a classified ProviderFailure. The body is
 * never echoed into an error (it may hold a token); only its length, and the provider's own error code
 * and message from the configured paths.
 */
import { getByPath } from './dot-path';
import { IP_ALLOWLIST_HINT, isTransientStatus, ProviderFailure } from './failure';
import type { CodeValue, RealmConfig } from './realm-config';
import { MAX_LIFETIME_MS } from './realm-facts';
import { CONTROL_CHARS } from '../validation';
import { rotatedValuesOf, type Rotated } from './rotated';

export interface ExtractedToken {
  token: string;
  /** Whole milliseconds for which the provider says the token is valid, counted from the request. */
  lifetimeMs: number;
  /** Rotating values the answer carried (realm config `rotates`), by the name they replace. */
  rotated?: Rotated;
}

/**
 * Longest token we accept (UTF-8 bytes). WeCom documents up to 512; Feishu's newer tenant tokens are
 * JWTs of about 4 KB (so not 4096: one a little longer must pass whole); anything this long is broken.
 */
export const MAX_TOKEN_BYTES = 8192;

/** Loose comparison of provider codes: "0" matches 0, "true" matches true. */
export function codeMatches(list: readonly CodeValue[], value: unknown): boolean {
  if (
    value === null ||
    (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
  ) {
    return false;
  }
  const text = String(value).trim();
  return list.some((candidate) => String(candidate).trim() === text);
}

/**
 * A scalar as text, raw: it is redacted, and only then normalised and shortened, in one place
 * (ProviderFailure.redacted with providers/redact.ts, which upstream.ts applies to every failure).
 */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return undefined;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function hintFor(config: RealmConfig, code: string | undefined): string | undefined {
  const key = code?.trim();
  if (key === undefined || !Object.prototype.hasOwnProperty.call(config.error_hints, key)) return undefined;
  return config.error_hints[key];
}

/** The provider's error code (as text) at error_path, when one is present and is not a success value. */
function providerErrorOf(
  config: RealmConfig,
  data: unknown,
): { present: boolean; code?: string; message?: string; transient: boolean } {
  if (config.error_path === undefined || !isObject(data)) return { present: false, transient: false };
  const raw = getByPath(data, config.error_path);
  if (raw === undefined || raw === null || codeMatches(config.success_values, raw)) {
    return { present: false, transient: false };
  }
  const message =
    config.error_message_path === undefined
      ? undefined
      : scalarText(getByPath(data, config.error_message_path));
  return {
    present: true,
    code: scalarText(raw),
    message,
    transient: codeMatches(config.transient_error_values, raw),
  };
}

/**
 * Where providers commonly put an error, read when a realm has no error rules (README "Realms": a realm in
 * the original design's format, or a logic_code function): code field, then its message fields.
 */
const COMMON_ERROR_FIELDS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['errcode', ['errmsg']],
  ['code', ['msg', 'message']],
  ['error', ['error_description', 'message']],
];
/** Codes in those fields that mean success (WeChat `errcode: 0`, `code: 0`, `code: 200`). */
const COMMON_SUCCESS_VALUES: readonly CodeValue[] = [0, 200, 'ok', 'success'];
/** Codes in those fields that mean "try again" (WeChat/WeCom -1 system busy; OAuth2's). */
const COMMON_TRANSIENT_VALUES: readonly CodeValue[] = [-1, 'temporarily_unavailable'];
/** Codes that mean the caller's IP is not allow-listed (WeChat, WeCom): hinted without a preset. */
const COMMON_IP_CODES: readonly CodeValue[] = [40164, 60020, 89501, 89503, 89506, 89507];

type ProviderError = ReturnType<typeof providerErrorOf>;

/** The provider's error from the common fields, for a realm without error_path. */
function commonErrorOf(data: unknown): ProviderError {
  if (!isObject(data)) return { present: false, transient: false };
  for (const [codeField, messageFields] of COMMON_ERROR_FIELDS) {
    let raw = data[codeField];
    let holder: Record<string, unknown> = data;
    // {"error": {"code": 401, "message": "..."}} (Google-style APIs): the code and message inside.
    if (isObject(raw)) {
      holder = raw;
      raw = raw.code ?? raw.status ?? raw.message;
    }
    if (raw === undefined || raw === null || raw === '' || codeMatches(COMMON_SUCCESS_VALUES, raw)) continue;
    const message = messageFields
      .concat(holder === data ? [] : ['message'])
      .map((field) => scalarText(holder[field]))
      .find((text) => text !== undefined && text !== '');
    return {
      present: true,
      code: scalarText(raw),
      ...(message === undefined ? {} : { message }),
      transient: codeMatches(COMMON_TRANSIENT_VALUES, raw),
    };
  }
  return { present: false, transient: false };
}

/** The realm's hint for a provider code, or without one the IP allow-list hint for those codes. */
function commonHintFor(config: RealmConfig, code: string | undefined): string | undefined {
  const own = hintFor(config, code);
  if (own !== undefined || code === undefined) return own;
  return codeMatches(COMMON_IP_CODES, code) ? IP_ALLOWLIST_HINT : undefined;
}

function describeCode(code: string | undefined, message: string | undefined): string {
  const what = code === undefined ? 'an error (non-scalar error code)' : `error code ${code}`;
  return message === undefined || message === '' ? what : `${what} (${message})`;
}

/**
 * The token and lifetime from a provider's answer, or a ProviderFailure:
 * - a non-2xx status is an error (transient for 5xx, 408, 429 or a transient provider code);
 * - a body that is not a JSON object is an error (permanent);
 * - a value at error_path that is not one of success_values is an error (transient only for
 *   transient_error_values), carrying the provider's code and message and the realm's hint for it;
 * - the token must be a non-empty string of printable characters, at most MAX_TOKEN_BYTES;
 * - the lifetime (expires_in_path × unit, or default_expires_in when the response has none) must be a
 *   positive finite number of at most 366 days.
 */
export function extractToken(config: RealmConfig, httpStatus: number, bodyText: string): ExtractedToken {
  const bytes = Buffer.byteLength(bodyText, 'utf8');
  const parsed = parseJson(bodyText);
  const data = parsed.ok ? parsed.value : undefined;
  // A realm without error rules: the common fields, consulted when the answer carries no token.
  const common = config.error_path === undefined ? commonErrorOf(data) : undefined;
  const hasToken = isObject(data) && !isEmptyToken(getByPath(data, config.token_path));
  const providerError =
    common !== undefined && (!hasToken || httpStatus < 200 || httpStatus > 299)
      ? common
      : providerErrorOf(config, data);
  const codeFields = {
    ...(providerError.code === undefined ? {} : { providerCode: providerError.code }),
    ...(providerError.message === undefined ? {} : { providerMessage: providerError.message }),
  };
  const hint =
    common === undefined ? hintFor(config, providerError.code) : commonHintFor(config, providerError.code);
  const hintField = hint === undefined ? {} : { hint };

  if (httpStatus < 200 || httpStatus > 299) {
    const transient = isTransientStatus(httpStatus) || providerError.transient;
    const redirect = httpStatus >= 300 && httpStatus < 400;
    let message = `Upstream answered HTTP ${httpStatus}`;
    if (redirect) message += ', a redirect, which is not followed';
    else if (providerError.present)
      message += ` with ${describeCode(providerError.code, providerError.message)}`;
    else if (!parsed.ok) message += ` (not JSON, ${bytes} bytes)`;
    throw new ProviderFailure({
      kind: transient ? 'transient' : 'permanent',
      reason: redirect ? 'redirect' : providerError.present ? 'provider_error' : 'http_status',
      message,
      httpStatus,
      ...codeFields,
      ...hintField,
    });
  }
  if (!parsed.ok) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'not_json',
      message: `Upstream answered HTTP ${httpStatus} with a body that is not JSON (${bytes} bytes)`,
      httpStatus,
    });
  }
  if (!isObject(data)) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'not_object',
      message: `Upstream answered HTTP ${httpStatus} with JSON that is not an object`,
      httpStatus,
    });
  }
  if (providerError.present) {
    throw new ProviderFailure({
      kind: providerError.transient ? 'transient' : 'permanent',
      reason: 'provider_error',
      message: `Upstream answered ${describeCode(providerError.code, providerError.message)}`,
      httpStatus,
      ...codeFields,
      ...hintField,
    });
  }

  const token = getByPath(data, config.token_path);
  if (isEmptyToken(token)) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'no_token',
      message: `Upstream answered HTTP ${httpStatus} without a token at "${config.token_path}"`,
      httpStatus,
    });
  }
  if (typeof token !== 'string') {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'bad_token',
      message: `Upstream answered a token at "${config.token_path}" that is not a string`,
      httpStatus,
    });
  }
  const tokenBytes = Buffer.byteLength(token, 'utf8');
  if (tokenBytes > MAX_TOKEN_BYTES) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'bad_token',
      message: `Upstream answered a token of ${tokenBytes} bytes; at most ${MAX_TOKEN_BYTES} are accepted`,
      httpStatus,
    });
  }
  if (CONTROL_CHARS.test(token)) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'bad_token',
      message: 'Upstream answered a token that contains control characters',
      httpStatus,
    });
  }

  const lifetimeMs = lifetimeOf(config, data, httpStatus);
  if (config.rotates === undefined) return { token, lifetimeMs };
  return { token, lifetimeMs, rotated: rotatedValuesOf(config, data, httpStatus) };
}

function isEmptyToken(token: unknown): token is undefined | null | '' {
  return token === undefined || token === null || token === '';
}

function lifetimeOf(config: RealmConfig, data: Record<string, unknown>, httpStatus: number): number {
  const raw = config.expires_in_path === undefined ? undefined : getByPath(data, config.expires_in_path);
  if (raw === undefined || raw === null) {
    if (config.default_expires_in !== undefined) return config.default_expires_in * 1000;
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'no_lifetime',
      message: `Upstream answered no lifetime at "${config.expires_in_path ?? '(none configured)'}" and the realm sets no default_expires_in`,
      httpStatus,
    });
  }
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(raw)) value = Number(raw);
  else value = Number.NaN;
  const ms = Math.floor(value * (config.expires_in_unit === 'ms' ? 1 : 1000));
  if (!Number.isFinite(ms) || ms <= 0 || ms > MAX_LIFETIME_MS) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'bad_lifetime',
      message: `Upstream answered an unusable lifetime at "${config.expires_in_path ?? ''}" (must be a positive number of ${config.expires_in_unit === 'ms' ? 'milliseconds' : 'seconds'}, at most 366 days)`,
      httpStatus,
    });
  }
  return ms;
}
