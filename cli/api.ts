/**
 * The HTTP client of tokenctl: the only place that talks to the server. It sends JSON with the bearer
 * key and turns every failure into a CliError with the exit code of README "tokenctl: the admin CLI": the server's error body
 * {"error": {"code", "message", "details"}} → 1 (401 → 3); no answer at all → 3.
 */
import { CliError, EXIT, exitCodeForServerError, usageError } from './errors';
import { isRecord } from './shapes';

export type FetchFn = (url: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** The server's base URL; routes are appended to its path (a Cloud Functions URL keeps its prefix). */
  baseUrl: string;
  bearer: string;
  fetch: FetchFn;
  /** How long to wait for an answer before giving up (exit 3). */
  timeoutMs?: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Checks a server base URL before any request: http(s) only, and no user name or password in it
 * (tokenctl authenticates with the bearer key; userinfo would only end up in messages). A usage
 * error otherwise, which never repeats the URL.
 */
function parseBaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError('The server URL is not a valid URL (expected e.g. http://127.0.0.1:8080).');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`The server URL must start with http:// or https:// (got "${url.protocol}").`);
  }
  if (url.username !== '' || url.password !== '') {
    throw usageError(
      'The server URL must not contain a user name or password (user:password@): tokenctl sends the admin key instead.',
    );
  }
  return url;
}

/** A URL as messages show it: scheme, host and path; never userinfo, query or fragment. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** Where a redirect points, as messages show it (resolved against the request URL). */
function redirectTarget(location: string | null, from: string): string {
  if (location === null || location === '') return '(no Location header)';
  try {
    return displayUrl(new URL(location, from));
  } catch {
    return '(an unreadable Location header)';
  }
}

/** `/api/realm/<id>` with each segment escaped, so an id can never change the route. */
export function apiPath(...segments: string[]): string {
  return '/api/' + segments.map((s) => encodeURIComponent(s)).join('/');
}

export class ApiClient {
  private readonly base: URL;
  private readonly bearer: string;
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.base = parseBaseUrl(options.baseUrl);
    this.bearer = options.bearer;
    this.fetchFn = options.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get(path: string, query?: Query): Promise<unknown> {
    return this.request('GET', path, query, undefined);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.request('POST', path, undefined, body);
  }

  delete(path: string): Promise<unknown> {
    return this.request('DELETE', path, undefined, undefined);
  }

  /** The full URL of a route, for requests and for messages. */
  urlOf(path: string, query?: Query): string {
    const url = new URL(this.base.href);
    url.pathname = url.pathname.replace(/\/+$/, '') + path;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) params.set(name, String(value));
    }
    url.search = params.toString();
    url.hash = '';
    return url.href;
  }

  private async request(
    method: string,
    path: string,
    query: Query | undefined,
    body: unknown,
  ): Promise<unknown> {
    const url = this.urlOf(path, query);
    const headers: Record<string, string> = {
      accept: 'application/json',
      authorization: `Bearer ${this.bearer}`,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await this.fetchFn(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        // Never followed: a redirect would re-send the admin key and the body (credentials, for
        // `secret add`) to wherever it points.
        redirect: 'manual',
      });
      text = await response.text();
    } catch (err) {
      throw this.unreachable(err);
    }
    if (response.status >= 300 && response.status < 400) {
      const target = redirectTarget(response.headers.get('location'), url);
      throw new CliError(
        `The server answered a redirect (${response.status}) to ${target}, which tokenctl does not follow (it would send the key and the request there). If that address is the server, use it as --url or TOKENCTL_URL.`,
        { code: 'REDIRECT', exitCode: EXIT.SERVER_ERROR, status: response.status },
      );
    }
    const json = parseJson(text);
    if (!response.ok) throw serverError(response, json, text);
    if (text.trim() === '') return null;
    if (json === undefined) {
      throw new CliError(
        `The server answered ${response.status} with something that is not JSON: is ${displayUrl(this.base)} a token-server?`,
        { code: 'UNEXPECTED_RESPONSE', exitCode: EXIT.SERVER_ERROR, status: response.status },
      );
    }
    return json;
  }

  private unreachable(err: unknown): CliError {
    const where = this.base.origin;
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      return new CliError(`The server at ${where} did not answer within ${this.timeoutMs / 1000} s.`, {
        code: 'UNREACHABLE',
        exitCode: EXIT.UNREACHABLE,
        cause: err,
      });
    }
    const reason = networkReason(err);
    return new CliError(`Cannot reach the server at ${where}${reason === '' ? '' : `: ${reason}`}.`, {
      code: 'UNREACHABLE',
      exitCode: EXIT.UNREACHABLE,
      cause: err,
    });
  }
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * ECONNREFUSED, ENOTFOUND, ... from undici's `fetch failed`: the code (or, lacking one, the message)
 * of the innermost cause.
 */
function networkReason(err: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = err;
  let message = err instanceof Error ? err.message : String(err);
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    message = current.message;
    const inner = (current as { errors?: unknown }).errors;
    current = Array.isArray(inner) && inner[0] instanceof Error ? inner[0] : current.cause;
  }
  return message;
}

function serverError(response: Response, json: unknown, text: string): CliError {
  const status = response.status;
  const body = isRecord(json) && isRecord(json.error) ? json.error : undefined;
  const code = typeof body?.code === 'string' ? body.code : `HTTP_${status}`;
  let message =
    typeof body?.message === 'string'
      ? body.message
      : `The server answered ${status} ${response.statusText}`.trimEnd() +
        (text.trim() === '' || json !== undefined ? '.' : ' (not a token-server error body: check the URL).');
  const retryAfter = response.headers.get('retry-after');
  if (retryAfter !== null && retryAfter !== '') {
    message += /^\d+$/.test(retryAfter) ? ` Retry after ${retryAfter} s.` : ` Retry after ${retryAfter}.`;
  }
  const exitCode = exitCodeForServerError(status, code);
  if (exitCode === EXIT.UNREACHABLE) {
    message += ' Check the key (--admin-key / TOKENCTL_ADMIN_KEY, or --client-key / TOKENCTL_CLIENT_KEY).';
  }
  return new CliError(message, {
    code,
    exitCode,
    status,
    details: isRecord(body?.details) ? body.details : undefined,
  });
}
