/**
 * The engine's lease and versioning rules on real Firestore compare-and-sets (emulator), several
 * engine instances in one process sharing one database. Time is Firestore's (read times): instance
 * clocks skewed in-process by ±10 s change no judgement.
 */
import { expect } from 'chai';
import { ManualClock, skewedClock, systemClock } from '../../functions/clock';
import { tokenReply } from '../../functions/http/routes/token';
import { openStore } from '../../functions/store/open-store';
import { Sealer } from '../../functions/store/seal';
import type { Store } from '../../functions/store/store';
import { clearEmulator, emulatorHostFromEnv } from '../helpers/emulator';
import { TEST_PROJECT_ID } from '../helpers/processes';
import { deferred, makeEngine, MASTER, ScriptedProvider, seed } from '../unit/engine/engine-harness';

describe('token engine on Firestore (emulator)', function () {
  this.timeout(60_000);
  let store: Store;
  let clock: ManualClock;
  const projectId = process.env.GOOGLE_CLOUD_PROJECT || TEST_PROJECT_ID;

  before(() => {
    store = openStore(
      { store: 'firestore', projectId, emulatorHost: emulatorHostFromEnv() },
      new Sealer(MASTER),
      'engine-firestore',
    );
  });
  beforeEach(async () => {
    await clearEmulator(emulatorHostFromEnv(), projectId);
    clock = new ManualClock(Date.now());
    await seed(store, clock);
  });
  after(async () => store.close());

  it('lets exactly one of 4 instances call the provider for 80 concurrent requests', async () => {
    const gate = deferred();
    const provider = new ScriptedProvider().then({ gate: gate.promise });
    // Real time here: waiting instances poll Firestore while the holder's call is held open.
    const engines = ['a', 'b', 'c', 'd'].map((id) =>
      makeEngine(store, systemClock, provider, { instanceId: id }),
    );
    const all = Promise.all(
      engines.flatMap((e) => Array.from({ length: 20 }, () => e.getToken({ realm: 'wx', key: 's1' }))),
    );
    while (provider.calls === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300)); // everybody else is waiting now
    gate.resolve();
    const results = await all;
    expect(provider.calls).to.equal(1);
    expect(new Set(results.map((r) => r.token))).to.deep.equal(new Set(['tok-1']));
  });

  it('rejects the write of a slow holder whose lease lapsed (by Firestore time) and was taken over', async () => {
    const slow = deferred();
    const provider = new ScriptedProvider().then({ token: 'old', gate: slow.promise }, { token: 'new' });
    const a = makeEngine(store, systemClock, provider, { instanceId: 'a', leaseMs: 1_500 });
    const b = makeEngine(store, systemClock, provider, { instanceId: 'b', leaseMs: 5_000, waitMs: 0 });
    const pa = a.getToken({ realm: 'wx', key: 's1' });
    while (provider.calls === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 1_700)); // a's lease lapses in store time
    expect((await b.getToken({ realm: 'wx', key: 's1' })).token).to.equal('new');
    slow.resolve();
    expect((await pa).token).to.equal('new');
    const state = await store.getTokenState('wx', 's1');
    expect(state?.token).to.equal('new');
    expect(state?.lease).to.equal(undefined);
  });

  it('answers the read time of Firestore as the store’s now, whatever the instance clock says', async () => {
    const before = Date.now();
    const read = await store.readTokenState('wx', 's1');
    const after = Date.now();
    // The emulator runs on this host: its clock is ours, give or take its own rounding.
    expect(read.now).to.be.within(before - 1_000, after + 1_000);
    expect(read.state?.generation).to.equal(1);
  });

  it('an instance 10 s fast neither takes over a live lease nor calls the provider a second time', async () => {
    const gate = deferred();
    const provider = new ScriptedProvider().then({ gate: gate.promise });
    const holder = makeEngine(store, systemClock, provider, { instanceId: 'a', leaseMs: 6_000 });
    const fast = makeEngine(store, skewedClock(systemClock, 10_000), provider, {
      instanceId: 'fast',
      waitMs: 2_000,
    });
    const held = holder.getToken({ realm: 'wx', key: 's1' });
    while (provider.calls === 0) await new Promise((r) => setTimeout(r, 10));
    let code: string | undefined;
    try {
      await fast.getToken({ realm: 'wx', key: 's1' });
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    expect(code).to.equal('REFRESH_IN_PROGRESS');
    expect(provider.calls).to.equal(1);
    gate.resolve();
    expect((await held).token).to.equal('tok-1');
  });

  it('a token stored by a fast holder is served by a slow instance for no longer than its real life', async () => {
    const provider = new ScriptedProvider();
    provider.lifetimeMs = 8_000;
    const fast = makeEngine(store, skewedClock(systemClock, 10_000), provider, { instanceId: 'fast' });
    const slowClock = skewedClock(systemClock, -10_000);
    const slow = makeEngine(store, slowClock, provider, { instanceId: 'slow' });
    const start = Date.now();
    await fast.getToken({ realm: 'wx', key: 's1' });
    const state = await store.getTokenState('wx', 's1');
    expect(state!.expiresAt!).to.be.at.most(Date.now() + 8_000 + 1_000); // store time, not the fast clock
    expect(state!.expiresAt!).to.be.at.least(start + 8_000 - 1_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const served = await slow.getToken({ realm: 'wx', key: 's1' });
    const reply = tokenReply(served, slowClock.now()).body as { expires_in: number };
    const realLeft = state!.expiresAt! - Date.now();
    expect(reply.expires_in).to.be.at.most(realLeft + 50);
    expect(reply.expires_in).to.be.greaterThan(0);
  });

  it('records a permanent failure, releases the lease and remembers the error', async () => {
    const provider = new ScriptedProvider().then({ fail: 'permanent', code: '40013' });
    const engine = makeEngine(store, clock, provider);
    let code: string | undefined;
    try {
      await engine.getToken({ realm: 'wx', key: 's1' });
    } catch (err) {
      code = (err as { code?: string }).code;
    }
    expect(code).to.equal('UPSTREAM_ERROR');
    const state = await store.getTokenState('wx', 's1');
    expect(state?.lease).to.equal(undefined);
    expect(state?.lastError).to.include({ providerCode: '40013', permanent: true });
    expect(state?.blockedUntil).to.be.greaterThan(clock.now());
  });
});
