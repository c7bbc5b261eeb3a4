/**
 * GET/POST /api/token → engine (or the edge cache on tokenServerCache). The only route whose body
 * carries a token.
 */
import { AppError } from '../../errors';
import type { ServedToken, TokenRequest } from '../../engine/engine';
import { answeredLifetimeMs } from '../../engine/served';
import { withReportAudit } from '../../ops/audit/report-context';
import { ID_PATTERN } from '../../providers/realm-facts';
import { parseOrThrow } from '../../validation';
import type { TokenGetter } from '../token-getter';
import type * as TokenRequestSchema from './token-request';
import type { TokenRequestFields } from './token-request';
import type { Reply, Route, RouteContext } from '../types';

/** The token request's schema, loaded when a request is not the plain one (plainQuery). */
function schema(): typeof TokenRequestSchema.tokenRequestSchema {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod on first use (README "Cold start")
  return (require('./token-request') as typeof TokenRequestSchema).tokenRequestSchema;
}

/** The last expires_at formatted: every hit on one token has the same one (its deadline). */
let lastExpiresAt = { ms: NaN, iso: '' };

function isoOf(ms: number): string {
  if (ms !== lastExpiresAt.ms) lastExpiresAt = { ms, iso: new Date(ms).toISOString() };
  return lastExpiresAt.iso;
}

/**
 * `now` is the instance's clock, which the served deadline is expressed in; `expires_at` is shifted
 * to the store's clock (the estimate from the read that found the token), so a skewed instance does
 * not name a skewed moment.
 */
export function tokenReply(served: ServedToken, now: number): Reply {
  const expiresIn = answeredLifetimeMs(served, now);
  return {
    body: {
      token: served.token,
      expires_in: expiresIn,
      expires_at: isoOf(now + served.storeOffsetMs + expiresIn),
      source: served.source,
      ...(served.outcome === undefined ? {} : { outcome: served.outcome }),
    },
  };
}

/**
 * The common request, `?realm=R&key=K` with two valid ids and nothing else, without zod: exactly
 * what the schema would return for it. Anything else (a body, flags, a bad id) goes through the
 * schema, whose 400s name the field. Benchmarked hot-path shape: guarded by the `npm run bench`
 * row "tokenServerCache memory hit" (bench/scenarios/hit-throughput.ts).
 */
function plainQuery(ctx: RouteContext): TokenRequestFields | undefined {
  const { query, body } = ctx.req;
  if (body !== undefined) return undefined;
  let fields = 0;
  for (const name in query) {
    if (name !== 'realm' && name !== 'key') return undefined;
    fields++;
  }
  const { realm, key } = query;
  if (fields !== 2 || realm === undefined || key === undefined) return undefined;
  return ID_PATTERN.test(realm) && ID_PATTERN.test(key) ? { realm, key } : undefined;
}

function input(ctx: RouteContext): unknown {
  const { req } = ctx;
  const hasQuery = Object.keys(req.query).length > 0;
  if (req.body !== undefined && hasQuery) {
    throw new AppError(
      'INVALID_ARGUMENT',
      'Give the token request either in the query string or in the JSON body, not both',
      {
        details: { field: 'query' },
      },
    );
  }
  return req.body !== undefined ? req.body : { ...req.query };
}

/**
 * The token route's handler. Benchmarked hot-path shape: a memory hit is answered synchronously
 * (Reply, not Promise<Reply>: no microtask per hit), guarded by the `npm run bench` row
 * "tokenServerCache memory hit" (bench/scenarios/hit-throughput.ts).
 */
