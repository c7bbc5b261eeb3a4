/** The two HTTP functions' common shape: public, 60 s, both keys, one route table behind createHandler. */
import { onRequest, type HttpsOptions } from 'firebase-functions/v2/https';
import { createHandler } from '../http/app';
import type { Route } from '../http/types';
import { adminKey, COMMON, masterKey, ready, runtime } from './common';

export function httpFunction(
  name: string,
  routes: Route[],
  sizing: Required<Pick<HttpsOptions, 'memory' | 'concurrency' | 'maxInstances'>>,
) {
  return onRequest(
    { ...COMMON, ...sizing, timeoutSeconds: 60, invoker: 'public', secrets: [adminKey, masterKey] },
    createHandler({ name, routes, runtime, readyRuntime: ready }),
  );
}
