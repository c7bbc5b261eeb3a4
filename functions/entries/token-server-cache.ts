/**
 * tokenServerCache: the app-facing edge, the token route behind an in-instance memory cache, so a
 * hit reads nothing. It loads no admin route, schema or OpenAPI module.
 */
import { cacheRoutes } from '../http/routes';
import { httpFunction } from './http-function';

export const tokenServerCache = httpFunction('tokenServerCache', cacheRoutes(), {
  memory: '256MiB',
  concurrency: 250,
  maxInstances: 20,
});
