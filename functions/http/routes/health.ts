import type { Route } from '../types';

/** Liveness without authentication. It does not touch the store, so it stays cheap under load. */
export const healthRoute: Route = {
  method: 'GET',
  pattern: '/healthz',
  auth: 'none',
  handle: async ({ runtime }) => ({ body: { ok: true, store: runtime.store.kind } }),
};
