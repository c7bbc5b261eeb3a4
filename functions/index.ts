/**
 * Wiring only. Each export is a firebase-functions v2 onRequest function, which `firebase deploy`
 * discovers and which the stock Functions Framework serves as a plain (req, res) handler.
 */
import { onRequest } from 'firebase-functions/v2/https';
import { createHandler } from './http/app';
import { cacheRoutes, fullRoutes } from './http/routes';
import { getRuntime } from './runtime';

const runtime = () => getRuntime();

/** The full service: admin API, token API, status and scheduled refresh. */
export const tokenServer = onRequest(
  { region: 'us-central1', memory: '512MiB', concurrency: 80, timeoutSeconds: 60, invoker: 'public' },
  createHandler({ name: 'tokenServer', routes: fullRoutes(), runtime }),
);

/** The app-facing edge: the token route behind an in-instance memory cache, so a hit reads nothing. */
export const tokenServerCache = onRequest(
  { region: 'us-central1', memory: '256MiB', concurrency: 250, timeoutSeconds: 60, invoker: 'public' },
  createHandler({ name: 'tokenServerCache', routes: cacheRoutes(), runtime }),
);
