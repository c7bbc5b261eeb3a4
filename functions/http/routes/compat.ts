/**
 * The WeChat-compatible routes (README "SDKs that only take a base URL"), for SDKs whose token URL can be set: the broker's client
 * key stands where the provider expects the app secret, and the answer is the provider's own format
 * (HTTP 200, errcode/errmsg, lifetimes in whole seconds):
 *
 *   GET  /wechat/:realm/:key/cgi-bin/token?grant_type=client_credential&appid=A&secret=CLIENT_KEY
 *   POST /wechat/:realm/:key/cgi-bin/stable_token   {"grant_type", "appid", "secret": CLIENT_KEY, "force_refresh"}
 *   GET  /wecom/:realm/:key/cgi-bin/gettoken?corpid=C&corpsecret=CLIENT_KEY
 *   GET  /wechat/:realm/:key/cgi-bin/ticket/getticket?type=jsapi&access_token=CLIENT_KEY or PARENT_TOKEN
 *   GET  /wecom/:realm/:key/cgi-bin/get_jsapi_ticket?access_token=CLIENT_KEY or PARENT_TOKEN
 *
 * They reach the engine as /api/token does (the edge cache on tokenServerCache). The client key is
 * checked by http/auth.ts, given to it as the bearer it would have come as; `appid`/`corpid` must be
 * the secret's key_1 (checked against a per-instance memory of it, so that a hit costs no read). The
 * ticket routes also take the ticket parent's current or just replaced token (authorizeTicket).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseParentRef } from '../../admin/secret-parent';
import type { ServedToken, TokenRequest } from '../../engine/engine';
import { isCurrentOrPrevious } from '../../token/previous-token';
import { answeredLifetimeMs } from '../../engine/served';
import { AppError } from '../../errors';
import { CLIENT_KEY_PREFIX } from '../../keys/keys';
import { ID_PATTERN } from '../../providers/realm-facts';
import type { Runtime } from '../../runtime';
import { assertInScope, authenticateAny, type Principal } from '../auth';
import { CompatError, compatErrorBody, compatErrorOf, type Dialect } from '../compat-errors';
import type { TokenGetter } from '../token-getter';
import type { Reply, Route, RouteContext } from '../types';

type Answer = 'access_token' | 'wecom_access_token' | 'ticket';

interface CompatCall {
  dialect: Dialect;
  answer: Answer;
  /** The client key, from where the provider expects the app secret (or the access token). */
  clientKey: string | undefined;
  /** The field that carried it, for the "missing" error. */
  clientKeyField: string;
  /** appid / corpid as given; undefined on the ticket routes (nothing to check). */
  appId?: { field: string; value: string | undefined };
  flush: boolean;
}

/** How long an instance trusts what it read of a secret's key_1 (like the edge cache's re-read). */
const SECRET_ID_TTL_MS = 30_000;
const SECRET_ID_MAX = 10_000;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

interface SecretFacts {
  /** The hash of the secret's key_1 (null: the secret has none). */
  idHash: Buffer | null;
  /** "REALM/KEY" of a ticket's parent. */
  parent: string | undefined;
}

/** Per runtime: realm/key → what the routes check of the secret (null: no such secret), until. */
const secretFacts = new WeakMap<Runtime, Map<string, { facts: SecretFacts | null; until: number }>>();

async function factsOf(runtime: Runtime, realm: string, key: string): Promise<SecretFacts | null> {
  let cache = secretFacts.get(runtime);
  if (cache === undefined) {
    cache = new Map();
    secretFacts.set(runtime, cache);
  }
  const id = `${realm}\u0000${key}`;
  const now = runtime.clock.now();
  const hit = cache.get(id);
  if (hit !== undefined && hit.until > now) return hit.facts;
  const secret = await runtime.store.getSecret(realm, key);
  const keyOne = secret?.values.key_1;
  const facts =
    secret === null ? null : { idHash: keyOne === undefined ? null : sha256(keyOne), parent: secret.parent };
  if (cache.size >= SECRET_ID_MAX) cache.clear();
  cache.set(id, { facts, until: now + SECRET_ID_TTL_MS });
  return facts;
}

