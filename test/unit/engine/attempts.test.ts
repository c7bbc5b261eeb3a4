/**
 * Invalidating providers (`invalidates_previous`): every attempt is in the store before the
 * provider gets it, and no instance serves the previous token past that attempt's start plus the
 * overlap, whatever became of the attempt.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import { liveUntil } from '../../../functions/token/phase';
import { AppError } from '../../../functions/errors';
import type { JsonObject } from '../../../functions/store/types';
import {
  deferred,
  makeEngine,
  newStore,
  REALM_CONFIG,
  ScriptedProvider,
  seed,
  settle,
} from './engine-harness';

const OVERLAP = 5_000;
const WECHAT: JsonObject = {
  ...REALM_CONFIG,
  invalidates_previous: true,
  overlap_ms: OVERLAP,
  timeout_ms: 1_000,
};

describe('engine: provider attempts recorded before they are sent', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  async function withToken() {
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['s1'], WECHAT);
    const provider = new ScriptedProvider();
    const a = makeEngine(store, clock, provider, { instanceId: 'a', leaseMs: 8_000 });
    const b = makeEngine(store, clock, provider, { instanceId: 'b', leaseMs: 8_000 });
    await a.getToken({ realm: 'wx', key: 's1' });
    clock.advance(60_000);
    return { store, provider, a, b };
  }

  it('counts and notes the attempt in the store before the provider sees it', async () => {
    const { store, provider, a } = await withToken();
    const gate = deferred();
    provider.then({ gate: gate.promise });
    const flush = a.getToken({ realm: 'wx', key: 's1', flush: true });
    while (provider.calls < 2) await settle(1);
    // The provider has the request; the store already knows of it.
    const state = await store.getTokenState('wx', 's1');
    expect(state).to.include({ callsToday: 2, attemptSince: clock.now() });
    expect(state?.lastAttempt?.startedAt).to.equal(clock.now());
    gate.resolve();
    expect((await flush).token).to.equal('tok-2');
    expect((await store.getTokenState('wx', 's1'))?.attemptSince).to.equal(undefined);
  });

  it('while an attempt is in flight, readers get the previous token only until its start + overlap', async () => {
    const { store, provider, a, b } = await withToken();
    const gate = deferred();
    provider.then({ gate: gate.promise });
    const start = clock.now();
    const flush = a.getToken({ realm: 'wx', key: 's1', flush: true });
    await settle();
    const read = await b.getToken({ realm: 'wx', key: 's1' });
    expect(read.token).to.equal('tok-1');
    expect(read.deadline).to.be.at.most(start + OVERLAP);
    clock.advance(OVERLAP); // the provider has killed tok-1 by now, answer or not
    const late = b.getToken({ realm: 'wx', key: 's1' });
    gate.resolve();
    expect((await late).token).to.equal('tok-2'); // waited for the holder instead of serving tok-1
    expect((await flush).token).to.equal('tok-2');
    expect((await store.getTokenState('wx', 's1'))?.token).to.equal('tok-2');
  });

  it('an attempt that timed out (it may have minted) caps stale-if-error at its start + overlap', async () => {
    const { store, provider, a, b } = await withToken();
    const state = await store.getTokenState('wx', 's1');
    clock.set(state!.refreshAt! + 1);
    provider.then({ fail: 'timeout' });
    const start = clock.now();
    const stale = await a.getToken({ realm: 'wx', key: 's1', flush: true });
    expect(stale).to.include({ token: 'tok-1', source: 'database' });
    expect(stale.deadline).to.be.at.most(start + OVERLAP);
    expect(provider.calls).to.equal(2); // one attempt: a valid token existed
    const after = await store.getTokenState('wx', 's1');
    expect(liveUntil(after!)).to.equal(start + OVERLAP);
    clock.advance(OVERLAP);
    // tok-1 is dead now: never served again; the next request must fetch (after the backoff).
    let served: string | undefined;
    try {
      served = (await b.getToken({ realm: 'wx', key: 's1' })).token;
    } catch (err) {
      expect((err as AppError).status).to.equal(503);
    }
    expect(served).to.not.equal('tok-1');
  });

  it('a holder that died mid-call caps the previous token for everyone, then its lease is taken over', async () => {
    const { store, provider, b } = await withToken();
    const never = new Promise<void>(() => undefined);
    provider.then({ gate: never });
    const dead = makeEngine(store, clock, provider, { instanceId: 'dead', leaseMs: 4_000 });
    void dead.getToken({ realm: 'wx', key: 's1', flush: true }).catch(() => undefined);
    const start = clock.now();
    await settle();
    const read = await b.getToken({ realm: 'wx', key: 's1' });
    expect(read.deadline).to.be.at.most(start + OVERLAP);
    clock.advance(4_001); // the dead holder's lease lapses
    const rescued = await b.getToken({ realm: 'wx', key: 's1' });
    expect(rescued.token).to.equal('tok-3');
    expect(provider.calls).to.equal(3);
  });

  it('an error answer mints nothing: the previous token keeps its full life', async () => {
    const { store, provider, a } = await withToken();
    provider.then({ fail: 'transient' });
    const served = await a.getToken({ realm: 'wx', key: 's1', flush: true });
    expect(served.token).to.equal('tok-1');
    const state = await store.getTokenState('wx', 's1');
    expect(state?.attemptSince).to.equal(undefined);
    expect(liveUntil(state!)).to.equal(state!.expiresAt);
    expect(state?.backoffUntil).to.be.greaterThan(clock.now());
  });

  it('rejects nothing it should not: a report of the current token while the provider is down is a 5xx, not the dead token', async () => {
    const { provider, a } = await withToken();
    provider.then({ fail: 'transient' });
    try {
      await a.getToken({ realm: 'wx', key: 's1', invalidToken: 'tok-1' });
      expect.fail('served the token the app reported invalid');
    } catch (err) {
      expect((err as AppError).status).to.be.within(500, 599);
    }
  });
});
