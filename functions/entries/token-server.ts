/**
 * tokenServer: the full service (admin API, token API, status, refresh and the OpenAPI document),
 * and the console's page, which is not part of the API (http/routes/console.ts).
 */
import { fullRoutes } from '../http/routes';
import { consoleRoutes } from '../http/routes/console';
import { httpFunction } from './http-function';

export const tokenServer = httpFunction('tokenServer', [...fullRoutes(), ...consoleRoutes()], {
  memory: '512MiB',
  concurrency: 80,
  maxInstances: 10,
});
