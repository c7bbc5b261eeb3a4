/**
 * The engine's lease and versioning rules on real Firestore transactions (emulator), several engine
 * instances in one process sharing one database: the manual clock lets a lease lapse on demand.
 */
import { expect } from 'chai';
import { ManualClock, systemClock } from '../../functions/clock';
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
    store = openStore({ store: 'firestore', projectId }, new Sealer(MASTER), 'engine-firestore');
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
