/**
 * tokenServer: the full service (admin API, token API, status, refresh and the OpenAPI document),
 * and the console's page, which is not part of the API (http/routes/console.ts). Its token routes
 * are loaded with it; the rest (the admin routes, their schemas, the OpenAPI document, the console)
 * by the first request for one of them (HandlerOptions.lazyRoutes): a shorter cold start.
 */
import type * as Console from '../http/routes/console';
import { fullRoutes, serverTokenRoutes } from '../http/routes';
import { httpFunction } from './http-function';

export const tokenServer = httpFunction(
  'tokenServer',
  serverTokenRoutes(),
  { memory: '512MiB', concurrency: 80, maxInstances: 10 },
  () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use
    const { consoleRoutes } = require('../http/routes/console') as typeof Console;
    return [...fullRoutes(), ...consoleRoutes()];
  },
);
