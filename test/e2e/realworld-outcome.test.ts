/**
 * Issue 11 (SPEC §4 `invalid_token`): the answer to an invalid-token report says what happened —
 * "refreshed" (this report caused the refresh), "newer" (a newer token already existed) or
 * "unchanged" (the token was fetched within flush_min_interval and is returned as it is) — with
 * reports arriving on several instances, and upstream calls counted at the fake; and only there: a
 * plain request that tokenServerCache answers from memory after a report carries no outcome.
 */
import { expect } from 'chai';
import { describeServed, scenarioHooks, servedDead, sleep } from '../helpers/realworld';

const REALM = 'rw_outcome';
const KEY = 'main';
const params = { realm: REALM, key: KEY };

describe('real world: what an invalid-token report did (issue 11, SPEC §4 outcome)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();

  it('answers refreshed, newer and unchanged across instances, with one upstream call per refresh', async () => {
    const world = await open({ fake: { mode: 'mint', lifetimeMs: 60_000, killAfterMs: 3_000 } });
    const [a, b, edge] = await world.start([
      { target: 'tokenServer', name: 'A' },
      { target: 'tokenServer', name: 'B' },
      { target: 'tokenServerCache', name: 'edge' },
    ]);
    await world.seed(a!, params, 'wechat', {
      invalidates_previous: true,
      overlap_ms: 3_000,
      flush_min_interval_ms: 4_000,
    });
    const first = await world.tokenOk(a!, params);
    await sleep(4_500); // past flush_min_interval

    const refreshed = await world.tokenOk(b!, { ...params, invalidToken: first.token! });
    expect(refreshed.token).to.not.equal(first.token);
    expect(world.fake.callCount).to.equal(2);

    const unchanged = await world.token(a!, { ...params, invalidToken: refreshed.token! });
    const newer = await world.token(edge!, { ...params, invalidToken: first.token! });
    console.log(
      `      [issue 11] invalid_token outcomes: ${refreshed.outcome}, ${newer.outcome}, ${unchanged.outcome}`,
    );
    expect(refreshed.outcome, 'the report that caused the refresh').to.equal('refreshed');
    expect([newer.status, newer.token, newer.outcome]).to.deep.equal([200, refreshed.token, 'newer']);
    expect([unchanged.status, unchanged.token, unchanged.outcome]).to.deep.equal([
      200,
      refreshed.token,
      'unchanged',
    ]);
    expect(world.fake.callCount, 'no call for a newer or a fresh token').to.equal(2);

    // Concurrent reports of one token on three instances: one refresh; each says refreshed or newer.
    await sleep(4_500);
    const reports = await Promise.all(
      [a!, b!, edge!, a!, b!, edge!].map((p) =>
        world.token(p, { ...params, invalidToken: refreshed.token! }),
      ),
    );
    expect(reports.filter((s) => s.status !== 200).map((s) => describeServed(s))).to.deep.equal([]);
    expect(world.fake.callCount, 'one call for six concurrent reports').to.equal(3);
    expect(new Set(reports.map((s) => s.token))).to.deep.equal(new Set([world.fake.newest()!.token]));
    const outcomes = reports.map((s) => s.outcome);
    expect(
      outcomes.every((o) => o === 'refreshed' || o === 'newer'),
      `outcomes ${outcomes.join(', ')}`,
    ).to.equal(true);
    expect(outcomes, 'some report caused the refresh').to.include('refreshed');
    expect(servedDead([first, refreshed, newer, unchanged, ...reports])).to.deep.equal([]);
  });

  it('tokenServerCache: a plain request served from memory after a report carries no outcome (issue 22.4)', async () => {
    const flushMinMs = 1_500;
    const world = await open({ fake: { mode: 'mint', lifetimeMs: 120_000, killAfterMs: null } });
    const [admin, edge] = await world.start([
      { target: 'tokenServer', name: 'admin' },
      { target: 'tokenServerCache', name: 'edge' },
    ]);
    // No overlap cap: a memory entry lasts its 30 s, so the plain requests below are memory hits.
    await world.seed(admin!, params, 'wechat', { flush_min_interval_ms: flushMinMs });
    const first = await world.tokenOk(edge!, params);
    const reportedAt = Date.now();
    const unchanged = await world.tokenOk(edge!, { ...params, invalidToken: first.token! });
    expect([unchanged.token, unchanged.outcome]).to.deep.equal([first.token, 'unchanged']);
    const plainAfterUnchanged = await world.tokenOk(edge!, params);
    expect([plainAfterUnchanged.source, plainAfterUnchanged.outcome]).to.deep.equal(['memory', undefined]);

    await sleep(Math.max(0, reportedAt + flushMinMs + 200 - Date.now())); // past flush_min_interval
    const refreshed = await world.tokenOk(edge!, { ...params, invalidToken: first.token! });
    expect(refreshed.outcome).to.equal('refreshed');
    expect(refreshed.token).to.not.equal(first.token);
    const plain = await world.tokenOk(edge!, params);
    expect([plain.token, plain.source, plain.outcome]).to.deep.equal([refreshed.token, 'memory', undefined]);
    expect(world.fake.callCount).to.equal(2);
  });
});
