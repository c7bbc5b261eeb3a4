/** The two route tables: the full service, and the app-facing edge with its memory cache. */
import type { Route } from '../types';
import { clientRoutes } from './clients';
import { compatRoutes } from './compat';
import { healthRoute } from './health';
import { jssdkRoutes } from './jssdk';
import { openApiRoute } from './openapi';
import { refreshRoute, statusRoute } from './operations';
import { presetRoutes } from './presets';
import { realmRoutes } from './realms';
import { secretRoutes } from './secrets';
import { tokenRoutes } from './token';

export function fullRoutes(): Route[] {
  return [
    healthRoute,
    openApiRoute({ tokenServer: fullRoutes, tokenServerCache: cacheRoutes }),
    ...tokenRoutes('database'),
    ...compatRoutes('database'),
    ...jssdkRoutes('database'),
    statusRoute,
    refreshRoute,
    ...realmRoutes,
    ...presetRoutes,
    ...secretRoutes,
    ...clientRoutes,
  ];
}

export function cacheRoutes(): Route[] {
  return [healthRoute, ...tokenRoutes('memory'), ...compatRoutes('memory'), ...jssdkRoutes('memory')];
}
