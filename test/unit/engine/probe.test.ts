/**
 * Probes (SPEC §6 "Outside kills") in one process, against the ticket fake's WeChat endpoints: a live
 * token is left alone, a token killed from outside is refreshed at once, each secret is probed at most
 * once per interval, probes count in the daily budget, and realms without a probe are never probed.
 */
import { expect } from 'chai';
import { ManualClock } from '../../../functions/clock';
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

  before(async () => {
    fake = await startTicketFake();
  });
  after(() => fake.close());
  beforeEach(async () => {
    fake.reset();
    // Noon UTC: the probes below must not cross a budget day.
    clock = new ManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));
    store = new MemoryStore(new Sealer(Buffer.alloc(32, 5)), clock);
    engine = new TokenEngine({
      store,
      clock,
      random: () => 0.5,
      instanceId: 'probe-test',
      leaseMs: 15_000,
      waitMs: 20_000,
      allowPrivateUpstreams: true,
    });
    deps = {
      store,
      clock,
      allowPrivateUpstreams: true,
      instanceId: 'probe-test',
      getToken: (req) => engine.getToken(req),
    };
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
});
