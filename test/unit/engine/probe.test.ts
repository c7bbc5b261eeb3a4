/**
 * Probes (SPEC §6 "Outside kills") in one process, against the ticket fake's WeChat endpoints: a live
 * token is left alone, a token killed from outside is refreshed at once, each secret is probed at most
 * once per interval, probes count in the daily budget, and realms without a probe are never probed.
 */
import { expect } from 'chai';
import { ManualClock, skewedClock, type Clock } from '../../../functions/clock';
import { TokenEngine } from '../../../functions/engine/engine';
import { probeTokens, type ProbeDeps } from '../../../functions/engine/probe';
import { freshState } from '../../../functions/token/decide';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { Store } from '../../../functions/store/store';
import type { JsonObject } from '../../../functions/store/types';
import { startTicketFake, ticketRealm, WECHAT_APP, type TicketFake } from '../../fakes/tickets';

describe('probes for tokens killed from outside', function () {
  this.timeout(30_000);
  let fake: TicketFake;
  let store: Store;
  let clock: ManualClock;
  let engine: TokenEngine;
  let deps: ProbeDeps;

  async function put(realm: string, config: JsonObject, values: Record<string, string>, parent?: string) {
    const now = clock.now();
    await store.putRealm({ id: realm, comment: '', config, createdAt: now, updatedAt: now });
    await store.putSecret(
      {
        realm,
        key: 'main',
        values,
        ...(parent === undefined ? {} : { parent }),
        rev: 'r',
        createdAt: now,
        updatedAt: now,
      },
      (cur) => freshState(realm, 'main', 'r', cur),
    );
  }

  async function putKey(realm: string, key: string) {
    const now = clock.now();
    const secret = { realm, key, values: { ...WECHAT_APP }, rev: 'r', createdAt: now, updatedAt: now };
    await store.putSecret(secret, (cur) => freshState(realm, key, 'r', cur));
  }

  /** A memory store on `storeClock`, and an engine (and probe deps) on the instance's clock. */
  function start(storeClock: ManualClock, instanceClock: Clock = storeClock) {
    clock = storeClock;
    store = new MemoryStore(new Sealer(Buffer.alloc(32, 5)), storeClock);
    engine = new TokenEngine({
      store,
      clock: instanceClock,
      random: () => 0.5,
      instanceId: 'probe-test',
      leaseMs: 15_000,
      waitMs: 20_000,
      allowPrivateUpstreams: true,
    });
    deps = {
      store,
      allowPrivateUpstreams: true,
      instanceId: 'probe-test',
      getToken: (req) => engine.getToken(req),
    };
  }

  before(async () => {
    fake = await startTicketFake();
  });
  after(() => fake.close());
  beforeEach(async () => {
    fake.reset();
    // Noon UTC: the probes below must not cross a budget day.
    start(new ManualClock(Date.UTC(2026, 10, 24, 12, 0, 0)));
    await put('wx', ticketRealm('wechat_offiaccount', fake.url), { ...WECHAT_APP });
    await put('wxticket', ticketRealm('wechat_jsapi_ticket', fake.url), {}, 'wx/main');
  });

  it('leaves a live token alone, probes once per interval, and refreshes a token killed from outside at once', async () => {
    const first = await engine.getToken({ realm: 'wx', key: 'main' });
    await engine.getToken({ realm: 'wxticket', key: 'main' });
    expect(await probeTokens(deps), 'too young to probe').to.deep.equal({ probed: 0, dead: 0, refreshed: 0 });

    clock.advance(301_000);
    expect(await probeTokens(deps)).to.deep.equal({ probed: 1, dead: 0, refreshed: 0 });
    expect(fake.calls('wechat_probe')).to.equal(1);
    expect(await probeTokens(deps), 'probed moments ago').to.deep.equal({ probed: 0, dead: 0, refreshed: 0 });
    expect((await store.getTokenState('wx', 'main'))?.callsToday, 'the fetch and the probe').to.equal(2);

    fake.kill(first.token);
    clock.advance(301_000);
    expect(await probeTokens(deps)).to.deep.equal({ probed: 1, dead: 1, refreshed: 1 });
    expect(fake.calls('wechat_probe')).to.equal(2);
    expect(fake.calls('wechat_offiaccount')).to.equal(2);
    const next = await engine.getToken({ realm: 'wx', key: 'main' });
    expect(next.token).to.not.equal(first.token);
    expect(fake.tokenValid(next.token)).to.equal(true);
    // The ticket realm has no probe: its token is never probed.
    expect(fake.calls('wechat_jsapi_ticket')).to.equal(1);
  });

  it('does not probe past the daily budget, nor a secret that has no token yet', async () => {
    await put('wx', { ...ticketRealm('wechat_offiaccount', fake.url), daily_budget: 1 }, { ...WECHAT_APP });
    await store.putSecret(
      {
        realm: 'wx',
        key: 'idle',
        values: { ...WECHAT_APP },
        rev: 'r',
        createdAt: clock.now(),
        updatedAt: clock.now(),
      },
      (cur) => freshState('wx', 'idle', 'r', cur),
    );
    await engine.getToken({ realm: 'wx', key: 'main' });
    clock.advance(301_000);
    expect(await probeTokens(deps)).to.deep.equal({ probed: 0, dead: 0, refreshed: 0 });
    expect(fake.calls('wechat_probe')).to.equal(0);
  });

  // Issue 23: the probe's claim counted its call by hand (carrying yesterday's flush count into a
  // new day, so the report of the dead token was refused as "flush share used") and judged its
  // interval and budget day by the instance's clock. Both directions of an 8 s skew, across midnight.
  for (const offsetMs of [-8_000, 8_000]) {
    it(`refreshes a dead token found by the first probe of a new UTC day (instance clock ${offsetMs > 0 ? '+' : ''}${offsetMs / 1000} s, yesterday's flush share used)`, async () => {
      const storeClock = new ManualClock(Date.UTC(2026, 10, 24, 23, 59, 58));
      start(storeClock, skewedClock(storeClock, offsetMs));
      await put(
        'wx',
        { ...ticketRealm('wechat_offiaccount', fake.url), daily_budget: 10 },
        { ...WECHAT_APP },
      );
      const first = await engine.getToken({ realm: 'wx', key: 'main' });
      // Five flush calls on that day: the flush share of a budget of 10 is used up.
      await store.mutateTokenState('wx', 'main', (cur) =>
        cur === null
          ? { result: null }
          : { next: { ...cur, callsToday: 6, flushCallsToday: 5 }, result: null },
      );
      fake.kill(first.token);
      // Just past the probe interval by the store's clock, on the next UTC day.
      storeClock.advance(300_000 + 1_000);
      expect(await probeTokens(deps)).to.deep.equal({ probed: 1, dead: 1, refreshed: 1 });
      const state = await store.getTokenState('wx', 'main');
      expect(state?.token).to.not.equal(first.token);
      expect(fake.tokenValid(state?.token ?? '')).to.equal(true);
      // The new day's counters: the probe and the refresh, one of them (the report) a flush call.
      expect([state?.callsDay, state?.callsToday, state?.flushCallsToday]).to.deep.equal([
        '2026-11-25',
        2,
        1,
      ]);
    });
  }

  // Issue 22.3: probes reached only the first page of realms and of secrets, forever. With pages of
  // 2 and at most 3 secrets a run, every probed secret is reached in a bounded number of runs, each
  // once per pass, and the pass starts over after the last realm.
  it('reaches every probed secret across pages of realms and secrets, a bounded number per run, by a cursor the store keeps', async () => {
    const probed = ticketRealm('wechat_offiaccount', fake.url);
    const { probe: _probe, ...unprobed } = probed;
    const keys: Record<string, string[]> = {
      p1: ['a', 'b', 'c'],
      p2: ['k1', 'k2', 'k3', 'k4', 'k5'],
      p3: ['x'],
    };
    await put('q', unprobed, { ...WECHAT_APP });
    for (const [realm, list] of Object.entries(keys)) {
      await put(realm, probed, { ...WECHAT_APP });
      await store.deleteSecret(realm, 'main');
      for (const key of list) await putKey(realm, key);
    }
    const tokens = new Map<string, string>();
    for (const [realm, list] of Object.entries(keys))
      for (const key of list) tokens.set(`${realm}/${key}`, (await engine.getToken({ realm, key })).token);
    fake.kill(tokens.get('p2/k5') ?? '');
    fake.kill(tokens.get('p3/x') ?? '');
    clock.advance(301_000);
    const limited = { ...deps, limits: { pageSize: 2, secretsPerRun: 3, realmsPerRun: 2 } };
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push(await probeTokens(limited));
    expect(runs).to.deep.equal([
      { probed: 3, dead: 0, refreshed: 0 },
      { probed: 3, dead: 0, refreshed: 0 },
      { probed: 3, dead: 2, refreshed: 2 },
      { probed: 0, dead: 0, refreshed: 0 },
      { probed: 0, dead: 0, refreshed: 0 },
    ]);
    expect(fake.calls('wechat_probe'), 'each probed secret once, the unprobed realm never').to.equal(9);
    expect((await engine.getToken({ realm: 'p2', key: 'k5' })).token).to.not.equal(tokens.get('p2/k5'));
    expect(await store.getProbeCursor(), 'past the last realm: the next pass starts over').to.equal(null);
    clock.advance(301_000);
    expect(await probeTokens(limited), 'the next pass').to.deep.equal({ probed: 3, dead: 0, refreshed: 0 });
    expect(fake.calls('wechat_probe')).to.equal(12);
    expect(await store.getProbeCursor()).to.deep.equal({ realm: 'p2' });
  });
});
