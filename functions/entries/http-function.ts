/** The two HTTP functions' common shape: public, 60 s, both keys, one route table behind createHandler (loaded in part on first use, when lazyRoutes is given). */
import type * as Https from 'firebase-functions/v2/https';
import type { HttpsFunction, HttpsOptions } from 'firebase-functions/v2/https';
import { createHandler, type HttpHandler } from '../http/app';
import { warmMissPath } from '../engine/engine';
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
  /** The whole table, when `routes` is the part a first token needs (HandlerOptions.lazyRoutes). */
  lazyRoutes?: () => readonly Route[],
): HttpsFunction {
  const serve = createHandler({
    name,
    routes,
    runtime,
    readyRuntime: ready,
    ...(lazyRoutes === undefined ? {} : { lazyRoutes }),
  });
  let warmed = false;
  let inFlight = 0;
  /**
   * The first time the instance is idle (no request in flight) with its runtime built, it loads
   * what a first hit and a first miss would otherwise wait for: the client a hit reads with, when no
   * request has used it yet (Store.warm: a health check, a request refused before any read), the
   * gRPC client beside a REST one that a miss's lease write and its waiters' listeners use
   * (Store.warmMiss), and the engine's miss path with the realm config parser and the upstream call
   * (engine.ts warmMissPath). Never while a request is in flight: the loading is synchronous and
   * would hold up its answer. An instance that is never idle loads these at its first miss
   * (engine.ts), while the miss reads the secret.
   */
  const idle = () => {
    inFlight--;
    if (warmed || inFlight > 0) return;
    setImmediate(() => {
      const built = ready();
      if (warmed || inFlight > 0 || built === undefined) return;
      warmed = true;
      void built.store.warm?.();
      built.store.warmMiss?.();
      warmMissPath();
    });
  };
  const handler: HttpHandler = (req, res) => {
    if (!warmed) {
      inFlight++;
      res.once('close', idle);
    }
    return serve(req, res);
  };
  let declared: HttpsFunction | undefined;
  const declaration = (): HttpsFunction => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded for discovery only
    const { onRequest } = require('firebase-functions/v2/https') as typeof Https;
    declared ??= onRequest(
      { ...COMMON, ...sizing, timeoutSeconds: 60, invoker: 'public', secrets: [adminKey(), masterKey()] },
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
