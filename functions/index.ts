/**
 * Wiring only. Each export is a firebase-functions v2 function, which `firebase deploy` discovers
 * with the options in its entry module (entries/), and which the stock Functions Framework serves
 * as a plain (req, res) handler (`npx functions-framework --target=NAME`). Deployment: README
 * "Deploy on Google Cloud".
 *
 * The exports are getters that load their entry module on first access: the Functions Framework
 * reads only its target, so an instance loads only its own function's code (tokenServerCache no
 * admin routes, tokenServerRefresh no HTTP routes or OpenAPI), which shortens every cold start.
 * Discovery reads all three.
 */
// First: in local mode nothing may probe the cloud metadata server (functions/local-mode.ts).
import './local-mode';
// Before anything loads zod: its locales are loaded on first use (functions/zod-locales.ts).
import './zod-locales';
import type * as Cache from './entries/token-server-cache';
import type * as Refresh from './entries/token-server-refresh';
import type * as Server from './entries/token-server';

export declare const tokenServer: typeof Server.tokenServer;
export declare const tokenServerCache: typeof Cache.tokenServerCache;
export declare const tokenServerRefresh: typeof Refresh.tokenServerRefresh;

function lazily(name: string, load: () => unknown): void {
  let value: unknown;
  Object.defineProperty(exports, name, { enumerable: true, get: () => (value ??= load()) });
}

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on first access, by design */
lazily('tokenServer', () => (require('./entries/token-server') as typeof Server).tokenServer);
lazily('tokenServerCache', () => (require('./entries/token-server-cache') as typeof Cache).tokenServerCache);
lazily(
  'tokenServerRefresh',
  () => (require('./entries/token-server-refresh') as typeof Refresh).tokenServerRefresh,
);
/* eslint-enable @typescript-eslint/no-require-imports */
