/**
 * Where the app-facing routes (token, compat, JS-SDK signature) get a token, chosen once where
 * each route set is built (routes/index.ts): tokenServer asks the engine (a hit is one store
 * read); tokenServerCache asks its instance's edge cache in front of the engine (a hit reads
 * nothing), which is created by the first request that asks it (Runtime.edgeCache).
 */
import type { ServedToken, TokenRequest } from '../engine/engine';
import type { Runtime } from '../runtime';

export interface TokenGetter {
  /** A memory hit, synchronously; undefined when `get` must be asked. */
  peek(runtime: Runtime, req: TokenRequest): ServedToken | undefined;
  get(runtime: Runtime, req: TokenRequest): Promise<ServedToken>;
}

/** tokenServer's: the engine, no memory in front. */
export const engineGetter: TokenGetter = {
  peek: () => undefined,
  get: (runtime, req) => runtime.engine.getToken(req),
};

/** tokenServerCache's: the instance's edge cache. */
export const edgeCacheGetter: TokenGetter = {
  peek: (runtime, req) => runtime.edgeCache().peek(req),
  get: (runtime, req) => runtime.edgeCache().getToken(req),
};
