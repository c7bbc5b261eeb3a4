/**
 * Issue 11, conditions 3, 4 and 5 (SPEC §5.7): instance clocks apart by up to ±10 s. Function
 * processes run under faketime (test/helpers/skew.ts); the Firestore emulator and the fake provider
 * keep real time. Leases, flush windows and token expiry must be judged by the store's time, so that
 * a skewed instance neither takes over a live lease, nor re-fetches a token fetched moments ago, nor
 * tells apps a lifetime the token does not have.
 */
import { expect } from 'chai';
import {
  describeServed,
  expectClocks,
  firstFew,
  msServedPastDeath,
  scenarioHooks,
  servedDead,
  servedTooLong,
  sleep,
  type Named,
  type RealworldScenario,
  type Served,
} from '../helpers/realworld';

const REALM = 'rw_skew';
const KEY = 'main';
const params = { realm: REALM, key: KEY };
/** The realm of a provider that kills the previous token 3 s after a fetch (the fake's killAfterMs). */
const KILLS_PREVIOUS = { invalidates_previous: true, overlap_ms: 3_000 };

describe('real world: instance clocks apart (issue 11.3–11.5)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();

  /** Two tokenServer processes 12 s apart (-6 s and +6 s), their clocks checked. */
  async function startSlowAndFast(world: RealworldScenario): Promise<[Named, Named]> {
    const [slow, fast] = await world.start([
      { target: 'tokenServer', offsetSeconds: -6, name: 'slow(-6s)' },
      { target: 'tokenServer', offsetSeconds: 6, name: 'fast(+6s)' },
    ]);
    await expectClocks([slow!, fast!]);
    return [slow!, fast!];
  }

  function expectAllAliveAndTrue(world: RealworldScenario, served: Served[], label: string): void {
    const past = msServedPastDeath(world.fake, served);
    const long = servedTooLong(world.fake, served, { checkExpiresAt: false });
    const report =
      `${label}: ${served.length} answers, ${past.length} dead when served (up to ` +
      `${past.length === 0 ? 0 : Math.max(...past)} ms past death), ${long.length} told a lifetime past ` +
      `the real death (up to ${long.length === 0 ? 0 : Math.max(...long.map((s) => s.pastDeathMs))} ms); ` +
      `upstream calls ${world.fake.callCount}`;
    console.log(`      [issue 11] ${report}`);
    const dead = servedDead(served).map((s) => describeServed(s, world.fake));
    expect(dead.length, `tokens served dead (${report}):${firstFew(dead)}`).to.equal(0);
    const longLines = long.map((s) => `${describeServed(s, world.fake)} (${s.pastDeathMs} ms too long)`);
    expect(longLines.length, `lifetimes past the real death (${report}):${firstFew(longLines)}`).to.equal(0);
  }

  it('11.3: a lease taken by a slow-clock instance is not judged expired by a fast-clock one: one call per due time', async () => {
    // The lease (8 s) is shorter than the clocks' distance (12 s), so an instance judging it by its
    // own clock would take it over; the provider call (2 s) has 5 s, and the round 7 s (the lease
    // less the 1 s kept for the write). With a 4 s lease and a 3 s call timeout, a starved CPU
    // (load 24 on 2 cores) pushed the holder's call past its timeout: every answer a 504.
    const world = await open({
      env: { TOKEN_SERVER_LEASE_MS: '8000', TOKEN_SERVER_WAIT_MS: '15000' },
      fake: { mode: 'mint', lifetimeMs: 20_000, killAfterMs: 3_000, latencyMs: 2_000 },
    });
    const [slow, fast] = await startSlowAndFast(world);
    await world.seed(slow, params, 'wechat', { ...KILLS_PREVIOUS, timeout_ms: 5_000 });

    // Round 1: no token yet. The slow instance takes the lease and calls; while the provider takes
    // its 2 s, requests reach the fast instance, 12 s ahead: the lease (8 s) is live by the store's time.
    const first = Array.from({ length: 10 }, () => world.token(slow, params));
    const call = await world.fake.waitForCalls(1);
    const second = Array.from({ length: 10 }, () => world.token(fast, params));
    const round1 = await Promise.all([...first, ...second]);
    await sleep(500);
    const t0 = call.arrivedAt;
    const round1Calls = world.fake.callsBetween(t0, Date.now()).length;
    console.log(
      `      [issue 11.3] upstream calls for one missing token across skewed instances: ${round1Calls}`,
    );
    expect(round1Calls, 'upstream calls for one missing token').to.equal(1);
    expect(
      round1.filter((s) => s.status !== 200).map((s) => describeServed(s)),
      'answers of round 1',
    ).to.deep.equal([]);

    // Round 2: steady traffic on both until 13 s after the first fetch. The token is due 8–10 s after
    // it (store time), the next one no earlier than 16 s: exactly one more call.
    const traffic = await world.steady([slow, fast], params, 100, Math.max(1_000, t0 + 13_000 - Date.now()));
    await sleep(500);
    const calls = world.fake.callsBetween(t0, t0 + 14_000).length;
    console.log(`      [issue 11.3] upstream calls over 13 s (one due time): ${calls}`);
    expectAllAliveAndTrue(world, [...round1, ...traffic], '11.3 skewed lease');
    expect(calls, 'upstream calls for the first token and its one due refresh').to.be.at.most(2);
  });

  it('11.4a: a flush 4.5 s after another instance fetched (flush_min_interval 10 s) makes no call, clocks 12 s apart', async () => {
    const world = await open({ fake: { mode: 'mint', lifetimeMs: 60_000, killAfterMs: 3_000 } });
    const [slow, fast] = await startSlowAndFast(world);
    await world.seed(slow, params, 'wechat', { ...KILLS_PREVIOUS, flush_min_interval_ms: 10_000 });
    const fetched = await world.tokenOk(slow, params);
    const fetchedAt = world.fake.calls()[0]!.arrivedAt;
    await sleep(fetchedAt + 4_500 - Date.now());
    const flushed = await world.token(fast, { ...params, flush: true });
    console.log(
      `      [issue 11.4] upstream calls after a flush 4.5 s after the fetch: ${world.fake.callCount - 1}`,
    );
    expect(flushed.status, describeServed(flushed)).to.equal(200);
    expect(world.fake.callCount, 'upstream calls (the fetch, and none for the flush)').to.equal(1);
    expect(flushed.token).to.equal(fetched.token);
    expectAllAliveAndTrue(world, [fetched, flushed], '11.4a');
  });

  it('11.4b: concurrent flushes on two instances against a slow provider make exactly one call', async () => {
    const world = await open({
      // Generous lease, wait and call timeout (the provider takes 3 s below): only the latency may
      // suffer on a starved machine, not the one call.
      env: { TOKEN_SERVER_LEASE_MS: '12000', TOKEN_SERVER_WAIT_MS: '15000' },
      fake: { mode: 'mint', lifetimeMs: 60_000, killAfterMs: 3_000 },
    });
    const [a, b] = await world.start([
      { target: 'tokenServer', name: 'A' },
      { target: 'tokenServer', name: 'B' },
    ]);
    await world.seed(a!, params, 'wechat', {
      ...KILLS_PREVIOUS,
      timeout_ms: 8_000,
      flush_min_interval_ms: 2_000,
    });
    await world.tokenOk(a!, params);
    await sleep(2_500); // past flush_min_interval
    // The provider now takes 3 s, longer than flush_min_interval: a waiter must take the result of
    // the lease it waited for, not decide "flush" again.
    world.fake.set({ latencyMs: 3_000 });
    const onA = [world.token(a!, { ...params, flush: true })];
    await world.fake.waitForCalls(2);
    const onB = Array.from({ length: 3 }, () => world.token(b!, { ...params, flush: true }));
    onA.push(world.token(a!, { ...params, flush: true }));
    const flushes = await Promise.all([...onA, ...onB]);
    await sleep(500);
    console.log(
      `      [issue 11.4] upstream calls for concurrent flushes on two instances: ${world.fake.callCount - 1}`,
    );
    expect(flushes.filter((s) => s.status !== 200).map((s) => describeServed(s))).to.deep.equal([]);
    expect(world.fake.callCount, 'upstream calls (the fetch, and one for all the flushes)').to.equal(2);
    expect(new Set(flushes.map((s) => s.token))).to.deep.equal(new Set([world.fake.calls()[1]!.token]));
    expectAllAliveAndTrue(world, flushes, '11.4b');
  });

  it('11.5: after a fast-clock holder fetched, slow-clock instances never overstate the lifetime nor serve it dead', async () => {
    const world = await open({
      // Generous lease, wait and call timeout: a starved CPU may slow the fetch, not fail it.
      env: { TOKEN_SERVER_LEASE_MS: '10000', TOKEN_SERVER_WAIT_MS: '10000' },
      // Tokens live 12 s and are not killed early: only the clocks can make an instance overstate them.
      fake: { mode: 'mint', lifetimeMs: 12_000, killAfterMs: null },
    });
    const [holder, slow, slowEdge] = await world.start([
      { target: 'tokenServer', offsetSeconds: 8, name: 'holder(+8s)' },
      { target: 'tokenServer', offsetSeconds: -6, name: 'slow(-6s)' },
      { target: 'tokenServerCache', offsetSeconds: -6, name: 'slow edge(-6s)' },
    ]);
    await expectClocks([holder!, slow!, slowEdge!]);
    await world.seed(holder!, params, 'wechat', { timeout_ms: 6_000 });
    const fetched = await world.tokenOk(holder!, params);
    const first = world.fake.tokenInfo(fetched.token!)!;
    // Traffic on the slow instances until 4 s after the first token really died.
    const served = await world.steady(
      [slow!, slowEdge!],
      params,
      200,
      Math.max(1_000, first.diesAt + 4_000 - Date.now()),
    );
    const told = served
      .filter((s) => s.token === first.token)
      .map((s) => s.sentAt + s.expiresIn! - first.diesAt);
    console.log(
      `      [issue 11.5] the fast holder's token as served by slow instances: up to ` +
        `${told.length === 0 ? 0 : Math.max(...told)} ms of lifetime told past its real death`,
    );
    expectAllAliveAndTrue(world, served, '11.5 fast holder');
  });
});
