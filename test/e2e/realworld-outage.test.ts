/**
 * Issue 11, condition 1 (SPEC §4 backoff, §5.5): a provider outage under steady traffic on two
 * instances costs a few upstream calls, not the budget; the secret is served stale-if-error (or 503
 * with Retry-After once no valid token is left), never 429, and recovers on its own afterwards.
 */
import { expect } from 'chai';
import {
  countBy,
  describeServed,
  scenarioHooks,
  servedDead,
  servedTooLong,
  type Served,
} from '../helpers/realworld';

const REALM = 'rw_outage';
const KEY = 'main';

describe('real world: a provider outage under steady traffic (issue 11.1)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();

  it('makes at most 8 upstream calls in a 15 s outage, serves stale or 503 meanwhile, never 429, then recovers', async () => {
    const world = await open({
      env: { TOKEN_SERVER_LEASE_MS: '5000', TOKEN_SERVER_WAIT_MS: '3000' },
      // A 30 s token: due 12–15 s after its fetch, that is inside the outage; valid until 30 s.
      fake: { mode: 'mint', lifetimeMs: 30_000, killAfterMs: null },
    });
    const [a, b] = await world.start([{ target: 'tokenServer' }, { target: 'tokenServer' }]);
    await world.seed(a!, { realm: REALM, key: KEY }, 'wechat', { timeout_ms: 2000, daily_budget: 40 });

    await world.tokenOk(a!, { realm: REALM, key: KEY });
    const t0 = world.fake.calls()[0]!.arrivedAt;
    const outageFrom = t0 + 10_000;
    const outageTo = t0 + 25_000;
    world.fake.downBetween(outageFrom, outageTo, 'errcode');

    // One request every 200 ms, alternating between the two instances, until 3 s after a token
    // fetched after the outage was served (at most 60 s).
    const fetchedAfterOutage = (s: Served) =>
      s.token !== undefined && (world.fake.tokenInfo(s.token)?.issuedAt ?? 0) >= outageTo;
    const served = await world.steady([a!, b!], { realm: REALM, key: KEY }, 200, 60_000, {
      done: (arrived) => arrived.some(fetchedAfterOutage),
      thenMs: 3_000,
    });

    const duringOutage = world.fake.callsBetween(outageFrom, outageTo);
    const report =
      `upstream calls during the 15 s outage: ${duringOutage.length}; all calls: ${world.fake.callCount}; ` +
      `statuses: ${JSON.stringify(countBy(served.map((s) => s.status)))}`;
    console.log(`      [issue 11.1] ${report}`);

    expect(duringOutage.length, report).to.be.at.most(8);
    expect(
      served.filter((s) => s.status === 429).map((s) => describeServed(s)),
      `429 answers (${report})`,
    ).to.deep.equal([]);
    // While the stored token is valid it is served; after that only 503 with Retry-After may replace it.
    const wrong = served.filter(
      (s) => s.status !== 200 && !(s.status === 503 && s.retryAfter !== undefined && s.sentAt > t0 + 29_000),
    );
    expect(
      wrong.map((s) => describeServed(s)),
      `answers that were neither a token nor a late 503 with Retry-After (${report})`,
    ).to.deep.equal([]);
    expect(servedDead(served).map((s) => describeServed(s, world.fake))).to.deep.equal([]);
    expect(servedTooLong(world.fake, served).map((s) => describeServed(s, world.fake))).to.deep.equal([]);

    // Recovered on its own: a token issued after the outage was served, and the last answers are tokens.
    const recovered = served.findIndex(fetchedAfterOutage);
    if (recovered >= 0) {
      console.log(
        `      [issue 11.1] first token fetched after the outage served ${served[recovered]!.arrivedAt - outageTo} ms after it ended`,
      );
    }
    expect(recovered, `no token fetched after the outage was served (${report})`).to.be.at.least(0);
    const tail = served.slice(recovered);
    expect(
      tail.filter((s) => s.status !== 200 || s.aliveOnArrival !== true).map((s) => describeServed(s)),
      `the last answers (${report})`,
    ).to.deep.equal([]);
  });
});
