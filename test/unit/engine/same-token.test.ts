/**
 * Same-token providers hand back the stored token with its remaining life until it ends. Under
 * steady traffic over several lifetimes: at most 2 upstream calls per lifetime, every served token
 * alive at the provider, and no request waits for the provider while a valid token exists.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import { sameTokenDue } from '../../../functions/token/schedule';
import { EdgeCache } from '../../../functions/engine/edge-cache';
import {
  engineWith,
  newStore,
  REALM_CONFIG,
  SameTokenProvider,
  ScriptedProvider,
  makeEngine,
  seed,
  seededEngine,
  settle,
} from './engine-harness';

describe('engine: same-token providers', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  it('schedules the next attempt where a new token can come back', () => {
    // No reissue window: the end of the token's life, measured from the answer.
    expect(sameTokenDue(1_000, 10_000, 9_500)).to.deep.equal({ refreshAt: 10_500, reissueAt: 10_500 });
    // A reissue window still ahead: its start.
    expect(sameTokenDue(0, 100_000, 100_000, { reissueWindowMs: 30_000 }).refreshAt).to.equal(71_000);
    // No window: once, a late try (lead before the end); without it, the end.
    expect(sameTokenDue(1_000, 100_000, 99_000, { lateTryLeadMs: 6_000 })).to.deep.equal({
      refreshAt: 94_000,
    });
    // Already inside the configured window and still the same token: the window was wrong; the end.
    expect(sameTokenDue(80_000, 100_000, 20_000, { reissueWindowMs: 30_000 }).refreshAt).to.equal(100_000);
  });

  const behaviours = [
    { name: 'the same token until its end (WeCom)', renews: false, windowMs: 0 },
    {
      name: 'a new one within a window the realm is not told of (Feishu-like)',
      renews: false,
      windowMs: 400_000,
    },
    { name: 'a new one within a short untold window', renews: false, windowMs: 8_000 },
    { name: 'the same token, renewed (DingTalk)', renews: true, windowMs: 0 },
  ];
  for (const b of behaviours) {
    it(`at most 2 calls per lifetime once known, no request waits while a token is valid: ${b.name}`, async () => {
      const store = newStore(clock);
      await seed(store, clock);
      const provider = new SameTokenProvider(clock, 1_000_000, b.renews, b.windowMs);
      const engines = ['a', 'b'].map((id) => engineWith(store, clock, provider.fetcher, { instanceId: id }));
      const start = clock.now();
      let waitedWhileValid = 0;
      let deadServed = 0;
      for (let i = 0; i < 5_000; i++) {
        const before = await store.getTokenState('wx', 's1');
        const validBefore =
          before?.token !== undefined &&
          provider.alive(before.token) &&
          clock.now() < before.expiresAt! - 1_000;
        const served = await engines[i % 2]!.getToken({ realm: 'wx', key: 's1' });
        if (served.source === 'upstream' && validBefore) waitedWhileValid++;
        if (!provider.alive(served.token)) deadServed++;
        await settle(3);
        clock.advance(1_000);
      }
      const lifetimes = (clock.now() - start) / 1_000_000;
      expect(deadServed).to.equal(0);
      expect(waitedWhileValid).to.equal(0);
      expect(provider.minted).to.be.at.most(Math.ceil(lifetimes) + 1);
      // The first lifetime may try late once (and so learn that this provider re-issues only at the end).
      // (A renewing provider mints once; its lifetimes are counted by the clock.)
      expect(provider.calls).to.be.at.most(2 * Math.max(provider.minted, Math.ceil(lifetimes)) + 1);
    });
  }

  it('a gettoken-style provider (a new token per call) still costs one call per lifetime', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider();
    provider.lifetimeMs = 1_000_000;
    const engine = makeEngine(store, clock, provider);
    for (let i = 0; i < 5_000; i++) {
      await engine.getToken({ realm: 'wx', key: 's1' });
      await settle(3);
      clock.advance(1_000);
    }
    expect(provider.calls).to.be.at.most(6);
  });
});

describe('edge cache across deleted and re-created secrets', () => {
  it('follows a secret deleted and created again (its generation starts over) within the re-read interval', async () => {
    const clock = new ManualClock();
    const { store, provider, engine } = await seededEngine(clock);
    const cache = new EdgeCache(engine, clock);
    await cache.getToken({ realm: 'wx', key: 's1' });
    for (let i = 0; i < 3; i++) {
      clock.advance(11_000);
      await cache.getToken({ realm: 'wx', key: 's1', flush: true }); // generation goes up
    }
    expect(cache.peek({ realm: 'wx', key: 's1' })?.token).to.equal('tok-4');
    await store.deleteSecret('wx', 's1');
    await seed(store, clock, 'wx', ['s1'], REALM_CONFIG, '-again'); // a new rev, generation from 1 again
    const fresh = await makeEngine(store, clock, provider, { instanceId: 'other' }).getToken({
      realm: 'wx',
      key: 's1',
    });
    expect(fresh.token).to.equal('tok-5');
    clock.advance(30_000);
    await settle();
    expect((await cache.getToken({ realm: 'wx', key: 's1' })).token).to.equal('tok-5');
    expect(cache.peek({ realm: 'wx', key: 's1' })?.token).to.equal('tok-5'); // and cached again
  });
});
