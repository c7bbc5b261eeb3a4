/**
 * Issue 11, condition 8 (SPEC §5.9): a provider that answers the current token with its remaining
 * lifetime until near its end (WeCom, Feishu, DingTalk, stable_token), here in WeCom's wire format.
 * At steady traffic: at most 2 upstream calls over the token's lifetime, and no request waits for
 * the provider while a valid token exists.
 */
import { expect } from 'chai';
import {
  countBy,
  describeServed,
  firstFew,
  scenarioHooks,
  servedDead,
  servedTooLong,
  type Served,
} from '../helpers/realworld';

const REALM = 'rw_wecom';
const KEY = 'main';
const params = { realm: REALM, key: KEY };

describe('real world: a provider that returns the same token (issue 11.8)', function () {
  this.timeout(120_000);
  const open = scenarioHooks();

  // 20 s tokens; the same one is answered until less than 4 s of it remains, then a new one. The realm
  // is told that window (reissue_window_ms, as the stable_token and Feishu presets are), or not (WeCom).
  for (const told of [true, false]) {
    it(`makes at most 2 upstream calls over a token lifetime and never makes a request wait while a token is valid (reissue window ${told ? 'configured' : 'unknown'})`, async () => {
      const world = await open({
        env: { TOKEN_SERVER_LEASE_MS: '5000', TOKEN_SERVER_WAIT_MS: '5000' },
        fake: { mode: 'same', lifetimeMs: 20_000, reissueWindowMs: 4_000, latencyMs: 300 },
      });
      const [a, b, edge] = await world.start([
        { target: 'tokenServer', name: 'A' },
        { target: 'tokenServer', name: 'B' },
        { target: 'tokenServerCache', name: 'edge' },
      ]);
      await world.seed(a!, params, 'wecom', {
        timeout_ms: 2_000,
        ...(told ? { reissue_window_ms: 4_000 } : {}),
      });
      const first = await world.tokenOk(a!, params);
      const token = world.fake.tokenInfo(first.token!)!;

      // Steady traffic (every 200 ms over three instances) until 3 s after the first token expired.
      const served = await world.steady([a!, b!, edge!], params, 200, token.expiresAt + 3_000 - Date.now());
      const during = world.fake.callsBetween(token.issuedAt + 1, token.expiresAt);
      const report =
        `upstream calls during the token's ${token.expiresAt - token.issuedAt} ms life (after the first): ` +
        `${during.length} (${during.map((c) => `${c.outcome}@+${c.arrivedAt - token.issuedAt}`).join(', ')}); ` +
        `sources ${JSON.stringify(countBy(served.map((s) => s.source ?? s.status)))}`;
      console.log(`      [issue 11.8] ${report}`);
      expect(during.length, report).to.be.at.most(2);

      // A request waited for the provider if it made the call itself, or got a token that did not
      // exist yet when it was sent.
      const waited = (s: Served) =>
        s.source === 'upstream' ||
        (s.token !== undefined && (world.fake.tokenInfo(s.token)?.issuedAt ?? Infinity) > s.sentAt);
      const bad = served
        .filter((s) => s.status !== 200 || waited(s))
        .map((s) => describeServed(s, world.fake));
      expect(
        bad.length,
        `requests that waited for the provider or failed (${report}):${firstFew(bad)}`,
      ).to.equal(0);
      const dead = servedDead(served).map((s) => describeServed(s, world.fake));
      expect(dead.length, `tokens served dead:${firstFew(dead)}`).to.equal(0);
      const long = servedTooLong(world.fake, served).map((s) => describeServed(s, world.fake));
      expect(long.length, `lifetimes past the real death:${firstFew(long)}`).to.equal(0);
    });
  }
});
