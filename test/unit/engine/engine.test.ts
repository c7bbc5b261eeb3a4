import { expect } from 'chai';
import { toStatus } from '../../../functions/admin/views';
import { ManualClock } from '../../../functions/clock';
import { EdgeCache } from '../../../functions/engine/edge-cache';
import {
  deferred,
  makeEngine,
  newStore,
  ScriptedProvider,
  seed,
  seededEngine,
  REALM_CONFIG,
  rejection,
} from './engine-harness';

describe('token engine', () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock();
  });

  it('fetches once, then serves the stored token from the database', async () => {
    const { provider, engine } = await seededEngine(clock);
    const first = await engine.getToken({ realm: 'wx', key: 's1' });
    expect(first).to.include({ token: 'tok-1', source: 'upstream' });
    clock.advance(60_000);
    const second = await engine.getToken({ realm: 'wx', key: 's1' });
    expect(second).to.include({ token: 'tok-1', source: 'database' });
    expect(provider.calls).to.equal(1);
    expect(second.deadline).to.equal(first.deadline);
  });

  it('answers 404 for an unknown secret without calling the provider', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider();
    const err = await rejection(makeEngine(store, clock, provider).getToken({ realm: 'wx', key: 'nope' }));
    expect(err.code).to.equal('NOT_FOUND');
    expect(provider.calls).to.equal(0);
  });

  it('collapses 200 concurrent requests in one instance into one upstream call', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const gate = deferred();
    const provider = new ScriptedProvider().then({ gate: gate.promise });
    const engine = makeEngine(store, clock, provider);
    const all = Promise.all(Array.from({ length: 200 }, () => engine.getToken({ realm: 'wx', key: 's1' })));
    await new Promise((r) => setImmediate(r));
    gate.resolve();
    const results = await all;
    expect(provider.calls).to.equal(1);
    expect(new Set(results.map((r) => r.token))).to.deep.equal(new Set(['tok-1']));
  });

  it('lets only the lease holder call the provider across instances; the others wait and get its token', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const gate = deferred();
    const provider = new ScriptedProvider().then({ gate: gate.promise });
    const engines = ['a', 'b', 'c', 'd'].map((id) => makeEngine(store, clock, provider, { instanceId: id }));
    const all = Promise.all(
      engines.flatMap((e) => Array.from({ length: 25 }, () => e.getToken({ realm: 'wx', key: 's1' }))),
    );
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    gate.resolve();
    const results = await all;
    expect(provider.calls).to.equal(1);
    expect(results.every((r) => r.token === 'tok-1')).to.equal(true);
  });

  it('never lets a slow holder whose lease lapsed overwrite the newer token written meanwhile', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const slow = deferred();
    const provider = new ScriptedProvider().then({ token: 'old', gate: slow.promise }, { token: 'new' });
    const a = makeEngine(store, clock, provider, { instanceId: 'a', leaseMs: 5_000 });
    const b = makeEngine(store, clock, provider, { instanceId: 'b', leaseMs: 5_000, waitMs: 0 });
    const pa = a.getToken({ realm: 'wx', key: 's1' });
    await new Promise((r) => setImmediate(r));
    expect(provider.calls).to.equal(1);
    clock.advance(6_000); // a's lease lapses while its provider call hangs
    const rb = await b.getToken({ realm: 'wx', key: 's1' });
    expect(rb).to.include({ token: 'new', source: 'upstream' });
    slow.resolve();
    const ra = await pa;
    expect(ra.token).to.equal('new'); // a discards its own result and serves the current token
    const state = await store.getTokenState('wx', 's1');
    expect(state?.token).to.equal('new');
    expect(state?.generation).to.equal(2); // fresh state (1) + one accepted write
  });

  it('takes over a lease whose holder died, once it lapses', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const never = new Promise<void>(() => undefined);
    const provider = new ScriptedProvider().then({ gate: never }, { token: 'rescued' });
    const dead = makeEngine(store, clock, provider, { instanceId: 'dead', leaseMs: 3_000 });
    void dead.getToken({ realm: 'wx', key: 's1' }).catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    const alive = makeEngine(store, clock, provider, { instanceId: 'alive', leaseMs: 3_000 });
    const r = await alive.getToken({ realm: 'wx', key: 's1' }); // waits (polls) until the lease lapses
    expect(r.token).to.equal('rescued');
    expect(provider.calls).to.equal(2);
  });

  it('answers 503 with Retry-After when the wait for another holder is over', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const never = new Promise<void>(() => undefined);
    const provider = new ScriptedProvider().then({ gate: never });
    void makeEngine(store, clock, provider, { instanceId: 'x' })
      .getToken({ realm: 'wx', key: 's1' })
      .catch(() => undefined);
    await new Promise((r) => setImmediate(r));
    const err = await rejection(
      makeEngine(store, clock, provider, { instanceId: 'y', waitMs: 2_000 }).getToken({
        realm: 'wx',
        key: 's1',
      }),
    );
    expect(err.code).to.equal('REFRESH_IN_PROGRESS');
    expect(err.status).to.equal(503);
    expect(err.retryAfter).to.be.greaterThan(0);
  });

  it('collapses 100 concurrent flushes into one upstream call, and a flush right after a fetch makes none', async () => {
    const { provider, engine } = await seededEngine(clock);
    await engine.getToken({ realm: 'wx', key: 's1' });
    clock.advance(60_000);
    const results = await Promise.all(
      Array.from({ length: 100 }, () => engine.getToken({ realm: 'wx', key: 's1', flush: true })),
    );
    expect(provider.calls).to.equal(2);
    expect(results.every((r) => r.token === 'tok-2')).to.equal(true);
    clock.advance(5_000); // within flush_min_interval (10 s)
    const again = await engine.getToken({ realm: 'wx', key: 's1', flush: true });
    expect(again.token).to.equal('tok-2');
    expect(provider.calls).to.equal(2);
  });

  it('refreshes on a report of the current token once, and answers a stale report with the newer token', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider();
    const engines = ['a', 'b'].map((id) => makeEngine(store, clock, provider, { instanceId: id }));
    await engines[0]!.getToken({ realm: 'wx', key: 's1' });
    clock.advance(120_000);
    const reports = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        engines[i % 2]!.getToken({ realm: 'wx', key: 's1', invalidToken: 'tok-1' }),
      ),
    );
    expect(provider.calls).to.equal(2);
    expect(reports.every((r) => r.token === 'tok-2')).to.equal(true);
    const late = await engines[1]!.getToken({ realm: 'wx', key: 's1', invalidToken: 'tok-1' });
    expect(late.token).to.equal('tok-2');
    expect(provider.calls).to.equal(2);
  });

  it('retries transient errors and succeeds within the budget', async () => {
    const store = newStore(clock);
    await seed(store, clock);
    const provider = new ScriptedProvider().then({ fail: 'transient' }, { fail: 'transient' });
    const r = await makeEngine(store, clock, provider).getToken({ realm: 'wx', key: 's1' });
    expect(r.token).to.equal('tok-3');
    expect(provider.calls).to.equal(3);
    const status = (await store.listTokenStates()).map((s) => toStatus(s, clock.now()));
    expect(status[0]?.calls_today).to.equal(3);
  });

  it('does not retry a permanent error, reports the provider code, and remembers it for a while', async () => {
    const { provider, engine } = await seededEngine(clock, {
      provider: new ScriptedProvider().then({ fail: 'permanent', code: '40164' }),
    });
    const err = await rejection(engine.getToken({ realm: 'wx', key: 's1' }));
    expect(err.status).to.equal(502);
    expect(err.details).to.include({ providerCode: '40164' });
    expect(provider.calls).to.equal(1);
    clock.advance(30_000);
    const again = await rejection(engine.getToken({ realm: 'wx', key: 's1', flush: true }));
    expect(again.details).to.include({ providerCode: '40164', negativeCache: true });
    expect(provider.calls).to.equal(1);
    clock.advance(31_000); // past the 60 s negative cache
    const ok = await engine.getToken({ realm: 'wx', key: 's1' });
    expect(ok.token).to.equal('tok-2');
  });

  it('serves the cached token while valid when a refresh fails (stale-if-error)', async () => {
    const { store, provider, engine } = await seededEngine(clock);
    await engine.getToken({ realm: 'wx', key: 's1' });
    provider.then({ fail: 'permanent', code: '45009' });
    clock.advance(30_000);
    const r = await engine.getToken({ realm: 'wx', key: 's1', flush: true });
    expect(r).to.include({ token: 'tok-1', source: 'database' });
    const [status] = (await store.listTokenStates()).map((s) => toStatus(s, clock.now()));
    expect(status?.last_error).to.include({ provider_code: '45009', permanent: true });
  });

  it('stops calling the provider past the daily budget: 429 without a valid token', async () => {
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['s1'], { ...REALM_CONFIG, daily_budget: 3 });
    const provider = new ScriptedProvider();
    provider.lifetimeMs = 60_000;
    const engine = makeEngine(store, clock, provider);
    for (let i = 0; i < 3; i++) {
      expect((await engine.getToken({ realm: 'wx', key: 's1' })).token).to.equal(`tok-${i + 1}`);
      clock.advance(61_000); // expired: the next request must fetch
    }
    const err = await rejection(engine.getToken({ realm: 'wx', key: 's1' }));
    expect(err.code).to.equal('QUOTA_EXHAUSTED');
    expect(err.status).to.equal(429);
    expect(provider.calls).to.equal(3);
  });

  it('caps the served lifetime at the real remaining life and at the overlap for invalidating providers', async () => {
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['s1'], {
      ...REALM_CONFIG,
      invalidates_previous: true,
      overlap_ms: 300_000,
    });
    const provider = new ScriptedProvider();
    const engine = makeEngine(store, clock, provider);
    const r = await engine.getToken({ realm: 'wx', key: 's1' });
    expect(r.deadline - clock.now()).to.be.at.most(300_000);
    clock.advance(7_000_000); // 200 s of real life left, below the overlap
    const late = await engine.getToken({ realm: 'wx', key: 's1' });
    const state = await store.getTokenState('wx', 's1');
    expect(late.deadline).to.be.at.most(state!.expiresAt!);
    expect(late.deadline - clock.now()).to.be.at.most(200_000);
  });

  it('refreshes a due token in the background while serving the current one at once', async () => {
    const { store, provider, engine } = await seededEngine(clock);
    await engine.getToken({ realm: 'wx', key: 's1' });
    const state = await store.getTokenState('wx', 's1');
    clock.set(state!.refreshAt! + 1);
    const gate = deferred();
    provider.then({ gate: gate.promise });
    const r = await engine.getToken({ realm: 'wx', key: 's1' });
    expect(r).to.include({ token: 'tok-1', source: 'database' }); // did not wait for the provider
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    expect(provider.calls).to.equal(2);
    gate.resolve();
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    const after = await engine.getToken({ realm: 'wx', key: 's1' });
    expect(after.token).to.equal('tok-2');
  });

  it('spreads the refreshes of 1,000 secrets fetched at one instant over at least 10% of their lifetime', async () => {
    const store = newStore(clock);
    const keys = Array.from({ length: 1000 }, (_, i) => `s${i}`);
    await seed(store, clock, 'wx', keys);
    const provider = new ScriptedProvider();
    const engine = makeEngine(store, clock, provider);
    for (const key of keys) await engine.getToken({ realm: 'wx', key });
    const due = (await store.listTokenStates()).map((s) => s.refreshAt!);
    const spread = Math.max(...due) - Math.min(...due);
    expect(spread).to.be.at.least(0.1 * 7_200_000 * 0.98);
    // And no refresh is scheduled past expiry minus the minimum lead.
    expect(Math.max(...due)).to.be.at.most(clock.now() + 7_200_000 - 60_000);
  });

  it('POST /api/refresh refreshes only what is due, with bounded concurrency', async () => {
    const store = newStore(clock);
    await seed(store, clock, 'wx', ['a', 'b', 'c']);
    const provider = new ScriptedProvider();
    const engine = makeEngine(store, clock, provider);
    const first = await engine.refreshDue(2); // never fetched → fetched now
    expect(first).to.deep.equal({ refreshed: 3, failed: 0, skipped: 0, complete: true });
    const none = await engine.refreshDue(2); // nothing is due: the due query finds nothing
    expect(none).to.deep.equal({ refreshed: 0, failed: 0, skipped: 0, complete: true });
    clock.advance(7_200_000 - 50_000); // all due now
    const again = await engine.refreshDue(2);
    expect(again.refreshed).to.equal(3);
    expect(provider.calls).to.equal(6);
  });
});

describe('edge cache', () => {
  it('serves hits from memory without a store read, never past the deadline, and replaces a flushed token', async () => {
    const clock = new ManualClock();
    const { store, engine } = await seededEngine(clock);
    const cache = new EdgeCache(engine, clock);
    let reads = 0;
    const original = store.getTokenState.bind(store);
    store.getTokenState = async (r, k) => {
      reads++;
      return original(r, k);
    };
    expect((await cache.getToken({ realm: 'wx', key: 's1' })).source).to.equal('upstream');
    const readsAfterFetch = reads;
    for (let i = 0; i < 50; i++)
      expect((await cache.getToken({ realm: 'wx', key: 's1' })).source).to.equal('memory');
    expect(reads).to.equal(readsAfterFetch);
    clock.advance(20_000);
    const flushed = await cache.getToken({ realm: 'wx', key: 's1', flush: true });
    expect(flushed.token).to.equal('tok-2');
    const hit = await cache.getToken({ realm: 'wx', key: 's1' });
    expect(hit).to.include({ token: 'tok-2', source: 'memory' });
    clock.advance(7_300_000);
    const expired = await cache.getToken({ realm: 'wx', key: 's1' });
    expect(expired.source).to.not.equal('memory');
  });
});
