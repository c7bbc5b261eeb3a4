/**
 * One upstream call for one token: build the request, pass the SSRF guard, call the provider through
 * gaxios with a hard deadline and a response size cap, and read the answer. Exactly one attempt: the
 * engine decides about retries (only transient ProviderFailures are worth one).
 *
 * How gaxios 7 is used, and why:
 * - gaxios' `timeout` becomes an AbortSignal for the whole exchange, but a node-fetch abort surfaces as
 *   a generic AbortError; we run our own timer and AbortController instead (and race it, so that even a
 *   step that ignores the signal, such as a DNS lookup, cannot outlive the deadline). A body that
 *   trickles in byte by byte is cut off at the deadline like a silent server.
 * - `maxContentLength` is checked against Content-Length and, for chunked bodies, while reading (node-
 *   fetch's `size`, counted after decompression); both become a permanent "response too large".
 * - `redirect: 'manual'` (and maxRedirects 0): a redirect is answered as a permanent error, never
 *   followed (following one could leave the checked host).
 * - `retry: false`; `validateStatus: () => true` so that every status reaches extractToken.
 * - our own http(s).Agent on every call: pinned to the address the guard checked, no keep-alive, and no
 *   HTTP(S)_PROXY (a proxy would resolve the host itself and defeat the guard). It is destroyed after
 *   the call, which also closes a socket that a hanging server keeps open.
 * - gaxios error messages contain the request URL (and with it query-string credentials): they are never
 *   passed on; errors are rebuilt from their codes.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { request, type GaxiosResponse } from 'gaxios';
import { AppError } from '../errors';
import { extractToken, type ExtractedToken } from './extract';
import { ProviderFailure } from './failure';
import type { RealmConfig } from './realm-config';
import { buildRequest, type BuiltRequest } from './request';
import { cleanProviderText, redactorFor } from './redact';
import type { SecretValues } from './template';
import { assertUpstreamAllowed, pinnedLookup, type ResolveAll, type UpstreamTarget } from './url-guard';

/** Largest response body read from a provider. */
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface FetchTokenOptions {
  /** TOKEN_SERVER_ALLOW_PRIVATE_UPSTREAMS: http:// and private addresses allowed, no DNS pinning. */
  allowPrivate: boolean;
  /** An upper bound for this attempt (e.g. the engine's remaining budget); config.timeout_ms applies too. */
  timeoutMs?: number;
  /** Cancels the call (reported as a transient failure, reason 'aborted'). */
  signal?: AbortSignal;
  /** DNS resolution for the guard (tests). */
  resolve?: ResolveAll;
}

/** Rejection marker for the deadline race (never leaves this module). */
const ABORTED = new Error('aborted');

let fetchLoaded: Promise<void> | undefined;
/**
 * Gaxios loads node-fetch (an ES module) on its first request, asynchronously: during that load a
 * deadline could pass unseen by the check before the fetch (see sendUpstream). A `data:` URL makes
 * it load without any network; every call waits for that once.
 */
function loadFetch(): Promise<void> {
  fetchLoaded ??= request({ url: 'data:,', responseType: 'text', retry: false }).then(
    () => undefined,
    () => undefined,
  );
  return fetchLoaded;
}

/**
 * Has gaxios load node-fetch now (a `data:` URL: no network), so that a first provider call does
 * not wait for it (about 45 ms here). Called by an idle instance and a first miss
 * (upstream-on-first-call.ts loadUpstream).
 */
export function warmFetch(): void {
  void loadFetch();
}

function agentFor(target: UpstreamTarget): http.Agent {
  const options: http.AgentOptions = { keepAlive: false };
  if (target.address !== undefined) options.lookup = pinnedLookup(target.address, target.family ?? 4);
  return target.url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
}

interface ErrorLike {
  code?: unknown;
  type?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Walks an error's cause chain (gaxios wraps node-fetch's FetchError, which wraps the system error). */
function causes(err: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && chain.length < 5) {
    chain.push(current);
    current = (current as ErrorLike).cause;
  }
  return chain;
}

function failureFromError(err: unknown, host: string): ProviderFailure {
  const chain = causes(err);
  const tooLarge = chain.some(
    (e) =>
      e.type === 'max-size' ||
      (typeof e.message === 'string' && e.message.includes('`Content-Length` is over the limit')),
  );
  if (tooLarge) {
    return new ProviderFailure({
      kind: 'permanent',
      reason: 'too_large',
      message: `Upstream ${host} answered a response too large (over ${MAX_RESPONSE_BYTES} bytes)`,
    });
  }
  if (chain.some((e) => e.type === 'max-redirect' || e.type === 'no-redirect')) {
    return new ProviderFailure({
      kind: 'permanent',
      reason: 'redirect',
      message: `Upstream ${host} answered with a redirect, which is not followed`,
    });
  }
  const code = chain
    .map((e) => e.code)
    .find((c): c is string => typeof c === 'string' && /^[A-Z0-9_]+$/.test(c));
  return new ProviderFailure({
    kind: 'transient',
    reason: 'network',
    message: `Upstream request to ${host} failed${code === undefined ? '' : ` (${code})`}`,
  });
}

