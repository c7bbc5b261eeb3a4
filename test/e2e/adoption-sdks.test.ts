/**
 * Adoption (SPEC §10): co-wechat-api, wechat-api and node-easywechat, the real SDKs from npm, each in
 * four app processes switched to the broker with the client library's adapter (two lines), making API
 * calls against a fake WeChat that kills the previous token shortly after a new fetch. Counted at the
 * fake: every API call succeeds, the token endpoint is called only by the broker (an SDK's own call
 * would carry the app's /app/NAME prefix), and when the broker's token is killed from outside mid-run
 * the apps see 40001, report it, and exactly one refresh follows.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ADOPTION_SDKS, type AppResult } from '../fakes/adoption-app';
import { startWechatPlatform, type WechatPlatform } from '../fakes/wechat-platform';
import { appCaller, brokerCaller, brokerSecretFor, runApps, sumResults } from '../helpers/adoption';
import { startFunction, testEnv, type FunctionProcess } from '../helpers/processes';

const APPS_PER_SDK = 4;
const RUN_MS = 12_000;
/** The fake kills a replaced token this soon (WeChat: 5 minutes): a token fetched by an SDK would show within the run. */
const OVERLAP_MS = 5_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('adoption: real WeChat SDKs through the client library adapters', function () {
  this.timeout(180_000);
  const env = testEnv();
  const accounts = ADOPTION_SDKS.map((_, i) => ({
    id: `wx-adopt-${i}`,
    secret: `wx-adopt-secret-${randomBytes(8).toString('hex')}`,
  }));
  let platform: WechatPlatform;
  let admin: FunctionProcess;
  let caches: FunctionProcess[];

  before(async () => {
    platform = await startWechatPlatform({ overlapMs: OVERLAP_MS, wechat: accounts });
    [admin, ...caches] = await Promise.all([
      startFunction({ target: 'tokenServer', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
      startFunction({ target: 'tokenServerCache', env: env.env }),
    ]);
  });
  after(async () => {
    await Promise.all([admin, ...caches].map((f) => f?.stop()));
    await platform?.close();
  });

  it('every API call succeeds, only the broker fetches tokens, and a killed token heals with one refresh', async () => {
    const realms = ADOPTION_SDKS.map((_, i) => `adopt${i}${Date.now().toString(36)}`);
    const secrets = await Promise.all(
      ADOPTION_SDKS.map((_, i) =>
        brokerSecretFor({
          adminUrl: admin.url,
          adminKey: env.adminKey,
          platformUrl: platform.url,
          overlapMs: OVERLAP_MS,
          realm: realms[i] as string,
          appid: accounts[i]?.id as string,
          secret: accounts[i]?.secret as string,
          warmUrls: caches.map((c) => c.url),
          // The test kills the token from outside seconds after its fetch; within the default
          // flush_min_interval (10 s) a report of it would be answered "unchanged" by design.
          config: { flush_min_interval_ms: 1_000 },
        }),
      ),
    );
    let finished = false;
    const runs: Promise<AppResult[]>[] = ADOPTION_SDKS.map((sdk, i) =>
      runApps({
        sdk,
        mode: 'broker',
        count: APPS_PER_SDK,
        platformUrl: platform.url,
        appid: accounts[i]?.id as string,
        secret: '',
        brokerUrls: caches.map((c) => c.url),
        broker: secrets[i],
        durationMs: RUN_MS,
      }),
    );

    void Promise.all(runs).finally(() => (finished = true));
    // Mid-run, once every SDK's apps are calling: kill each broker token at the fake, from outside.
    const killed = await Promise.all(
      ADOPTION_SDKS.map(async (sdk, i) => {
        const appid = accounts[i]?.id as string;
        const deadline = Date.now() + 30_000;
        while (platform.total((c) => c.startsWith(`${sdk}-broker-`)).apiOk < APPS_PER_SDK * 3) {
          if (finished || Date.now() > deadline) {
            const results = await Promise.all(runs).catch((err: unknown) => String(err));
            throw new Error(`${sdk}: the apps did not start calling: ${JSON.stringify(results)}`);
          }
          await sleep(100);
        }
        const token = platform.currentToken(appid) as string;
        const callsBefore = platform.counts(brokerCaller(realms[i] as string)).tokenCalls;
        platform.kill(token);
        return { token, callsBefore };
      }),
    );
    const results = await Promise.all(runs);

    ADOPTION_SDKS.forEach((sdk, i) => {
      const apps = results[i] as AppResult[];
      const sum = sumResults(apps);
      const appCallers = apps.map((_, n) => appCaller(sdk, 'broker', n));
      const atFake = platform.total((c) => appCallers.includes(c));
      const broker = platform.counts(brokerCaller(realms[i] as string));
      const where = `${sdk}: ${JSON.stringify({ sum, atFake, broker, killed: killed[i]?.callsBefore })}`;
      // Every API call succeeded, and each app made several (how many depends on the machine).
      expect(sum.failed, where).to.equal(0);
      for (const app of apps) expect(app.ok, `${where} ${app.name}`).to.be.greaterThan(1);
      expect(atFake.apiOk, where).to.equal(sum.ok);
      // The SDKs never called the token endpoint; the broker did, with the app secret.
      expect(atFake.tokenCalls, where).to.equal(0);
      expect(broker.tokenCallsWithSecret, where).to.equal(broker.tokenCalls);
      // One fetch for four apps on two instances before the kill, exactly one refresh after it.
      expect(killed[i]?.callsBefore, where).to.equal(1);
      expect(broker.tokenCalls, where).to.equal(2);
      // The killed token was seen (40001) and healed: at most once per app, none failing.
      expect(atFake.rejected, where).to.be.within(1, APPS_PER_SDK);
      expect(platform.isValid(killed[i]?.token as string)).to.equal(false);
    });
  });
});
