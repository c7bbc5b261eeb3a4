/**
 * The due scan (engine/refresh-due.ts) on the memory store with a manual clock: every due token in
 * due-time order across pages, never one that is not due, at most `concurrency` refreshes at once,
 * and a run that spends its time budget leaves the rest to the next run (which finds it first).
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
import { refreshDueTokens, type RefreshOutcome } from '../../../functions/engine/refresh-due';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { TokenState } from '../../../functions/store/types';

const HOUR = 3_600_000;

describe('due scan (refreshDueTokens)', () => {
  let clock: ManualClock;
  let store: MemoryStore;

  /** `due` tokens due at 1 s apart in the past (key order reversed), `later` not due for an hour. */
  async function seed(due: number, later: number): Promise<void> {
    const now = clock.now();
    for (let i = 0; i < due + later; i++) {
      const key = `k${String(i).padStart(4, '0')}`;
      const refreshAt = i < due ? now - (i + 1) * 1000 : now + HOUR;
      const state: TokenState = {
        realm: 'r',
        key,
        secretRev: 'x',
        generation: 1,
        token: `t-${key}`,
        expiresAt: refreshAt + 60_000,
        refreshAt,
      };
      await store.mutateTokenState('r', key, () => ({ next: state, result: null }));
    }
  }

  /** A refresh that takes `ms` of clock time and stores a token due in two hours. */
  function refresher(ms: number, log: string[], inFlight = { now: 0, max: 0 }) {
    return async (realm: string, key: string): Promise<RefreshOutcome> => {
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      log.push(key);
      await clock.sleep(ms);
      await store.mutateTokenState(realm, key, (cur) => ({
        next: { ...cur!, refreshAt: clock.now() + 2 * HOUR, expiresAt: clock.now() + 3 * HOUR },
        result: null,
      }));
      inFlight.now--;
      return 'refreshed';
    };
  }

  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryStore(new Sealer(Buffer.alloc(32, 1)));
  });

  it('refreshes every due token across pages, oldest due first, none that is not due', async () => {
    await seed(25, 40);
    const log: string[] = [];
    const inFlight = { now: 0, max: 0 };
    const summary = await refreshDueTokens({
      store,
      clock,
      refreshOne: refresher(10, log, inFlight),
      concurrency: 4,
      budgetMs: 60_000,
      pageSize: 7,
    });
    expect(summary).to.deep.equal({ refreshed: 25, failed: 0, skipped: 0, complete: true });
    expect(new Set(log).size).to.equal(25);
    // The earliest due (the highest index among the due ones) goes first.
    expect(log[0]).to.equal('k0024');
    expect(log.every((k) => Number(k.slice(1)) < 25)).to.equal(true);
    expect(inFlight.max).to.equal(4);
  });

  it('stops starting refreshes when the time budget is spent; the next run continues', async () => {
    await seed(10, 5);
    const first: string[] = [];
    const run = (log: string[]) =>
      refreshDueTokens({
        store,
        clock,
        refreshOne: refresher(10_000, log),
        concurrency: 1,
        budgetMs: 25_000,
      });
    const partial = await run(first);
    // Started at 0, 10 and 20 s; at 30 s the budget is spent.
    expect(partial).to.deep.equal({ refreshed: 3, failed: 0, skipped: 0, complete: false });
    const second: string[] = [];
    const rest = await run(second);
    expect(rest.refreshed).to.equal(3);
    const third: string[] = [];
    await run(third);
    const fourth: string[] = [];
    expect(await run(fourth)).to.deep.equal({ refreshed: 1, failed: 0, skipped: 0, complete: true });
    expect([...first, ...second, ...third, ...fourth]).to.have.length(10);
    expect(new Set([...first, ...second, ...third, ...fourth]).size).to.equal(10);
  });

  it('counts outcomes, and a refresh that throws as failed without stopping the run', async () => {
    await seed(3, 0);
    let n = 0;
    const summary = await refreshDueTokens({
      store,
      clock,
      refreshOne: async () => {
        n++;
        if (n === 1) throw new Error('boom');
        return n === 2 ? 'skipped' : 'refreshed';
      },
      concurrency: 1,
      budgetMs: 1_000,
    });
    expect(summary).to.deep.equal({ refreshed: 1, failed: 1, skipped: 1, complete: true });
  });
});
