/**
 * fetchToken and sendUpstream (providers/upstream.ts) for the modules a serving instance loads at
 * start (the engine, the platforms' follow-ups): upstream.ts, with its URL guard, request builder,
 * extraction and the presets its redaction reads, is loaded at the first call, which is a refresh,
 * never a hit (README "Cold start").
 */
import type * as Upstream from './upstream';

function upstream(): typeof Upstream {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first call, by design
  return require('./upstream') as typeof Upstream;
}

export const fetchToken: typeof Upstream.fetchToken = (...args) => upstream().fetchToken(...args);
export const sendUpstream: typeof Upstream.sendUpstream = (...args) => upstream().sendUpstream(...args);

/**
 * Loads upstream.ts (about 12 ms here) and has it load gaxios' node-fetch (about 45 ms more, in
 * the background) ahead of a first call (engine.ts warmMissPath).
 */
export function loadUpstream(): void {
  upstream().warmFetch();
}
