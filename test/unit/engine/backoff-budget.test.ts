/**
 * Failed rounds back off across requests and instances; the budget is checked before every attempt;
 * flushes and invalid_token reports share half of it; waiters take the result of their lease.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import { BACKOFF_MAX_MS, backoffMs } from '../../../functions/token/backoff';
import { AppError } from '../../../functions/errors';
import {
  deferred,
  makeEngine,
  newStore,
  REALM_CONFIG,
  ScriptedProvider,
  seed,
  seededEngine,
  settle,
} from './engine-harness';

async function outcome(p: Promise<{ token: string }>): Promise<string> {
  try {
    return (await p).token;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return `${err.status}`;
  }
}

describe('engine: backoff and budget', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  it('backs off from seconds to at most 5 minutes, with jitter', () => {
    expect(backoffMs(1, 0)).to.equal(1_000);
    expect(backoffMs(1, 1)).to.equal(2_000);
    expect(backoffMs(3, 0.5)).to.be.within(4_000, 8_000);
    expect(backoffMs(9, 1)).to.equal(BACKOFF_MAX_MS);
    expect(backoffMs(50, 1)).to.equal(BACKOFF_MAX_MS);
    expect(backoffMs(50, 0)).to.equal(BACKOFF_MAX_MS / 2);
  });

  it('a 30 s outage under steady traffic on 2 instances costs a handful of calls, serves the valid token, and recovers', async () => {
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['s1'], { ...REALM_CONFIG, daily_budget: 40 });
    const provider = new ScriptedProvider();
    const engines = ['a', 'b'].map((id) => makeEngine(store, clock, provider, { instanceId: id }));
    await engines[0]!.getToken({ realm: 'wx', key: 's1' });
    clock.set((await store.getTokenState('wx', 's1'))!.refreshAt! + 1);
    provider.then(...Array.from({ length: 1000 }, () => ({ fail: 'transient' as const })));
    const served: string[] = [];
    for (let i = 0; i < 150; i++) {
      served.push(await outcome(engines[i % 2]!.getToken({ realm: 'wx', key: 's1' })));
      await settle(3);
      clock.advance(200);
    }
    const outageCalls = provider.calls - 1;
    expect(outageCalls).to.be.within(2, 6);
    expect(new Set(served)).to.deep.equal(new Set(['tok-1']));
    const state = await store.getTokenState('wx', 's1');
    expect(state?.failures).to.equal(outageCalls);
    // The provider recovers: within the (capped) backoff the token is refreshed, no 429 ever.
    const ok = new ScriptedProvider();
    const healed = makeEngine(store, clock, ok, { instanceId: 'c' });
    clock.advance(state!.backoffUntil! - clock.now());
    await healed.getToken({ realm: 'wx', key: 's1' });
    await settle();
    const after = await store.getTokenState('wx', 's1');
    expect(after?.token).to.equal('tok-1'); // ok's first token
    expect(after?.failures).to.equal(undefined);
    expect(after?.backoffUntil).to.equal(undefined);
  });

  it('keeps one last attempt before a valid token ends: an outage that ends in time costs no 503', async () => {
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['s1'], { ...REALM_CONFIG, timeout_ms: 2_000 });
    const provider = new ScriptedProvider();
    provider.lifetimeMs = 30_000;
    const engine = makeEngine(store, clock, provider);
    await engine.getToken({ realm: 'wx', key: 's1' });
    const fetched = (await store.getTokenState('wx', 's1'))!;
    clock.set(fetched.refreshAt! + 1);
    provider.then(...Array.from({ length: 4 }, () => ({ fail: 'transient' as const })));
    const statuses = new Set<string>();
    while (clock.now() < fetched.expiresAt! + 5_000) {
      statuses.add(await outcome(engine.getToken({ realm: 'wx', key: 's1' })));
      await settle(3);
      clock.advance(200);
    }
    // Four failed rounds, the backoff cut short before the token's end, then the fifth succeeded in time.
    expect(provider.calls).to.equal(1 + 5);
    expect(statuses).to.deep.equal(new Set(['tok-1', 'tok-6']));
  });

  it('with no valid token, other instances get 503 with Retry-After during the backoff, without a call', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider().then(
      ...Array.from({ length: 5 }, () => ({ fail: 'transient' as const })),
    );
    const a = makeEngine(store, clock, provider, { instanceId: 'a' });
    const b = makeEngine(store, clock, provider, { instanceId: 'b' });
    expect(await outcome(a.getToken({ realm: 'wx', key: 's1' }))).to.equal('502');
    expect(provider.calls).to.equal(5); // nothing to fall back on: the round retried
    try {
      await b.getToken({ realm: 'wx', key: 's1' });
      expect.fail('expected 503');
    } catch (err) {
      expect((err as AppError).status).to.equal(503);
      expect((err as AppError).retryAfter).to.be.greaterThan(0);
      expect((err as AppError).details).to.include({ failures: 1 });
    }
    expect(provider.calls).to.equal(5);
  });

  it('checks the budget before every attempt, retries included (budget 3: 3 calls, then 429)', async () => {
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['s1'], { ...REALM_CONFIG, daily_budget: 3 });
    const provider = new ScriptedProvider().then(
      ...Array.from({ length: 5 }, () => ({ fail: 'transient' as const })),
    );
    const err = await outcome(makeEngine(store, clock, provider).getToken({ realm: 'wx', key: 's1' }));
    expect(err).to.equal('429');
    expect(provider.calls).to.equal(3);
    expect((await store.getTokenState('wx', 's1'))?.callsToday).to.equal(3);
  });

  it('flushes and invalid_token reports together use at most half the budget, then get the current token', async () => {
    const { store, provider, engine } = await seededEngine(clock, {
      config: { ...REALM_CONFIG, daily_budget: 9 },
    });
    await engine.getToken({ realm: 'wx', key: 's1' });
    const tokens: string[] = [];
    for (let i = 0; i < 12; i++) {
      clock.advance(10_500); // past flush_min_interval each time
      const current = (await store.getTokenState('wx', 's1'))!.token!;
      const req = i % 2 === 0 ? { flush: true } : { invalidToken: current };
      tokens.push((await engine.getToken({ realm: 'wx', key: 's1', ...req })).token);
    }
    expect(provider.calls).to.equal(1 + 4); // floor(9 / 2) = 4 for flushes and reports
    expect(tokens.slice(4).every((t) => t === 'tok-5')).to.equal(true);
    const state = await store.getTokenState('wx', 's1');
    expect(state).to.include({ callsToday: 5, flushCallsToday: 4 });
    // The other half is kept for due-time refreshes.
    clock.set(state!.refreshAt! + 1);
    await engine.refreshOne('wx', 's1');
    expect(provider.calls).to.equal(6);
  });

  it('concurrent flushes on two instances against a slow provider make one call: the waiter takes the holder’s result', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider();
    const a = makeEngine(store, clock, provider, { instanceId: 'a' });
    const b = makeEngine(store, clock, provider, { instanceId: 'b' });
    await a.getToken({ realm: 'wx', key: 's1' });
    clock.advance(60_000);
    const gate = deferred();
    provider.then({ gate: gate.promise });
    const start = clock.now();
    const fa = a.getToken({ realm: 'wx', key: 's1', flush: true });
    await settle();
    const fb = b.getToken({ realm: 'wx', key: 's1', flush: true });
    while (clock.now() < start + 10_500) await settle(1); // b's polls move the clock on
    gate.resolve();
    const [ra, rb] = await Promise.all([fa, fb]);
    expect(ra.token).to.equal('tok-2');
    expect(rb.token).to.equal('tok-2');
    expect(provider.calls).to.equal(2);
  });

  it('answers invalid_token reports with an outcome: refreshed, newer, unchanged', async () => {
    const { provider, engine } = await seededEngine(clock);
    await engine.getToken({ realm: 'wx', key: 's1' });
    clock.advance(60_000);
    const refreshed = await engine.getToken({ realm: 'wx', key: 's1', invalidToken: 'tok-1' });
    expect(refreshed).to.include({ token: 'tok-2', outcome: 'refreshed' });
    const newer = await engine.getToken({ realm: 'wx', key: 's1', invalidToken: 'tok-1' });
    expect(newer).to.include({ token: 'tok-2', outcome: 'newer' });
    const unchanged = await engine.getToken({ realm: 'wx', key: 's1', invalidToken: 'tok-2' });
    expect(unchanged).to.include({ token: 'tok-2', outcome: 'unchanged' });
    expect(provider.calls).to.equal(2);
  });
});
