/** tokenServer: the full service (admin API, token API, status, refresh and the OpenAPI document). */
import { fullRoutes } from '../http/routes';
import { httpFunction } from './http-function';

export const tokenServer = httpFunction('tokenServer', fullRoutes(), {
  memory: '512MiB',
  concurrency: 80,
  maxInstances: 10,
});
