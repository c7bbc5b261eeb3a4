/**
 * A miss starts warming what its compare-and-set and wait need (Store.warmMiss: the Firestore
 * store's gRPC client beside a REST one) as soon as the engine knows it missed, before the secret's
 * records are read and the provider is called; a hit does not.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import type { Store } from '../../../functions/store/store';
import { seededEngine, ScriptedProvider } from './engine-harness';

/** Notes each warmMiss call with the store and provider activity that preceded it. */
function spyWarmMiss(store: Store, provider: ScriptedProvider): { calls: number[] } {
  const seen = { calls: [] as number[] };
  // The memory store has no warmMiss of its own: the spy is the only one.
  store.warmMiss = () => {
    seen.calls.push(provider.calls);
  };
  return seen;
}

describe('engine: warming for a miss', () => {
  it('a miss calls warmMiss once, before the provider call; the hits after it do not', async () => {
    const clock = new ManualClock();
    const provider = new ScriptedProvider();
    const { store, engine } = await seededEngine(clock, { provider });
    const seen = spyWarmMiss(store, provider);

    expect((await engine.getToken({ realm: 'wx', key: 's1' })).hit).to.not.equal(true);
    expect(seen.calls).to.deep.equal([0]);
    expect(provider.calls).to.equal(1);

    for (let i = 0; i < 3; i++) {
      expect((await engine.getToken({ realm: 'wx', key: 's1' })).hit).to.equal(true);
    }
    expect(seen.calls).to.deep.equal([0]);
  });

  it('a forced refresh (flush), which skips the hit path, warms too', async () => {
    const clock = new ManualClock();
    const provider = new ScriptedProvider();
    const { store, engine } = await seededEngine(clock, { provider });
    await engine.getToken({ realm: 'wx', key: 's1' });
    const seen = spyWarmMiss(store, provider);

    await engine.getToken({ realm: 'wx', key: 's1', flush: true });
    expect(seen.calls).to.deep.equal([1]);
  });
});
