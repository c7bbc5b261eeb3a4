/**
 * The adoption scenario (README "Benchmarks"): N app processes per SDK (co-wechat-api, wechat-api,
 * node-easywechat, the real packages), making API calls against the fake WeChat platform for a fixed
 * time, once on their own (each SDK fetches tokens with the app secret, as it does by default) and
 * once through the broker with the client library's adapter. Both runs of an SDK go at the same time,
 * on two app accounts of the platform, so that they meet the same machine load. The platform kills a
 * replaced token `overlapMs` after a new fetch (WeChat: 5 minutes; shortened so a run of seconds shows
 * what a day shows).
 */
import { randomBytes } from 'node:crypto';
import { ADOPTION_SDKS, type AdoptionSdk } from '../../test/fakes/adoption-app';
import { startWechatPlatform } from '../../test/fakes/wechat-platform';
import { appCaller, brokerCaller, brokerSecretFor, runApps, sumResults } from '../../test/helpers/adoption';
import { startFunction } from '../../test/helpers/processes';
import { fmt, row, type Row } from '../report';
import type { Stack } from '../stack';

export interface AdoptionRun {
  tokenCallsAtProvider: number;
  /** Of those, calls made by the SDKs themselves (through the broker: must be 0). */
  tokenCallsBySdks: number;
  rejected40001: number;
  apiCalls: number;
  failedCalls: number;
}

export interface AdoptionResult {
  apps: number;
  durationS: number;
  overlapMs: number;
  sdks: Record<AdoptionSdk, { alone: AdoptionRun; broker: AdoptionRun }>;
}

export async function adoption(
  stack: Stack,
  options: { apps: number; durationS: number; overlapMs: number },
): Promise<AdoptionResult> {
  const accounts = ADOPTION_SDKS.flatMap((sdk) =>
    (['alone', 'broker'] as const).map((mode) => ({
      sdk,
      mode,
      id: `wx-bench-${sdk}-${mode}`,
      secret: `wx-bench-secret-${randomBytes(8).toString('hex')}`,
    })),
  );
  const platform = await startWechatPlatform({ overlapMs: options.overlapMs, wechat: accounts });
  const functions = await Promise.all([
    startFunction({ target: 'tokenServer', env: stack.env.env }),
    startFunction({ target: 'tokenServerCache', env: stack.env.env }),
    startFunction({ target: 'tokenServerCache', env: stack.env.env }),
  ]);
  const [admin, ...caches] = functions;
  try {
    const sdks = {} as AdoptionResult['sdks'];
    for (const sdk of ADOPTION_SDKS) {
      const alone = accounts.find((a) => a.sdk === sdk && a.mode === 'alone');
      const viaBroker = accounts.find((a) => a.sdk === sdk && a.mode === 'broker');
      if (admin === undefined || alone === undefined || viaBroker === undefined) throw new Error('setup');
      const realm = `adoption-${sdk}-${Date.now().toString(36)}`;
      const secret = await brokerSecretFor({
        adminUrl: admin.url,
        adminKey: stack.env.adminKey,
        platformUrl: platform.url,
        overlapMs: options.overlapMs,
        realm,
        appid: viaBroker.id,
        secret: viaBroker.secret,
        warmUrls: caches.map((c) => c.url),
      });
      const common = {
        sdk,
        count: options.apps,
        platformUrl: platform.url,
        durationMs: options.durationS * 1000,
      };
      const [aloneResults, brokerResults] = await Promise.all([
        runApps({ ...common, mode: 'alone', appid: alone.id, secret: alone.secret }),
        runApps({
          ...common,
          mode: 'broker',
          appid: viaBroker.id,
          secret: '',
          brokerUrls: caches.map((c) => c.url),
          broker: secret,
        }),
      ]);
      const runOf = (mode: 'alone' | 'broker', results: typeof aloneResults): AdoptionRun => {
        const callers = results.map((_, i) => appCaller(sdk, mode, i));
        const atFake = platform.total((c) => callers.includes(c));
        const sum = sumResults(results);
        const brokerCalls = mode === 'broker' ? platform.counts(brokerCaller(realm)).tokenCalls : 0;
        return {
          tokenCallsAtProvider: atFake.tokenCalls + brokerCalls,
          tokenCallsBySdks: atFake.tokenCalls,
          rejected40001: atFake.rejected,
          apiCalls: sum.calls,
          failedCalls: sum.failed,
        };
      };
      sdks[sdk] = { alone: runOf('alone', aloneResults), broker: runOf('broker', brokerResults) };
    }
    return { apps: options.apps, durationS: options.durationS, overlapMs: options.overlapMs, sdks };
  } finally {
    await Promise.all(functions.map((f) => f.stop()));
    await platform.close();
  }
}

export function adoptionRows(r: AdoptionResult): Row[] {
  const s = `6 adoption (${r.apps} app processes per SDK, ${r.durationS} s, old token killed ${fmt(r.overlapMs)} ms after a new fetch)`;
  const figures = (x: AdoptionRun) =>
    `${fmt(x.tokenCallsAtProvider)} token calls (${fmt(x.tokenCallsBySdks)} by the SDK) / ${fmt(x.rejected40001)} × 40001 / ${fmt(x.failedCalls)} of ${fmt(x.apiCalls)} calls failed`;
  return ADOPTION_SDKS.map((sdk) => {
    const { alone, broker } = r.sdks[sdk];
    return row(
      s,
      `${sdk}: token calls / 40001 seen / failed calls`,
      `through the broker: ${figures(broker)}`,
      `SDK alone: ${figures(alone)}`,
      'broker: ≤ 2 token calls, none by the SDK, 0 failed',
      broker.tokenCallsBySdks === 0 && broker.tokenCallsAtProvider <= 2 && broker.failedCalls === 0,
    );
  });
}
