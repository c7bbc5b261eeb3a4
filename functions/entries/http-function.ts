/** The two HTTP functions' common shape: public, 60 s, both keys, one route table behind createHandler. */
import { onRequest, type HttpsOptions } from 'firebase-functions/v2/https';
import { createHandler } from '../http/app';
import { installFrameworkErrorReplies } from '../http/framework-errors';
import type { Route } from '../http/types';
import { adminKey, COMMON, masterKey, ready, runtime } from './common';

/**
 * Once, when the Functions Framework loads an HTTP function's entry (before it builds its Express
 * app): the body limit while a body streams, and our JSON errors for requests the framework refuses
 * before any handler runs (http/framework-errors.ts).
 */
installFrameworkErrorReplies();

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
