/**
 * The two route tables: the full service, and the app-facing edge with its memory cache (the
 * choice of token getter is made here, once per table: http/token-getter.ts). Each
 * loads only its own route modules (the admin routes, their schemas and the OpenAPI document are
 * required when fullRoutes() is first called, never by tokenServerCache): a shorter cold start.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- route sets are loaded lazily, by design */
import { edgeCacheGetter, engineGetter, type TokenGetter } from '../token-getter';
import type { Route } from '../types';
import { compatRoutes } from './compat';
import { healthRoute } from './health';
import { jssdkRoutes } from './jssdk';
import { tokenRoutes } from './token';

export function fullRoutes(): Route[] {
  const { auditRoutes } = require('./audit') as typeof import('./audit');
  const { clientRoutes } = require('./clients') as typeof import('./clients');
  const { keyRoutes } = require('./keys') as typeof import('./keys');
  const { eventRoutes } = require('./events') as typeof import('./events');
  const { componentRoutes } = require('./component') as typeof import('./component');
  const { compatOpenRoutes } = require('./compat-open') as typeof import('./compat-open');
  const { componentAuthorizerRoutes } =
    require('./component-authorizers') as typeof import('./component-authorizers');
  const { PushReceivers } =
    require('../../platforms/push-receivers') as typeof import('../../platforms/push-receivers');
  const { openApiRoute } = require('./openapi') as typeof import('./openapi');
  const { refreshRoute, statusRoute } = require('./operations') as typeof import('./operations');
  const { presetRoutes } = require('./presets') as typeof import('./presets');
  const { realmRoutes } = require('./realms') as typeof import('./realms');
  const { secretRoutes } = require('./secrets') as typeof import('./secrets');
  const { webhookRoutes } = require('./webhooks') as typeof import('./webhooks');
  return [
    healthRoute,
    openApiRoute({ tokenServer: fullRoutes, tokenServerCache: cacheRoutes }),
    ...tokenRoutes(engineGetter),
    ...compatRoutes(engineGetter),
    ...jssdkRoutes(engineGetter),
    statusRoute,
    refreshRoute,
    ...realmRoutes,
    ...presetRoutes,
    ...secretRoutes,
    ...clientRoutes,
    ...keyRoutes,
    ...eventRoutes(new PushReceivers()),
    ...componentRoutes,
    ...componentAuthorizerRoutes,
    ...compatOpenRoutes,
    ...auditRoutes,
    ...webhookRoutes,
  ];
}

/** Health and the app-facing token routes, on `getter`. */
function tokenSide(getter: TokenGetter): Route[] {
  return [healthRoute, ...tokenRoutes(getter), ...compatRoutes(getter), ...jssdkRoutes(getter)];
}

/**
 * tokenServer's routes that its first request loads: health and the token routes on the engine,
 * the same routes that open fullRoutes(), which the first request for anything else loads
 * (HandlerOptions.lazyRoutes): the admin routes, their schemas and the OpenAPI document are not
 * loaded before an instance serves its first token.
 */
export function serverTokenRoutes(): Route[] {
  return tokenSide(engineGetter);
}

export function cacheRoutes(): Route[] {
  return tokenSide(edgeCacheGetter);
}
