/**
 * WeChat-compatible routes of the Open Platform (README "Third-party platforms (WeChat Open Platform)", step 5), for SDKs that fetch the
 * component and authorizer tokens themselves (WxJava open, EasyWeChat OpenPlatform) and can change
 * their base URL. `{realm}/{key}` names the component secret; answers are WeChat's format (HTTP
 * 200, errcode/errmsg, lifetimes in whole seconds):
 *
 *   POST /wechat-open/:realm/:key/cgi-bin/component/api_component_token
 *        {"component_appid", "component_appsecret": CLIENT_KEY, "component_verify_ticket" (ignored)}
 *        → {"component_access_token", "expires_in"}
 *   POST /wechat-open/:realm/:key/cgi-bin/component/api_authorizer_token?component_access_token=T
 *        {"component_appid", "authorizer_appid", "authorizer_refresh_token" (ignored)}
 *        → {"authorizer_access_token", "expires_in", "authorizer_refresh_token": PLACEHOLDER}
 *
 * T is a client key whose scope covers the authorizer secret, or the component's current token (or
 * the one it just replaced, still served): whoever holds that can fetch any of its authorizers'
 * tokens from WeChat anyway. The refresh token answered is a placeholder: the real one never leaves
 * the broker, so no SDK can rotate it behind the broker's back.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { answeredLifetimeMs } from '../../engine/served';
import { AppError } from '../../errors';
import { validAppid } from '../../platforms/authorizer-secrets';
import { requireAuthorizerRealm } from '../../platforms/authorizer-realm';
import { isCurrentOrPrevious } from '../../token/previous-token';
import { assertInScope } from '../auth';
import { CompatError, compatErrorBody, compatErrorOf } from '../compat-errors';
import type { Reply, Route, RouteContext } from '../types';
import { pathNames, principalOf } from './compat';

/** What api_authorizer_token answers in place of the refresh token (SDKs store it and send it back). */
export const PLACEHOLDER_REFRESH_TOKEN = 'refreshtoken@token-server:ignored';

function bodyOf(ctx: RouteContext): Record<string, unknown> {
  const body = ctx.req.body;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new CompatError(47001, 'data format error: the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function field(body: Record<string, unknown>, name: string, code: number): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new CompatError(code, `${name} missing`);
  return value;
}

function sameText(a: string, b: string): boolean {
  const h = (t: string) => createHash('sha256').update(t, 'utf8').digest();
  return timingSafeEqual(h(a), h(b));
}

/** The component secret named by the path; its key_1 must be the component_appid given. */
async function componentOf(ctx: RouteContext, appid: string) {
  const { realm, key } = pathNames(ctx);
  ctx.logFields.realm = realm;
  ctx.logFields.key = key;
  const secret = await ctx.runtime.store.getSecret(realm, key);
  if (secret === null)
    throw new CompatError(40013, `invalid appid: the broker has no secret ${realm}/${key}`);
  const own = secret.values.key_1;
  if (own === undefined || !sameText(own, appid)) {
    throw new CompatError(40013, `invalid component_appid: it is not the component_appid of ${realm}/${key}`);
  }
  return secret;
}

function compatOpenRoute(pattern: string, handle: (ctx: RouteContext) => Promise<Reply>): Route {
  return {
    method: 'POST',
    pattern,
    // Authenticated inside: the client key comes in a body or query field, not in Authorization.
    auth: 'none',
    handle: async (ctx) => {
      try {
        return await handle(ctx);
      } catch (err) {
        const where = `${ctx.req.params.realm ?? '?'}/${ctx.req.params.key ?? '?'}`;
        return { body: compatErrorBody(compatErrorOf(err, 'wechat', where), ctx.req.requestId) };
      }
    },
  };
}

const componentToken = compatOpenRoute(
  '/wechat-open/:realm/:key/cgi-bin/component/api_component_token',
  async (ctx) => {
    const body = bodyOf(ctx);
    const clientKey = field(body, 'component_appsecret', 41004);
    const appid = field(body, 'component_appid', 41002);
    const { realm, key } = pathNames(ctx);
    assertInScope(await principalOf(ctx, clientKey), realm, key);
    await componentOf(ctx, appid);
    const served = await ctx.runtime.engine.getToken({ realm, key });
    ctx.logFields.source = served.source;
    const expiresIn = Math.floor(answeredLifetimeMs(served, ctx.runtime.clock.now()) / 1000);
    return { body: { component_access_token: served.token, expires_in: expiresIn } };
  },
);

/**
 * Whether `given` is the component's current (or just replaced, still served) token, judged at the
 * store's time of the read: a read, never a write or a provider call.
 */
async function holdsComponentToken(
  ctx: RouteContext,
  realm: string,
  key: string,
  given: string,
): Promise<boolean> {
  const { state, now } = await ctx.runtime.store.readTokenState(realm, key);
  return state !== null && isCurrentOrPrevious(state, given, now);
}

const authorizerToken = compatOpenRoute(
  '/wechat-open/:realm/:key/cgi-bin/component/api_authorizer_token',
  async (ctx) => {
    const given = ctx.req.query.component_access_token;
    if (given === undefined || given === '') throw new CompatError(41001, 'component_access_token missing');
    const body = bodyOf(ctx);
    const appid = field(body, 'component_appid', 41002);
    const authorizer = field(body, 'authorizer_appid', 41002);
    const { realm, key } = pathNames(ctx);
    const component = await componentOf(ctx, appid);
    if (!validAppid(authorizer)) throw new CompatError(40013, 'invalid authorizer_appid');
    let authRealm: string;
    try {
      authRealm = requireAuthorizerRealm(component);
    } catch (err) {
      if (err instanceof AppError) throw new CompatError(40013, `${realm}/${key} keeps no authorizers`);
      throw err;
    }
    if (!(await holdsComponentToken(ctx, realm, key, given))) {
      try {
        assertInScope(await principalOf(ctx, given), authRealm, authorizer);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'UNAUTHENTICATED') throw err;
        throw new CompatError(
          40001,
          'invalid credential, access_token is invalid or not latest: this is the token broker ' +
            '(token-server), where component_access_token must be a client key of the broker or the ' +
            'current component token it answered, and the one given is neither',
        );
      }
    }
    const served = await ctx.runtime.engine.getToken({ realm: authRealm, key: authorizer });
    ctx.logFields.source = served.source;
    const expiresIn = Math.floor(answeredLifetimeMs(served, ctx.runtime.clock.now()) / 1000);
    return {
      body: {
        authorizer_access_token: served.token,
        expires_in: expiresIn,
        authorizer_refresh_token: PLACEHOLDER_REFRESH_TOKEN,
      },
    };
  },
);

export const compatOpenRoutes: Route[] = [componentToken, authorizerToken];
