/**
 * TokenClient: an app's handle on one secret of the broker. Tokens are cached in memory until their
 * deadline, counted from the moment the request was sent (an answer that took 3 s to arrive does not
 * stretch the token's life by 3 s); concurrent calls share one request; 503 and 429 answers are
 * retried after their Retry-After while the wait budget lasts; reportInvalid turns "the provider
 * rejected this token" into one refresh at the broker for every app.
 */
import { saysTokenInvalid, TokenClientError } from './errors';

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; signal?: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface TokenClientOptions {
  /** The function URL (tokenServerCache, or tokenServer), e.g. https://REGION-PROJECT.cloudfunctions.net/tokenServerCache */
  url: string;
  clientKey: string;
  realm: string;
  key: string;
  /** One request's time limit. Default 10 s. */
  timeoutMs?: number;
  /** How long Retry-After waits and transport retries may add up to per call. Default 30 s. */
  maxWaitMs?: number;
  /** A cached token is renewed this long before its deadline (at most half its lifetime). Default 5 s. */
  refreshMarginMs?: number;
  /** Injected for tests: the HTTP call (default: global fetch), the clock and the sleep. */
  fetch?: FetchLike;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface TokenInfo {
  token: string;
  /** Epoch ms (this process's clock): the request's send time plus the lifetime the broker granted. */
  expiresAt: number;
  /** What the broker said about the token: memory, database or upstream. */
  source: string;
  /** On reportInvalid: refreshed, newer or unchanged (as the broker said it). */
  outcome?: string;
}

interface Cached extends TokenInfo {
  sentAt: number;
  /** Order of the request that produced it: an older request's late answer never replaces it. */
  seq: number;
}

/** The fields a page gives `wx.config` (with its own appId and jsApiList). */
export interface JssdkConfig {
  timestamp: number;
  nonceStr: string;
  signature: string;
  /** The URL that was signed. */
  url: string;
}

/** One broker answer, parsed. */
interface Answer {
  status: number;
  body: unknown;
  retryAfterMs: number | undefined;
}

/** One request's outcome: a value, or an error with the wait before trying again (none: give up). */
type Attempt<T> = { info: T } | { error: TokenClientError; waitMs: number | undefined };

type Mode = { kind: 'get' } | { kind: 'flush' } | { kind: 'invalid'; token: string };

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_WAIT_MS = 30_000;
const DEFAULT_MARGIN_MS = 5_000;
/** Wait before retrying a failed connection or a 503 without Retry-After. */
const TRANSPORT_RETRY_MS = 500;
const REJECTED_KEPT = 32;

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function defaultFetch(): FetchLike {
  if (typeof globalThis.fetch !== 'function') {
    throw new Error('TokenClient needs a global fetch (Node 18 or later) or the fetch option');
  }
  return (url, init) => globalThis.fetch(url, init);
}

/** Retry-After (seconds or an HTTP date) in milliseconds from now, or undefined. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

export class TokenClient {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly timeoutMs: number;
  private readonly maxWaitMs: number;
  private readonly marginMs: number;
  private cached: Cached | undefined;
  private seq = 0;
  private readonly inflight = new Map<string, Promise<TokenInfo>>();
  /** Tokens reported as rejected (most recent last): never cached again. */
  private readonly rejected: string[] = [];

  constructor(private readonly options: TokenClientOptions) {
    for (const name of ['url', 'clientKey', 'realm', 'key'] as const) {
      if (typeof options[name] !== 'string' || options[name] === '') {
        throw new TypeError(`TokenClient: option ${name} is required (a non-empty string)`);
      }
    }
    this.base = options.url.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? defaultFetch();
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? defaultSleep;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.marginMs = options.refreshMarginMs ?? DEFAULT_MARGIN_MS;
  }

  /** The token to use now. `flush: true` asks the broker for a token fetched from the provider now. */
  async getToken(options: { flush?: boolean } = {}): Promise<string> {
    return (await this.getTokenInfo(options)).token;
  }

  /** getToken with the token's expiry (for SDK hooks that want one) and the broker's source. */
  getTokenInfo(options: { flush?: boolean } = {}): Promise<TokenInfo> {
    if (options.flush !== true) {
      const hit = this.usableCached();
      if (hit !== undefined) return Promise.resolve(hit);
    }
    return this.shared(options.flush === true ? { kind: 'flush' } : { kind: 'get' });
  }

  /**
   * The provider rejected `token`: tell the broker (one refresh for everybody) and get the token to
   * use now. A token this client already replaced is answered from the cache, without a request.
   */
  async reportInvalid(token: string): Promise<string> {
    return (await this.reportInvalidInfo(token)).token;
  }

  reportInvalidInfo(token: string): Promise<TokenInfo> {
    if (typeof token !== 'string' || token === '') {
      return Promise.reject(new TypeError('reportInvalid: give the token the provider rejected'));
    }
    this.remember(token);
    const hit = this.usableCached();
    if (hit !== undefined && hit.token !== token) return Promise.resolve(hit);
    return this.shared({ kind: 'invalid', token });
  }

  /**
   * Calls fn(token). When fn throws, or returns, an object whose errcode (or code) says the token is
   * invalid or expired (40001, 40014, 42001), reports it and calls fn once more with the new token.
   */
  async withToken<T>(fn: (token: string) => T | Promise<T>): Promise<T> {
    const token = await this.getToken();
    let result: T;
    try {
      result = await fn(token);
    } catch (err) {
      if (!saysTokenInvalid(err)) throw err;
      return fn(await this.reportInvalid(token));
    }
    if (!saysTokenInvalid(result)) return result;
    return fn(await this.reportInvalid(token));
  }

  /** Forget the cached token (the next call asks the broker). */
  clear(): void {
    this.cached = undefined;
  }

  private usableCached(): Cached | undefined {
    const c = this.cached;
    if (c === undefined) return undefined;
    const margin = Math.min(this.marginMs, (c.expiresAt - c.sentAt) / 2);
    return this.now() < c.expiresAt - margin ? c : undefined;
  }

  private remember(token: string): void {
    if (this.rejected.includes(token)) return;
    this.rejected.push(token);
    if (this.rejected.length > REJECTED_KEPT) this.rejected.shift();
  }

  private shared(mode: Mode): Promise<TokenInfo> {
    const id = mode.kind === 'invalid' ? `invalid\u0000${mode.token}` : mode.kind;
    const existing = this.inflight.get(id);
    if (existing !== undefined) return existing;
    const started = this.run(mode).finally(() => this.inflight.delete(id));
    this.inflight.set(id, started);
    return started;
  }

  /** One call: requests until an answer, retrying 503/429 (Retry-After) and transport failures in the wait budget. */
  private async run(mode: Mode): Promise<TokenInfo> {
    let seq = 0;
    let sentAt = 0;
    const info = await this.retrying(() => {
      seq = ++this.seq;
      sentAt = this.now();
      return this.requestOnce(mode, sentAt);
    });
    return this.accept(info, sentAt, seq);
  }

  /** Calls `once` until it answers, waiting out 503/429 and transport failures within maxWaitMs. */
  private async retrying<T>(once: () => Promise<Attempt<T>>): Promise<T> {
    const giveUpAt = this.now() + this.maxWaitMs;
    for (;;) {
      let outcome: Attempt<T>;
      try {
        outcome = await once();
      } catch (err) {
        const transport =
          err instanceof TokenClientError && (err.code === 'NETWORK' || err.code === 'TIMEOUT');
        if (!transport) throw err;
        outcome = { error: err, waitMs: TRANSPORT_RETRY_MS };
      }
      if ('info' in outcome) return outcome.info;
      const { error, waitMs } = outcome;
      if (waitMs === undefined || this.now() + waitMs > giveUpAt) throw error;
      await this.sleep(waitMs);
    }
  }

  /**
   * The JS-SDK `wx.config` fields for a page (GET /api/jssdk/signature): `ticket` names the ticket
   * secret (e.g. of preset wechat_jsapi_ticket), by default this client's realm/key. `url` is the
   * page's address without its `#` fragment (the part after `#` is dropped here). The ticket itself
   * never reaches the app. 503/429 are retried as token calls are.
   */
  jssdkConfig(url: string, ticket: { realm: string; key: string } = this.options): Promise<JssdkConfig> {
    if (typeof url !== 'string' || url === '') {
      return Promise.reject(new TypeError('jssdkConfig: give the page URL (location.href without its #)'));
    }
    const query = new URLSearchParams({
      realm: ticket.realm,
      key: ticket.key,
      url: url.split('#')[0] ?? url,
    });
    return this.retrying(async () => {
      const answer = await this.send('/api/jssdk/signature', query);
      if (answer.status !== 200) return this.failure(answer);
      return { info: jssdkConfigOf(answer.body) };
    });
  }

  private accept(info: TokenInfo, sentAt: number, seq: number): TokenInfo {
    const current = this.cached;
    const stale =
      current !== undefined &&
      this.usableCached() !== undefined &&
      (current.seq > seq || this.rejected.includes(info.token)) &&
      current.token !== info.token;
    if (stale) return current;
    this.cached = { ...info, sentAt, seq };
    return info;
  }

  private async requestOnce(mode: Mode, sentAt: number): Promise<Attempt<TokenInfo>> {
    const query = new URLSearchParams({ realm: this.options.realm, key: this.options.key });
    if (mode.kind === 'flush') query.set('flush', 'true');
    if (mode.kind === 'invalid') query.set('invalid_token', mode.token);
    const answer = await this.send('/api/token', query);
    if (answer.status === 200) return { info: this.tokenOf(answer.body, sentAt) };
    return this.failure(answer);
  }

  /** One GET to the broker with the client key: the status, the parsed body, Retry-After. */
  private async send(path: string, query: URLSearchParams): Promise<Answer> {
    let res: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      res = await this.fetchImpl(`${this.base}${path}?${query.toString()}`, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.options.clientKey}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new TokenClientError(
        timedOut
          ? `The broker did not answer within ${this.timeoutMs} ms`
          : `The broker could not be reached (${err instanceof Error ? err.message : String(err)})`,
        { status: 0, code: timedOut ? 'TIMEOUT' : 'NETWORK' },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = undefined;
    }
    return {
      status: res.status,
      body,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), this.now()),
    };
  }

  /** A non-200 answer: the error, and how long to wait before asking again (503/429 only). */
  private failure(answer: Answer): { error: TokenClientError; waitMs: number | undefined } {
    const { status, retryAfterMs } = answer;
    const error = errorOf(status, answer.body, retryAfterMs);
    const retryable = status === 503 || status === 429;
    const waitMs = retryable
      ? (retryAfterMs ?? (status === 503 ? TRANSPORT_RETRY_MS : undefined))
      : undefined;
    return { error, waitMs };
  }

  private tokenOf(body: unknown, sentAt: number): TokenInfo {
    const answer = (body ?? {}) as {
      token?: unknown;
      expires_in?: unknown;
      source?: unknown;
      outcome?: unknown;
    };
    if (typeof answer.token !== 'string' || answer.token === '' || typeof answer.expires_in !== 'number') {
      throw new TokenClientError('The broker answered 200 without a token and expires_in', {
        status: 200,
        code: 'BAD_ANSWER',
      });
    }
    return {
      token: answer.token,
      expiresAt: sentAt + Math.max(0, answer.expires_in),
      source: typeof answer.source === 'string' ? answer.source : 'unknown',
      ...(typeof answer.outcome === 'string' ? { outcome: answer.outcome } : {}),
    };
  }
}

function errorOf(status: number, body: unknown, retryAfterMs: number | undefined): TokenClientError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  const code = typeof e?.code === 'string' ? e.code : `HTTP_${status}`;
  const message = typeof e?.message === 'string' ? e.message : `The broker answered HTTP ${status}`;
  const details =
    e?.details !== null && typeof e?.details === 'object'
      ? (e.details as Record<string, unknown>)
      : undefined;
  return new TokenClientError(`${message} (${code}, HTTP ${status})`, {
    status,
    code,
    ...(details === undefined ? {} : { details }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

function jssdkConfigOf(body: unknown): JssdkConfig {
  const a = (body ?? {}) as Record<string, unknown>;
  const { timestamp, nonceStr, signature, url } = a;
  if (
    typeof timestamp !== 'number' ||
    typeof nonceStr !== 'string' ||
    typeof signature !== 'string' ||
    typeof url !== 'string'
  ) {
    throw new TokenClientError('The broker answered 200 without timestamp, nonceStr, signature and url', {
      status: 200,
      code: 'BAD_ANSWER',
    });
  }
  return { timestamp, nonceStr, signature, url };
}
