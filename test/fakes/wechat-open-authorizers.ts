/**
 * The authorizer side of a fake WeChat Open Platform (test/fakes/wechat-open.ts serves the component
 * side and hands it every other path): accounts that authorized the platform, in the real formats.
 *
 *   POST /cgi-bin/component/api_create_preauthcode?component_access_token=T  {component_appid}
 *        → pre_auth_code / expires_in 1800
 *   POST /cgi-bin/component/api_query_auth?component_access_token=T  {component_appid, authorization_code}
 *        → authorization_info {authorizer_appid, authorizer_access_token, expires_in,
 *          authorizer_refresh_token, func_info}; 61010 for a code that expired, 61009 for one that
 *          is unknown or used (a code is good once)
 *   POST /cgi-bin/component/api_get_authorizer_list?component_access_token=T
 *        {component_appid, offset, count ≤ 500} → total_count, list [{authorizer_appid,
 *          refresh_token, auth_time}]
 *   POST /cgi-bin/component/api_authorizer_token?component_access_token=T
 *        {component_appid, authorizer_appid, authorizer_refresh_token} → authorizer_access_token /
 *          expires_in / authorizer_refresh_token (the current one: this fake does not rotate it);
 *          61023 for a refresh token that is not the current one (checked when one is given)
 *
 * A component_access_token the component side did not answer is 40001. Every refresh token and
 * authorization code it makes is registered with the run-wide leak check. Calls counted per path.
 */
import { randomBytes } from 'node:crypto';
import { ERRCODE_ANSWER } from '../../functions/providers/presets';
import type { JsonValue } from '../../functions/store/types';
import { registerSecret } from '../helpers/leak-registry';
import type { ExtraRoutes, WechatOpenFake } from './wechat-open';

export const AUTHORIZER_PATHS = {
  preauthcode: '/cgi-bin/component/api_create_preauthcode',
  query_auth: '/cgi-bin/component/api_query_auth',
  authorizer_list: '/cgi-bin/component/api_get_authorizer_list',
  authorizer_token: '/cgi-bin/component/api_authorizer_token',
} as const;
export type AuthorizerRoute = keyof typeof AUTHORIZER_PATHS;

interface Authorizer {
  refreshToken: string;
  authTime: number;
}

/**
 * An authorizer realm's config equivalent to SPEC §11.3 as far as this branch's templates reach:
 * `${token}` (the component token, the parent's) and `$key_1` (the authorizer appid). The component
 * appid and `${refresh_token}` are left out until preset wechat_authorizer exists; the fake's
 * api_authorizer_token then checks only what it is given.
 */
export function authorizerRealmConfig(fakeUrl: string): Record<string, JsonValue> {
  return {
    url: `${fakeUrl}/cgi-bin/component/api_authorizer_token`,
    method: 'POST',
    content_type: 'json',
    arguments: [
      { name: 'component_access_token', place: 'url', value: '${token}' },
      { name: 'authorizer_appid', place: 'body', value: '$key_1' },
    ],
    ...ERRCODE_ANSWER,
    token_path: 'authorizer_access_token',
  };
}

export class AuthorizerDirectory {
  /** In authorization order, as WeChat lists them. */
  private readonly authorizers = new Map<string, Authorizer>();
  private readonly codes = new Map<string, { appid: string; expiresAt: number }>();
  private readonly counts = new Map<string, number>();
  /** Milliseconds api_query_auth waits before answering (a slow WeChat). */
  queryAuthDelayMs = 0;
  /** Whether generated refresh tokens are registered with the leak check (off for bulk benchmarks). */
  register = true;
  private fake: WechatOpenFake | undefined;

  /** The routes to hand to startWechatOpenFake; `attach` gives it the fake that checks tokens. */
  readonly routes: ExtraRoutes = (path, query, body) => this.serve(path, query, body);

  attach(fake: WechatOpenFake): void {
    this.fake = fake;
  }

  calls(route: AuthorizerRoute): number {
    return this.counts.get(AUTHORIZER_PATHS[route]) ?? 0;
  }

  /** An account authorizes the platform (again): a new refresh token and a code good for 10 minutes. */
  authorize(appid: string): { code: string; refreshToken: string } {
    const refreshToken = this.newRefreshToken();
    this.authorizers.delete(appid);
    this.authorizers.set(appid, { refreshToken, authTime: Math.floor(Date.now() / 1000) });
    const code = `qac@@@${randomBytes(24).toString('base64url')}`;
    registerSecret(code, 'authorization code', 'wechat-open-authorizers fake');
    this.codes.set(code, { appid, expiresAt: Date.now() + 600_000 });
    return { code, refreshToken };
  }