/**
 * Fetches one token from the realm's provider with the secret's values: {token, lifetimeMs}.
 * Throws:
 * - ProviderFailure (UPSTREAM_ERROR 502 / UPSTREAM_TIMEOUT 504), `kind` transient or permanent;
 * - AppError INVALID_ARGUMENT when the secret lacks a referenced key, or the upstream URL is refused
 *   by the guard (both permanent: retrying cannot help).
 */
export async function fetchToken(
  config: RealmConfig,
  values: SecretValues,
  options: FetchTokenOptions,
): Promise<ExtractedToken> {
  const timeoutMs = Math.max(1, Math.floor(Math.min(config.timeout_ms, options.timeoutMs ?? Infinity)));
  const built = buildRequest(config, values);
  const redact = redactorFor(config, values);
  const response = await sendUpstream(built, { ...options, timeoutMs });
  try {
    return extractToken(config, response.status, response.text);
  } catch (err) {
    if (err instanceof ProviderFailure) throw err.redacted((t, max) => cleanProviderText(t, redact, max));
    throw err;
  }
}

/**
 * One built request to a provider, as described at the top: the guard, a hard deadline of
 * options.timeoutMs, the size cap, no redirects. Answers the status and the body text; failures to
 * get an answer are ProviderFailures (or the guard's AppError). Also used for realm probes.
 */
export async function sendUpstream(
  built: BuiltRequest,
  options: FetchTokenOptions,
): Promise<{ status: number; text: string }> {
  const timeoutMs = Math.max(1, Math.floor(options.timeoutMs ?? 5000));
  let host = '(upstream)';
  try {
    host = new URL(built.url).host;
  } catch {
    // the schema guarantees a URL; the guard reports it otherwise
  }

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const cancel = (): void => controller.abort();
  if (options.signal?.aborted === true) controller.abort();
  options.signal?.addEventListener('abort', cancel, { once: true });
  const deadline = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(ABORTED), { once: true });
  });
  const held: { agent?: http.Agent } = {};

  let response: GaxiosResponse<string>;
  try {
    const work = (async () => {
      const target = await assertUpstreamAllowed(built.url, {
        allowPrivate: options.allowPrivate,
        ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
      });
      await loadFetch();
      if (controller.signal.aborted) throw ABORTED;
      const agent = agentFor(target);
      held.agent = agent;
      return request<string>({
        url: target.url.toString(),
        method: built.method,
        headers: built.headers,
        ...(built.body === undefined ? {} : { data: built.body }),
        responseType: 'text',
        validateStatus: () => true,
        redirect: 'manual',
        maxRedirects: 0,
        maxContentLength: MAX_RESPONSE_BYTES,
        retry: false,
        agent,
        signal: controller.signal,
        // node-fetch, given a signal already aborted, destroys the request's body stream with no
        // listener on it: an uncaught exception that ends the process. Gaxios awaits between here
        // and the fetch, so the signal is checked again right before it (only microtasks, which no
        // timer can cut into, separate that check from the fetch, node-fetch being loaded).
        adapter: (opts, send) => (controller.signal.aborted ? Promise.reject(ABORTED) : send(opts)),
      });
    })();
    // When the deadline wins the race, `work` still rejects later (gaxios' "The operation was
    // aborted."): handled here, or it would be an unhandled rejection that ends the process.
    void work.catch(() => undefined);
    response = await Promise.race([work, deadline]);
  } catch (err) {
    if (timedOut) {
      throw new ProviderFailure({
        code: 'UPSTREAM_TIMEOUT',
        kind: 'transient',
        reason: 'timeout',
        message: `Upstream ${host} did not answer within ${timeoutMs} ms`,
      });
    }
    if (err === ABORTED || controller.signal.aborted) {
      throw new ProviderFailure({
        kind: 'transient',
        reason: 'aborted',
        message: `The call to upstream ${host} was cancelled`,
      });
    }
    if (err instanceof AppError) throw err;
    throw failureFromError(err, host);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', cancel);
    held.agent?.destroy();
  }

  const text = typeof response.data === 'string' ? response.data : '';
  if (Buffer.byteLength(text, 'utf8') > MAX_RESPONSE_BYTES) {
    throw new ProviderFailure({
      kind: 'permanent',
      reason: 'too_large',
      message: `Upstream ${host} answered a response too large (over ${MAX_RESPONSE_BYTES} bytes)`,
      httpStatus: response.status,
    });
  }
  return { status: response.status, text };
}
