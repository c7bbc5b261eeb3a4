/** The two HTTP functions' common shape: public, 60 s, both keys, one route table behind createHandler. */
import type * as Https from 'firebase-functions/v2/https';
import type { HttpsFunction, HttpsOptions } from 'firebase-functions/v2/https';
import { createHandler, type HttpHandler } from '../http/app';
import { installFrameworkErrorReplies } from '../http/body-gate';
import type { Route } from '../http/types';
import { adminKey, COMMON, masterKey, ready, runtime } from './common';

/**
 * Once, when the Functions Framework loads an HTTP function's entry (before it builds its Express
 * app): the body limit while a body streams, and our JSON errors for requests the framework refuses
 * before any handler runs (http/body-gate.ts).
 */
installFrameworkErrorReplies();

/**
 * What `firebase deploy` reads is onRequest's manifest entry (`__endpoint`, and `__trigger` for older
 * firebase-tools); what the Functions Framework calls is the export itself. The export is our
 * handler with onRequest's manifest entry, not onRequest's wrapper: the wrapper adds an error
 * catcher (createHandler answers every error itself), the onInit hook (unused here) and a trace
 * context for firebase-functions' logger (createHandler reads the trace headers itself), i.e. two
 * async frames per request, whose promises the framework's per-request domain tags one by one (the
 * `helloOnRequest` row of `npm run bench` measures what that costs a hello world). The manifest
 * entry is made when it is first read, so that a serving instance never loads
 * firebase-functions/v2/https (about 100 ms of a cold start: `npm run bench`'s cold-start row).
 */
export function httpFunction(
  name: string,
  routes: Route[],
  sizing: Required<Pick<HttpsOptions, 'memory' | 'concurrency' | 'maxInstances'>> &
    Pick<HttpsOptions, 'minInstances'>,
): HttpsFunction {
  const serve = createHandler({ name, routes, runtime, readyRuntime: ready });
  let warmed = false;
  /**
   * Once an answer has gone out with the runtime built, the store warms what a first hit would
   * otherwise wait for (Store.warm: the client's modules and connection, when that answer did not
   * use them, e.g. a health check or a request refused before any read), in the background: never
   * before that answer, which the loading would delay (it is synchronous). What only a miss needs
   * (the gRPC client beside a REST one) is warmed by the first miss (Store.warmMiss).
   */
  const warmAfter = () => {
    const built = ready();
    if (warmed || built === undefined) return;
    warmed = true;
    setImmediate(() => void built.store.warm?.());
  };
  const handler: HttpHandler = (req, res) => {
    if (!warmed) res.once('finish', warmAfter);
    return serve(req, res);
  };
  let declared: HttpsFunction | undefined;
  const declaration = (): HttpsFunction => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded for discovery only
    const { onRequest } = require('firebase-functions/v2/https') as typeof Https;
    declared ??= onRequest(
      { ...COMMON, ...sizing, timeoutSeconds: 60, invoker: 'public', secrets: [adminKey, masterKey] },
      handler,
    );
    return declared;
  };
  for (const property of ['__endpoint', '__trigger'] as const) {
    Object.defineProperty(handler, property, {
      enumerable: true,
      configurable: true,
      get: () => declaration()[property],
    });
  }
  // The manifest properties are defined just above, as getters.
  return handler as unknown as HttpsFunction;
}