function handler(getter: TokenGetter) {
  return (ctx: RouteContext): Reply | Promise<Reply> => {
    const body = plainQuery(ctx) ?? parseOrThrow(schema(), input(ctx));
    ctx.logFields.realm = body.realm;
    ctx.logFields.key = body.key;
    if (ctx.authorize === undefined) throw new AppError('INTERNAL', 'Token route without authorisation');
    ctx.authorize(body.realm, body.key);
    const request = {
      realm: body.realm,
      key: body.key,
      flush: body.flush === true,
      ...(body.invalid_token === undefined ? {} : { invalidToken: body.invalid_token }),
    };
    const answer = (served: ServedToken): Reply => {
      ctx.logFields.source = served.source;
      if (served.reason !== undefined) ctx.logFields.reason = served.reason;
      if (served.source === 'memory' || served.hit === true) ctx.logFields.hit = true;
      return tokenReply(served, ctx.runtime.clock.now());
    };
    const get = (r: TokenRequest): Promise<ServedToken> => getter.get(ctx.runtime, r);
    const hit = getter.peek(ctx.runtime, request);
    if (hit !== undefined) return answer(hit);
    const invalidToken = request.invalidToken;
    if (invalidToken !== undefined) {
      const current = (r: TokenRequest) => ctx.runtime.engine.getToken(r);
      return audited(ctx, request, () => reportInvalid(request, invalidToken, current, get)).then(answer);
    }
    if (request.flush) return audited(ctx, request, () => get(request)).then(answer);
    return get(request).then(answer);
  };
}

/**
 * A flush or report runs in its audit context: the commit that takes the refresh lease for it
 * carries its audit record (ops/audit/report-context.ts). The reported token appears only as an HMAC.
 */
function audited<T>(
  ctx: RouteContext,
  request: TokenRequest & { flush: boolean },
  work: () => Promise<T>,
): Promise<T> {
  const { principal, req, runtime } = ctx;
  const reported = request.invalidToken;
  const hashes =
    reported === undefined
      ? Promise.resolve([])
      : runtime.ops.auditKey.hasher().then((hash) => (hash === undefined ? [] : [hash(reported)]));
  return hashes.then((h) =>
    withReportAudit(
      {
        actor: principal?.kind === 'client' ? `client:${principal.client.id}` : 'admin',
        action: reported === undefined ? 'token.flush' : 'token.report',
        target: `${request.realm}/${request.key}`,
        requestId: req.requestId,
        hashes: h,
        realm: request.realm,
        key: request.key,
      },
      work,
    ),
  );
}

/**
 * An invalid_token report costs what a plain request to the store costs unless it names the token
 * being served: the store's current token is asked for first (one read, shared with every request
 * for the secret in flight), and only a report of that very token goes on to the report path (a
 * transaction, and perhaps a provider call). Any other value, an old token or one made up, is
 * answered with the current token, as the engine's report path would answer it, without more work.
 * (The memory cache is not asked: it may hold an older token than the store.)
 */
async function reportInvalid(
  request: TokenRequest,
  invalidToken: string,
  current: (r: TokenRequest) => Promise<ServedToken>,
  report: (r: TokenRequest) => Promise<ServedToken>,
): Promise<ServedToken> {
  let served: ServedToken | undefined;
  try {
    served = await current({ realm: request.realm, key: request.key });
  } catch {
    // No current token to compare with: the report path decides (and answers its own error).
  }
  if (served !== undefined && served.token !== invalidToken) return { ...served, outcome: 'newer' };
  return report(request);
}

/**
 * Route.readAhead: a plain request (plainQuery) that memory cannot answer starts its read while its
 * caller's client key is looked up (http/app.ts, a new instance's first requests).
 */
function readAhead(getter: TokenGetter) {
  return (ctx: RouteContext): void => {
    const q = plainQuery(ctx);
    if (q === undefined) return;
    if (getter.peek(ctx.runtime, { realm: q.realm, key: q.key }) !== undefined) return;
    ctx.runtime.engine.readAhead(q.realm, q.key);
  };
}

export function tokenRoutes(getter: TokenGetter): Route[] {
  const handle = handler(getter);
  return [
    { method: 'GET', pattern: '/api/token', auth: 'token', handle, readAhead: readAhead(getter) },
    { method: 'POST', pattern: '/api/token', auth: 'token', handle },
  ];
}
