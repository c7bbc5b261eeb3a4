/**
 * Admin routes of a component's authorizers (README "Third-party platforms (WeChat Open Platform)"):
 * - `POST /api/component/{realm}/{key}/sync` (body `{"cursor"?, "max_pages"?}`): one call's worth of
 *   the authorizer sync (platforms/authorizer-sync.ts), answering its counts, `complete`, and a
 *   `cursor` to go on with when the call's time ran out (or `max_pages` pages were done);
 * - `GET /api/component/{realm}/{key}/authorize-url?redirect_uri=URL[&auth_type=N]`: a fresh
 *   pre_auth_code (api_create_preauthcode) in the authorization page's URL.
 */
import { z } from 'zod';
import { auditWrite } from '../../ops/audit/record';
import { syncAuthorizers } from '../../platforms/authorizer-sync';
import { callWithComponentToken, type Component } from '../../platforms/component-api';
import type { Runtime } from '../../runtime';
import { parseOrThrow, CONTROL_CHARS } from '../../validation';
import { AppError } from '../../errors';
import type { Route, RouteContext } from '../types';
import { platformSecret } from './component';

/** How long one sync call may page before it answers a cursor (the function's timeout is 60 s). */
export const SYNC_BUDGET_MS = 40_000;

/** WeChat's authorization page. */
export const AUTHORIZE_PAGE = 'https://mp.weixin.qq.com/cgi-bin/componentloginpage';

export const syncBodySchema = z.strictObject({
  cursor: z.string().min(1, 'must not be empty').max(512, 'must be at most 512 characters').optional(),
  max_pages: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000).optional(),
});

export const authorizeQuerySchema = z.strictObject({
  redirect_uri: z
    .string({ error: 'required: the URL WeChat sends the authorizer back to' })
    .max(2048, 'must be at most 2048 characters')
    .refine((v) => !CONTROL_CHARS.test(v), 'must not contain control characters')
    .refine((v) => {
      try {
        const u = new URL(v);
        return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
      } catch {
        return false;
      }
    }, 'must be an absolute http(s) URL (on the domain set as the platform’s authorization domain)'),
  auth_type: z
    .string()
    .regex(
      /^[1-6]$/,
      'must be 1 (Official Accounts), 2 (Mini Programs), 3 (both), or 4, 5, 6 as WeChat defines them',
    )
    .optional(),
});

function deps(runtime: Runtime) {
  return { engine: runtime.engine, allowPrivate: runtime.config.allowPrivateUpstreams };
}

async function component(ctx: RouteContext): Promise<Component> {
  return platformSecret(ctx);
}

export const componentAuthorizerRoutes: Route[] = [
  {
    method: 'POST',
    pattern: '/api/component/:realm/:key/sync',
    auth: 'admin',
    handle: async (ctx) => {
      const body = parseOrThrow(syncBodySchema.optional(), ctx.req.body);
      const c = await component(ctx);
      const { runtime, req } = ctx;
      const hash = await runtime.ops.auditKey.hasher();
      const started = runtime.clock.now();
      const result = await syncAuthorizers(
        {
          ...deps(runtime),
          store: runtime.store,
          now: () => runtime.clock.now(),
          audit: (target, refreshToken) => [
            auditWrite({
              actor: 'admin',
              action: 'component.sync',
              target,
              requestId: req.requestId,
              hashes: hash === undefined ? [] : [hash(refreshToken)],
            }),
          ],
        },
        c,
        {
          deadline: started + SYNC_BUDGET_MS,
          ...(body?.cursor === undefined ? {} : { cursor: body.cursor }),
          ...(body?.max_pages === undefined ? {} : { maxPages: body.max_pages }),
        },
      );
      return { body: { realm: c.secret.realm, key: c.secret.key, ...result } };
    },
  },
  {
    method: 'GET',
    pattern: '/api/component/:realm/:key/authorize-url',
    auth: 'admin',
    handle: async (ctx) => {
      const q = parseOrThrow(authorizeQuerySchema, { ...ctx.req.query });
      const c = await component(ctx);
      const answer = await callWithComponentToken(deps(ctx.runtime), c, 'api_create_preauthcode', {});
      const code = answer.pre_auth_code;
      if (typeof code !== 'string' || code === '') {
        throw new AppError('UPSTREAM_ERROR', 'api_create_preauthcode answered no pre_auth_code', {
          details: { reason: 'no_token' },
        });
      }
      const url = new URL(AUTHORIZE_PAGE);
      url.searchParams.set('component_appid', c.secret.values.key_1 ?? '');
      url.searchParams.set('pre_auth_code', code);
      url.searchParams.set('redirect_uri', q.redirect_uri);
      url.searchParams.set('auth_type', q.auth_type ?? '3');
      const expiresIn = typeof answer.expires_in === 'number' ? answer.expires_in : undefined;
      return {
        body: {
          realm: c.secret.realm,
          key: c.secret.key,
          url: url.toString(),
          ...(expiresIn === undefined ? {} : { expires_in: expiresIn }),
        },
      };
    },
  },
];
