/**
 * Issue 11, condition 7 (SPEC §5.10): a secret deleted and created again (same realm and key, through
 * the admin API on another instance) starts its generations afresh; the edge cache
 * (tokenServerCache) must follow it and serve the new secret's token from memory again once the new
 * token is stored and its re-read interval (at most 30 s) has passed.
 */
import { expect } from 'chai';
import { describeServed, scenarioHooks, sleep, type Served } from '../helpers/realworld';

const REALM = 'rw_edge';
const KEY = 'main';
const params = { realm: REALM, key: KEY };
/** SPEC §5.10: the edge cache re-reads at least this often; a little slack for the machine. */
const REREAD_MS = 30_000;
const SLACK_MS = 5_000;

describe('real world: the edge cache after a secret is deleted and created again (issue 11.7)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();

  it('serves the re-created secret from memory within 30 s of its new token being stored', async () => {
    // 20 s tokens, never killed early: the old entry is due (and re-read) within 10 s.
    const world = await open({ fake: { mode: 'mint', lifetimeMs: 20_000, killAfterMs: null } });
    const [server, edge] = await world.start([
      { target: 'tokenServer', name: 'server' },
      { target: 'tokenServerCache', name: 'edge' },
    ]);
    await world.seed(server!, params, 'wechat', { flush_min_interval_ms: 0 });

    // The old secret goes through a few generations, each remembered by the edge.
    for (let i = 0; i < 6; i++) {
      await world.tokenOk(edge!, { ...params, flush: true });
    }
    const hit = await world.token(edge!, params);
    expect(hit.source, describeServed(hit)).to.equal('memory');

    // Deleted and created again through the other instance; its first token is fetched there.
    await world.deleteSecret(server!, REALM, KEY);
    await world.putSecret(server!, REALM, KEY);
    const recreatedAt = Date.now();
    const fresh = await world.tokenOk(server!, params);
    const storedAt = fresh.arrivedAt;
    const isNew = (s: Served) =>
      s.token !== undefined && (world.fake.tokenInfo(s.token)?.issuedAt ?? 0) >= recreatedAt;

    const answers: Served[] = [];
    let fromMemory: Served | undefined;
    while (Date.now() < storedAt + REREAD_MS + SLACK_MS) {
      const s = await world.token(edge!, params);
      answers.push(s);
      if (isNew(s) && s.source === 'memory') {
        fromMemory = s;
        break;
      }
      await sleep(250);
    }
    const sources = answers.map((s) => `${isNew(s) ? 'new' : 'old'}/${s.source}`);
    console.log(
      `      [issue 11.7] re-created secret served from the edge's memory: ` +
        (fromMemory === undefined
          ? `never within ${REREAD_MS + SLACK_MS} ms (${sources.slice(-3).join(', ')})`
          : `${fromMemory.arrivedAt - storedAt} ms after its token was stored`),
    );
    expect(
      fromMemory !== undefined,
      `the edge never served the new secret from memory: ${sources.slice(-5).join(', ')}`,
    ).to.equal(true);
    expect(answers.filter((s) => s.status !== 200).map((s) => describeServed(s))).to.deep.equal([]);
  });
});
