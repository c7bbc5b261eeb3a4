/**
 * Issue 11, condition 6 (SPEC §4 budget, §5.7): the daily upstream-call budget is checked before
 * every attempt (retries included), and its day is the store's day, so that instances whose clocks
 * straddle 00:00 UTC count one counter.
 */
import { expect } from 'chai';
import {
  countBy,
  describeServed,
  expectClocks,
  scenarioHooks,
  sleep,
  type Served,
} from '../helpers/realworld';

const REALM = 'rw_budget';
const KEY = 'main';
const params = { realm: REALM, key: KEY };
const DAY_MS = 86_400_000;

describe('real world: the daily budget (issue 11.6)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();

  it('makes no more upstream calls than daily_budget: 3 when the provider fails transiently', async () => {
    const world = await open({
      env: { TOKEN_SERVER_LEASE_MS: '5000', TOKEN_SERVER_WAIT_MS: '3000' },
      fake: { mode: 'mint', lifetimeMs: 60_000, killAfterMs: null },
    });
    const [a, b] = await world.start([{ target: 'tokenServer' }, { target: 'tokenServer' }]);
    await world.seed(a!, params, 'wechat', { timeout_ms: 1_000, daily_budget: 3 });
    world.fake.down('errcode');
    const served = await world.steady([a!, b!], params, 300, 8_000);
    await sleep(1_000);
    const report =
      `upstream calls with daily_budget 3: ${world.fake.callCount}; ` +
      `statuses ${JSON.stringify(countBy(served.map((s) => s.status)))}`;
    console.log(`      [issue 11.6] ${report}`);
    expect(world.fake.callCount, report).to.be.at.most(3);
    expect(served.filter((s) => s.status === 200).map((s) => describeServed(s))).to.deep.equal([]);
  });

  it('counts 10 calls as 10 when two instances straddle 00:00 UTC by their clocks (10 s apart)', async () => {
    const world = await open({ fake: { mode: 'mint', lifetimeMs: 60_000, killAfterMs: null } });
    // Choose offsets so that, by real time, B's clock passes midnight 12 s from now and A's 10 s later.
    const r0 = Date.now();
    const midnight = Math.ceil((r0 + 1) / DAY_MS) * DAY_MS;
    const offsetB = Math.round((midnight - r0) / 1000) - 12;
    const offsetA = offsetB - 10;
    const bCrosses = midnight - offsetB * 1000;
    const aCrosses = midnight - offsetA * 1000;
    const [a, b] = await world.start([
      { target: 'tokenServer', offsetSeconds: offsetA, name: 'A(before midnight)' },
      { target: 'tokenServer', offsetSeconds: offsetB, name: 'B(after midnight)' },
    ]);
    await expectClocks([a!, b!]);
    await world.seed(a!, params, 'wechat', { flush_min_interval_ms: 0 });
    await sleep(bCrosses + 500 - Date.now());

    // Ten flushes, alternating, while A's clock says 23:59:5x and B's 00:00:0x.
    const flushes: Served[] = [];
    for (let i = 0; i < 10; i++) {
      if (Date.now() > aCrosses - 500) {
        throw new Error(`the flushes took too long: A's clock passed midnight after ${i} of them`);
      }
      flushes.push(await world.token(i % 2 === 0 ? a! : b!, { ...params, flush: true }));
    }
    expect(flushes.filter((s) => s.status !== 200).map((s) => describeServed(s))).to.deep.equal([]);
    const calls = world.fake.callCount;
    const seenByA = (await world.status(a!, REALM, KEY))?.calls_today;
    const seenByB = (await world.status(b!, REALM, KEY))?.calls_today;
    console.log(
      `      [issue 11.6] 10 flushes across midnight (by instance clocks): ${calls} upstream calls, ` +
        `counted as: A ${String(seenByA)}, B ${String(seenByB)}`,
    );
    // One counter, the store's day: both instances count every call made.
    expect({ A: seenByA, B: seenByB }, 'calls_today as each instance reports it').to.deep.equal({
      A: calls,
      B: calls,
    });
    // A flush by the instance whose clock is behind is not "fresh" for the other one's fetch.
    expect(calls, 'upstream calls for 10 flushes (flush_min_interval_ms 0)').to.equal(10);
  });
});