  /** The account cancels the authorization: gone from the list, its refresh token dead. */
  unauthorize(appid: string): void {
    this.authorizers.delete(appid);
  }

  /** `n` accounts authorized without events (the platform's state before the broker knew it). */
  addMany(n: number, prefix = 'wxauth'): string[] {
    const added: string[] = [];
    for (let i = 0; i < n; i++) {
      const appid = `${prefix}${String(i).padStart(6, '0')}`;
      this.authorizers.set(appid, { refreshToken: this.newRefreshToken(), authTime: 1_700_000_000 + i });
      added.push(appid);
    }
    return added;
  }

  refreshTokenOf(appid: string): string | undefined {
    return this.authorizers.get(appid)?.refreshToken;
  }

  get size(): number {
    return this.authorizers.size;
  }

  private newRefreshToken(): string {
    const token = `rt@@@${randomBytes(24).toString('base64url')}`;
    if (this.register) registerSecret(token, 'refresh token', 'wechat-open-authorizers fake');
    return token;
  }

  private serve(path: string, query: URLSearchParams, body: Record<string, unknown>): unknown {
    const route = Object.values(AUTHORIZER_PATHS).find((p) => p === path);
    if (route === undefined) return undefined;
    this.counts.set(route, (this.counts.get(route) ?? 0) + 1);
    const componentToken = query.get('component_access_token') ?? '';
    if (this.fake === undefined || !this.fake.componentTokenValid(componentToken))
      return { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };
    // api_authorizer_token without component_appid: a realm config that cannot name it yet (it is
    // the parent's key_1); every other call must name it.
    const unnamed = route === AUTHORIZER_PATHS.authorizer_token && body.component_appid === undefined;
    if (!unnamed && body.component_appid !== this.fake.account.appid)
      return { errcode: 40013, errmsg: 'invalid appid' };
    switch (route) {
      case AUTHORIZER_PATHS.preauthcode:
        return { pre_auth_code: `preauth@@@${randomBytes(20).toString('hex')}`, expires_in: 1800 };
      case AUTHORIZER_PATHS.query_auth:
        return this.queryAuthDelayMs === 0
          ? this.queryAuth(body)
          : new Promise((resolve) => setTimeout(() => resolve(this.queryAuth(body)), this.queryAuthDelayMs));
      case AUTHORIZER_PATHS.authorizer_list:
        return this.list(body);
      default:
        return this.authorizerToken(body);
    }
  }

  private queryAuth(body: Record<string, unknown>): unknown {
    const code = typeof body.authorization_code === 'string' ? body.authorization_code : '';
    const entry = this.codes.get(code);
    if (entry === undefined) return { errcode: 61009, errmsg: 'code is invalid' };
    this.codes.delete(code);
    if (entry.expiresAt < Date.now()) return { errcode: 61010, errmsg: 'code is expired' };
    const authorizer = this.authorizers.get(entry.appid);
    if (authorizer === undefined)
      return { errcode: 61003, errmsg: 'component is not authorized by this account' };
    return {
      authorization_info: {
        authorizer_appid: entry.appid,
        authorizer_access_token: `authorizertoken_${randomBytes(18).toString('base64url')}`,
        expires_in: 7200,
        authorizer_refresh_token: authorizer.refreshToken,
        func_info: [{ funcscope_category: { id: 1 } }],
      },
    };
  }

  private list(body: Record<string, unknown>): unknown {
    const offset = typeof body.offset === 'number' ? body.offset : -1;
    const count = typeof body.count === 'number' ? body.count : -1;
    if (offset < 0 || count < 1 || count > 500) return { errcode: 40097, errmsg: 'invalid args' };
    const list: unknown[] = [];
    let i = 0;
    for (const [appid, a] of this.authorizers) {
      if (i >= offset + count) break;
      if (i >= offset)
        list.push({ authorizer_appid: appid, refresh_token: a.refreshToken, auth_time: a.authTime });
      i++;
    }
    return { total_count: this.authorizers.size, list };
  }

  private authorizerToken(body: Record<string, unknown>): unknown {
    const appid = typeof body.authorizer_appid === 'string' ? body.authorizer_appid : '';
    const authorizer = this.authorizers.get(appid);
    const given = body.authorizer_refresh_token;
    if (authorizer === undefined || (given !== undefined && given !== authorizer.refreshToken))
      return { errcode: 61023, errmsg: 'refresh_token is invalid' };
    return {
      authorizer_access_token: `authorizertoken_${randomBytes(18).toString('base64url')}`,
      expires_in: 7200,
      authorizer_refresh_token: authorizer.refreshToken,
    };
  }
}
