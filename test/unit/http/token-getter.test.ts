/**
 * The token getter chosen per route set (http/token-getter.ts): tokenServer's asks the engine and
 * leaves the instance without an edge cache; tokenServerCache's creates the edge cache on its first
 * request, with the runtime's engine then, and keeps the one it made.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import { parseConfig } from '../../../functions/config';
import { AppError } from '../../../functions/errors';
import { edgeCacheGetter, engineGetter } from '../../../functions/http/token-getter';
import { createRuntime } from '../../../functions/runtime';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';

describe('token getters (engine or edge cache, chosen once per route set)', () => {
  it('the engine getter creates no edge cache; the edge-cache getter creates one, once, on first use', async () => {
    const clock = new ManualClock();
    const masterKey = Buffer.alloc(32, 3);
    const runtime = await createRuntime(parseConfig({ TOKEN_SERVER_STORE: 'memory' }), {
      keys: { masterKey, problems: {} },
      store: new MemoryStore(new Sealer(masterKey), clock),
      clock,
    });
    const asked: string[] = [];
    const engine = runtime.engine;
    runtime.engine = Object.assign(Object.create(engine) as typeof engine, {
      getToken: (req: { realm: string; key: string }) => {
        asked.push(`${req.realm}/${req.key}`);
        return engine.getToken(req);
      },
    });
    const req = { realm: 'nowhere', key: 'k' };
    expect(engineGetter.peek(runtime, req)).to.equal(undefined);
    const viaEngine = await engineGetter.get(runtime, req).catch((err: unknown) => err);
    expect(viaEngine).to.be.instanceOf(AppError);
    expect(runtime.existingEdgeCache()).to.equal(undefined);

    expect(edgeCacheGetter.peek(runtime, req)).to.equal(undefined);
    const created = runtime.existingEdgeCache();
    expect(created).to.not.equal(undefined);
    const viaCache = await edgeCacheGetter.get(runtime, req).catch((err: unknown) => err);
    expect((viaCache as AppError).code).to.equal((viaEngine as AppError).code);
    expect(runtime.existingEdgeCache()).to.equal(created);
    expect(runtime.edgeCache()).to.equal(created);
    // Both went to the engine the runtime held when the cache was created.
    expect(asked).to.deep.equal(['nowhere/k', 'nowhere/k']);
  });
});