async function secretIdHash(runtime: Runtime, realm: string, key: string): Promise<Buffer | null> {
  const facts = await factsOf(runtime, realm, key);
  if (facts === null) throw new CompatError(40013, `invalid appid: the broker has no secret ${realm}/${key}`);
  return facts.idHash;
}

/**
 * Whether `given` is the current token of the ticket secret's parent, or the one it replaced while
 * that is still alive (token/previous-token.ts), judged by the store's time of the read. Costs a
 * read of the parent's token document (the secret's parent is remembered per instance), never a
 * write or a provider call.
 */
async function holdsParentToken(
  runtime: Runtime,
  realm: string,
  key: string,
  given: string,
): Promise<boolean> {
  const parent = (await factsOf(runtime, realm, key))?.parent;
  if (parent === undefined) return false;
  const ref = parseParentRef(parent);
  const { state, now } = await runtime.store.readTokenState(ref.realm, ref.key);
  return state !== null && isCurrentOrPrevious(state, given, now);
}

/**
 * The ticket routes take a client key scoped to the ticket secret or, as an SDK sends it, the
 * parent's access token. A value that is neither: a client key's shape gets the wrong-key answer
 * of the other routes; anything else WeChat's own answer to a dead token (40001), on which an SDK
 * fetches a new token and asks again.
 */
async function authorizeTicket(ctx: RouteContext, realm: string, key: string, given: string): Promise<void> {
  let principal: Principal;
  try {
    principal = await principalOf(ctx, given);
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'UNAUTHENTICATED') throw err;
    if (await holdsParentToken(ctx.runtime, realm, key, given)) return;
    if (given.startsWith(CLIENT_KEY_PREFIX)) throw err;
    throw new CompatError(
      40001,
      `invalid credential, access_token is invalid or not latest: this is the token broker ` +
        `(token-server), where access_token must be a client key of the broker or the current ` +
        `access token of the ticket's parent, and the one given is neither`,
    );
  }
  assertInScope(principal, realm, key);
}

export function principalOf(ctx: RouteContext, clientKey: string): Principal | Promise<Principal> {
  // auth.ts reads the client key from Authorization: hand it over as the bearer it would have been.
  const asBearer = { ...ctx.req, headers: { authorization: `Bearer ${clientKey}` } };
  return authenticateAny(asBearer, ctx.runtime);
}

/** {realm}/{key} of a compat path, by the rule of realm ids and secret keys (providers/realm-facts.ts). */
export function pathNames(ctx: RouteContext): { realm: string; key: string } {
  const { realm, key } = ctx.req.params;
  for (const [field, value] of [
    ['realm', realm],
    ['key', key],
  ] as const) {
    if (value === undefined || !ID_PATTERN.test(value)) {
      throw new CompatError(40097, `invalid args: the path's ${field} is not a valid realm/key name`);
    }
  }
  return { realm: realm ?? '', key: key ?? '' };
}

function successBody(answer: Answer, served: ServedToken, now: number): Record<string, unknown> {
  const expiresIn = Math.floor(answeredLifetimeMs(served, now) / 1000);
  switch (answer) {
    case 'access_token':
      return { access_token: served.token, expires_in: expiresIn };
    case 'wecom_access_token':
      return { errcode: 0, errmsg: 'ok', access_token: served.token, expires_in: expiresIn };
    case 'ticket':
      return { errcode: 0, errmsg: 'ok', ticket: served.token, expires_in: expiresIn };
  }
}

