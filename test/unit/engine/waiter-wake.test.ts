/**
 * A waiting instance is woken by the store's change notification when the lease holder writes, not
 * by its poll: the waiter's clock never ends a sleep, so only the change event can wake it.
 */
import { expect } from 'chai';
import { ManualClock, type Clock } from '../../../functions/clock';
import { AppError } from '../../../functions/errors';
import type { Store } from '../../../functions/store/store';
import { watchChanges } from '../../../functions/store/token-watch';
import { deferred, makeEngine, newStore, ScriptedProvider, seed, type Step } from './engine-harness';

/** A clock whose sleeps never end: a waiter on it can only be woken by a change. */
function sleeplessClock(base: ManualClock): Clock & { sleeps: number } {
  const clock = {
    sleeps: 0,
    now: () => base.now(),
    sleep: () => {
      clock.sleeps++;
      return new Promise<void>(() => undefined);
    },
  };
  return clock;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!condition()) throw new Error('condition not reached');
}

/** A holder instance whose provider call waits for the gate, and a waiter instance on a sleepless clock. */
async function twoInstances(step: Step) {
  const store = newStore();
  const base = new ManualClock();
  await seed(store, base);
  const gate = deferred();
  const provider = new ScriptedProvider().then({ ...step, gate: gate.promise });
  const holder = makeEngine(store, base, provider, { instanceId: 'holder' });
  const sleepless = sleeplessClock(base);
  const waiter = makeEngine(store, sleepless, provider, { instanceId: 'waiter' });
  return { store, gate, provider, holder, waiter, sleepless };
}

describe('waiters woken by the store (memory store)', () => {
  it('hands the holder’s token to a waiter of another instance as soon as it is written', async () => {
    const { store, gate, provider, holder, waiter, sleepless } = await twoInstances({ token: 'from-holder' });

    const held = holder.getToken({ realm: 'wx', key: 's1' });
    await until(() => provider.calls === 1);
    let answered: string | undefined;
    const waited = waiter.getToken({ realm: 'wx', key: 's1' }).then((t) => (answered = t.token));
    // The waiter saw the lease, started watching, decided again on the watch's first report, and
    // is now asleep on a sleep that never ends.
    await until(() => sleepless.sleeps >= 1);
    expect(store.watchers.size).to.equal(1);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(answered).to.equal(undefined);

    gate.resolve();
    expect((await held).token).to.equal('from-holder');
    await waited;
    expect(answered).to.equal('from-holder');
    expect(provider.calls).to.equal(1);
    // The wait closed its watch.
    expect(store.watchers.size).to.equal(0);
  });

  it('decides on the snapshot that woke it: no read of its own once it watches, no longer a life', async () => {
    const { store, gate, provider, holder, waiter, sleepless } = await twoInstances({ token: 'from-holder' });
    const held = holder.getToken({ realm: 'wx', key: 's1' });
    await until(() => provider.calls === 1);
    let reads = 0;
    const read = store.readTokenState.bind(store);
    store.readTokenState = (realm, key) => {
      reads++;
      return read(realm, key);
    };
    const waited = waiter.getToken({ realm: 'wx', key: 's1' });
    await until(() => sleepless.sleeps >= 1);
    expect(reads).to.equal(1); // the hit path's read, before the lease was seen
    gate.resolve();
    const [a, b] = await Promise.all([held, waited]);
    expect(b.token).to.equal('from-holder');
    expect(reads).to.equal(1);
    // Store and instances share one clock here: no served life may end after the stored expiry.
    const stored = await store.getTokenState('wx', 's1');
    expect(stored?.expiresAt).to.be.a('number');
    expect(b.deadline).to.be.at.most(stored?.expiresAt ?? 0);
    expect(a.deadline).to.be.at.most(stored?.expiresAt ?? 0);
    expect(store.watchers.size).to.equal(0);
  });

  it('wakes a waiter with the holder’s failure', async () => {
    const { store, gate, provider, holder, waiter, sleepless } = await twoInstances({ fail: 'permanent' });
    const held = holder.getToken({ realm: 'wx', key: 's1' }).catch((err: unknown) => err);
    await until(() => provider.calls === 1);
    const waited = waiter.getToken({ realm: 'wx', key: 's1' }).catch((err: unknown) => err);
    await until(() => sleepless.sleeps >= 1);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    gate.resolve();
    const [a, b] = await Promise.all([held, waited]);
    expect(a).to.be.instanceOf(AppError);
    expect((b as AppError).code).to.equal('UPSTREAM_ERROR');
    expect(provider.calls).to.equal(1);
    expect(store.watchers.size).to.equal(0);
  });

  it('sleeps until a change or the delay, whichever is first; without a watch it is the plain poll', async () => {
    const store = newStore();
    const clock = new ManualClock();
    await seed(store, clock);
    const watch = watchChanges(store, 'wx', 's1', clock);
    // The watch's first report (as Firestore's first snapshot) wakes the first sleep.
    expect(await watch.sleep(sleeplessClock(clock), 1_000)).to.equal('changed');
    const pending = watch.sleep(sleeplessClock(clock), 1_000);
    await store.mutateTokenState('wx', 's1', (cur) => ({ next: cur, result: undefined }));
    expect(await pending).to.equal('changed');
    expect(await watch.sleep(clock, 1_000)).to.equal('elapsed');
    watch.close();
    expect(store.watchers.size).to.equal(0);

    const pollOnly = { kind: 'memory' } as unknown as Store;
    const noWatch = watchChanges(pollOnly, 'wx', 's1', clock);
    const before = clock.now();
    expect(await noWatch.sleep(clock, 250)).to.equal('elapsed');
    expect(clock.now() - before).to.equal(250);
    noWatch.close();
  });
});
