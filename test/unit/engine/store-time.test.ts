/**
 * Every cross-instance judgement by the store's clock: engines whose clocks are 7-10 s off the
 * store's (an injected skewed clock) agree on leases, expiry, flush windows and budget days.
 */
import { expect } from 'chai';
import { ManualClock, skewedClock } from '../../../functions/clock';
import { AppError } from '../../../functions/errors';
import { tokenReply } from '../../../functions/http/routes/token';
import {
  makeEngine,
  newStore,
  REALM_CONFIG,
  ScriptedProvider,
  deferred,
  seed,
  settle,
  rejection,
} from './engine-harness';

describe('engine: time from the store, not the instance', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  it('an instance whose clock is 10 s fast does not take over a live lease', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const gate = deferred();
    const provider = new ScriptedProvider().then({ gate: gate.promise });
    const holder = makeEngine(store, clock, provider, { instanceId: 'a', leaseMs: 8_000 });
    const fast = makeEngine(store, skewedClock(clock, 10_000), provider, { instanceId: 'b', waitMs: 3_000 });
    const held = holder.getToken({ realm: 'wx', key: 's1' });
    await settle();
    expect(provider.calls).to.equal(1);
    const err = await rejection(fast.getToken({ realm: 'wx', key: 's1' }));
    expect(err.code).to.equal('REFRESH_IN_PROGRESS');
    expect(provider.calls).to.equal(1); // it waited instead of calling a second time
    gate.resolve();
    expect((await held).token).to.equal('tok-1');
    expect((await store.getTokenState('wx', 's1'))?.token).to.equal('tok-1');
  });

  it('a holder with a fast clock stores the real expiry, and a slow instance is never told a longer life', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider();
    provider.lifetimeMs = 60_000;
    const fastClock = skewedClock(clock, 10_000);
    const slowClock = skewedClock(clock, -10_000);
    const fast = makeEngine(store, fastClock, provider, { instanceId: 'fast' });
    const slow = makeEngine(store, slowClock, provider, { instanceId: 'slow' });
    const fetchedAt = clock.now();
    const first = await fast.getToken({ realm: 'wx', key: 's1' });
    const state = await store.getTokenState('wx', 's1');
    expect(state?.expiresAt).to.equal(fetchedAt + 60_000); // store time, not the fast clock's
    expect(first.deadline - fastClock.now()).to.be.at.most(60_000);
    clock.advance(54_000); // 6 s of real life left
    const late = await slow.getToken({ realm: 'wx', key: 's1' });
    const reply = tokenReply(late, slowClock.now()).body as { expires_in: number; expires_at: string };
    expect(reply.expires_in).to.be.at.most(6_000);
    expect(Date.parse(reply.expires_at)).to.be.at.most(fetchedAt + 60_000); // named in store time
  });

  it('a flush 4.5 s after a fetch, on an instance 7 s behind, gets that token without a call', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider();
    const a = makeEngine(store, skewedClock(clock, 7_000), provider, { instanceId: 'a' });
    const b = makeEngine(store, skewedClock(clock, -7_000), provider, { instanceId: 'b' });
    await a.getToken({ realm: 'wx', key: 's1' });
    clock.advance(30_000);
    expect((await a.getToken({ realm: 'wx', key: 's1', flush: true })).token).to.equal('tok-2');
    clock.advance(4_500);
    const flushed = await b.getToken({ realm: 'wx', key: 's1', flush: true });
    expect(flushed).to.include({ token: 'tok-2', source: 'database' });
    expect(provider.calls).to.equal(2);
  });

  it('counts the budget in the store’s UTC day: instances 7 s either side of midnight share one counter', async () => {
    clock.set(Date.UTC(2026, 10, 24, 23, 59, 45));
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['s1'], { ...REALM_CONFIG, daily_budget: 3 });
    const provider = new ScriptedProvider();
    provider.lifetimeMs = 2_000;
    const ahead = makeEngine(store, skewedClock(clock, 7_000), provider, { instanceId: 'ahead' });
    const behind = makeEngine(store, skewedClock(clock, -7_000), provider, { instanceId: 'behind' });
    const engines = [ahead, behind];
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        outcomes.push((await engines[i % 2]!.getToken({ realm: 'wx', key: 's1' })).token);
      } catch (err) {
        outcomes.push((err as AppError).code);
      }
      clock.advance(2_500); // the token has expired
    }
    expect(provider.calls).to.equal(3);
    expect(outcomes.slice(3)).to.deep.equal(['QUOTA_EXHAUSTED', 'QUOTA_EXHAUSTED']);
    const state = await store.getTokenState('wx', 's1');
    expect(state).to.include({ callsDay: '2026-11-24', callsToday: 3 });
  });
});