async function serve(ctx: RouteContext, call: CompatCall, getter: TokenGetter): Promise<Reply> {
  const { realm, key } = pathNames(ctx);
  ctx.logFields.realm = realm;
  ctx.logFields.key = key;
  if (call.clientKey === undefined || call.clientKey === '') {
    const code = call.clientKeyField === 'access_token' ? 41001 : 41004;
    throw new CompatError(code, `${call.clientKeyField} missing: give the broker's client key there`);
  }
  if (call.appId !== undefined && (call.appId.value === undefined || call.appId.value === '')) {
    throw new CompatError(41002, `${call.appId.field} missing`);
  }
  if (call.answer === 'ticket') await authorizeTicket(ctx, realm, key, call.clientKey);
  else assertInScope(await principalOf(ctx, call.clientKey), realm, key);
  if (call.appId?.value !== undefined) {
    const expected = await secretIdHash(ctx.runtime, realm, key);
    if (expected !== null && !timingSafeEqual(sha256(call.appId.value), expected)) {
      throw new CompatError(
        40013,
        `invalid ${call.appId.field}: it is not the ${call.appId.field} of ${realm}/${key}`,
      );
    }
  }
  const request: TokenRequest = { realm, key, flush: call.flush };
  const served = getter.peek(ctx.runtime, request) ?? (await getter.get(ctx.runtime, request));
  ctx.logFields.source = served.source;
  return { body: successBody(call.answer, served, ctx.runtime.clock.now()) };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function compatRoute(
  method: 'GET' | 'POST',
  pattern: string,
  dialect: Dialect,
  parse: (ctx: RouteContext) => CompatCall,
  getter: TokenGetter,
): Route {
  return {
    method,
    pattern,
    // Authenticated inside: the client key comes in a query or body field, not in Authorization.
    auth: 'none',
    handle: async (ctx) => {
      try {
        return await serve(ctx, parse(ctx), getter);
      } catch (err) {
        const where = `${ctx.req.params.realm ?? '?'}/${ctx.req.params.key ?? '?'}`;
        return { body: compatErrorBody(compatErrorOf(err, dialect, where), ctx.req.requestId) };
      }
    },
  };
}

function wechatToken(ctx: RouteContext): CompatCall {
  const q = ctx.req.query;
  if (q.grant_type !== 'client_credential') throw new CompatError(40002, 'invalid grant_type');
  return {
    dialect: 'wechat',
    answer: 'access_token',
    clientKey: q.secret,
    clientKeyField: 'secret',
    appId: { field: 'appid', value: q.appid },
    flush: false,
  };
}

function wechatStableToken(ctx: RouteContext): CompatCall {
  const body = ctx.req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CompatError(47001, 'data format error: the body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  if (b.grant_type !== 'client_credential') throw new CompatError(40002, 'invalid grant_type');
  if (b.force_refresh !== undefined && typeof b.force_refresh !== 'boolean') {
    throw new CompatError(47001, 'data format error: force_refresh must be true or false');
  }
  return {
    dialect: 'wechat',
    answer: 'access_token',
    clientKey: str(b.secret),
    clientKeyField: 'secret',
    appId: { field: 'appid', value: str(b.appid) },
    flush: b.force_refresh === true,
  };
}

function wecomToken(ctx: RouteContext): CompatCall {
  const q = ctx.req.query;
  return {
    dialect: 'wecom',
    answer: 'wecom_access_token',
    clientKey: q.corpsecret,
    clientKeyField: 'corpsecret',
    appId: { field: 'corpid', value: q.corpid },
    flush: false,
  };
}

function ticket(dialect: Dialect) {
  return (ctx: RouteContext): CompatCall => {
    const q = ctx.req.query;
    if (dialect === 'wechat' && q.type !== 'jsapi') {
      throw new CompatError(40097, 'invalid args: type must be jsapi');
    }
    return {
      dialect,
      answer: 'ticket',
      clientKey: q.access_token,
      clientKeyField: 'access_token',
      flush: false,
    };
  };
}

/** The compat routes; on tokenServerCache through its edge cache (edgeCacheGetter). */
export function compatRoutes(getter: TokenGetter): Route[] {
  return [
    compatRoute('GET', '/wechat/:realm/:key/cgi-bin/token', 'wechat', wechatToken, getter),
    compatRoute('POST', '/wechat/:realm/:key/cgi-bin/stable_token', 'wechat', wechatStableToken, getter),
    compatRoute('GET', '/wecom/:realm/:key/cgi-bin/gettoken', 'wecom', wecomToken, getter),
    compatRoute('GET', '/wechat/:realm/:key/cgi-bin/ticket/getticket', 'wechat', ticket('wechat'), getter),
    compatRoute('GET', '/wecom/:realm/:key/cgi-bin/get_jsapi_ticket', 'wecom', ticket('wecom'), getter),
  ];
}
