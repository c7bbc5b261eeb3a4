/**
 * Issue 11, condition 2 (SPEC §5.8): a provider that kills the previous token `overlap_ms` after a
 * new fetch (WeChat getAccessToken; here 3 s). Every provider attempt counts from the moment it was
 * sent, whatever became of it: no instance serves the previous token past that attempt's start plus
 * overlap_ms — not during a slow refresh, not when every attempt timed out after the provider had
 * minted, not when the holder died mid-call — and no app is told it may use it longer.
 */
import { expect } from 'chai';
import {
  describeServed,
  firstFew,
  msServedPastDeath,
  scenarioHooks,
  servedDead,
  servedTooLong,
  type RealworldScenario,
  type Served,
} from '../helpers/realworld';

const REALM = 'rw_wechat';
const KEY = 'main';
const KILL_AFTER_MS = 3_000;
const params = { realm: REALM, key: KEY };

describe('real world: a provider that kills the previous token (issue 11.2)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();

  /** Two tokenServer processes, a WeChat-style realm with overlap_ms = the fake's kill delay, a first token. */
  async function setup(env: Record<string, string>, realm: Record<string, unknown>) {
    const world = await open({
      env,
      fake: { mode: 'mint', lifetimeMs: 60_000, killAfterMs: KILL_AFTER_MS },
    });
    const [a, b] = await world.start([
      { target: 'tokenServer', name: 'A' },
      { target: 'tokenServer', name: 'B' },
    ]);
    await world.seed(a!, params, 'wechat', {
      invalidates_previous: true,
      overlap_ms: KILL_AFTER_MS,
      flush_min_interval_ms: 0,
      ...realm,
    });
    const first = await world.tokenOk(a!, params);
    // Both instances have seen the first token (and B's next reads are plain hits).
    const seen = await world.token(b!, params);
    expect(seen.token).to.equal(first.token);
    return { world, a: a!, b: b! };
  }

  function expectNothingDeadServed(world: RealworldScenario, served: Served[], label: string): void {
    const past = msServedPastDeath(world.fake, served);
    const report =
      `${label}: ${served.length} answers, ${past.length} served a dead token, up to ` +
      `${past.length === 0 ? 0 : Math.max(...past)} ms past its death; upstream calls ${world.fake.callCount}`;
    console.log(`      [issue 11.2] ${report}`);
    const dead = servedDead(served).map((s) => describeServed(s, world.fake));
    expect(
      dead.length,
      `tokens served after the provider killed them (${report}):${firstFew(dead)}`,
    ).to.equal(0);
    const long = servedTooLong(world.fake, served).map(
      (s) => `${describeServed(s, world.fake)} (${s.pastDeathMs} ms too long)`,
    );
    expect(long.length, `lifetimes told past the token's real death (${report}):${firstFew(long)}`).to.equal(
      0,
    );
  }

  it('(a) never serves the previous token past its kill while a slow refresh is in flight', async () => {
    const { world, a, b } = await setup(
      { TOKEN_SERVER_LEASE_MS: '15000', TOKEN_SERVER_WAIT_MS: '12000' },
      { timeout_ms: 10_000 },
    );
    // The provider mints at once (killing the previous token 3 s later) but answers only after 6 s.
    world.fake.set({ latencyMs: 6_000 });
    const flush = world.token(a, { ...params, flush: true });
    const reads = await world.steady([a, b], params, 100, 9_000);
    const flushed = await flush;
    expect(flushed.status, describeServed(flushed)).to.equal(200);
    expect(world.fake.callCount).to.equal(2);
    expectNothingDeadServed(world, [...reads, flushed], '(a) slow refresh');
  });

  it('(b) never serves the previous token after attempts that timed out once the provider had minted', async () => {
    const { world, a, b } = await setup(
      { TOKEN_SERVER_LEASE_MS: '6000', TOKEN_SERVER_WAIT_MS: '4000' },
      { timeout_ms: 1_000 },
    );
    // Every call mints a new token (killing the previous) and answers after the broker gave up.
    world.fake.set({ latencyMs: 3_000 });
    const flush = world.token(a, { ...params, flush: true });
    const reads = await world.steady([a, b], params, 200, 10_000);
    const flushed = await flush;
    expect(world.fake.callCount, 'the flush never reached the provider').to.be.at.least(2);
    expectNothingDeadServed(world, [...reads, flushed], '(b) timed-out attempts');
  });

  it('(c) never serves the previous token after its holder was killed in the middle of the call', async () => {
    const { world, a, b } = await setup(
      { TOKEN_SERVER_LEASE_MS: '5000', TOKEN_SERVER_WAIT_MS: '8000' },
      { timeout_ms: 4_000 },
    );
    world.fake.hold();
    const doomed = world.token(a, { ...params, flush: true });
    await world.fake.waitForCalls(2);
    a.kill('SIGKILL');
    await a.exited;
    await doomed;
    // The held answer goes nowhere; from now on the provider answers again.
    world.fake.release();
    const reads = await world.steady([b], params, 200, 14_000);
    expectNothingDeadServed(world, reads, '(c) holder killed mid-call');
    // B took over once the dead holder's lease lapsed, and serves a live token.
    const last = reads.slice(-5);
    expect(
      last
        .filter((s) => s.status !== 200 || s.aliveOnArrival !== true)
        .map((s) => describeServed(s, world.fake)),
      'the last answers',
    ).to.deep.equal([]);
  });
});
