/**
 * Scenario 7, client-key reload under load: one tokenServerCache process whose client-key cache
 * lasts BENCH_CLIENT_CACHE_MS; a crowd of 100 concurrent memory hits (new connections, one client
 * key) right after a request refreshed the cached lookup (warm), and the same crowd after the
 * process sat idle past the cache's expiry (every request of the crowd needs the lookup: one
 * Firestore query each, unless the lookups are shared). Alternated warm / expired, `rounds` each.
 */
import { join } from 'node:path';
import { crowd } from '../crowd';
import { startBenchFunction } from '../processes';
import { row, type Row } from '../report';
import { REALM, type Stack } from '../stack';
import { latencySummary, percentile, round, type LatencySummary } from '../stats';

export interface ClientKeyReloadOptions {
  source?: string;
  requests: number;
  rounds: number;
  resultsDir: string;
}

export interface ClientKeyReloadResult {
  requests: number;
  clientCacheMs: number;
  warm: LatencySummary[];
  expired: LatencySummary[];
  warmP50Ms: number;
  expiredP50Ms: number;
  ratio: number;
  failed: number;
  goal: number;
  seconds: number;
}

const KEY = 'client-key';
const CLIENT_CACHE_MS = 2_000;

export async function clientKeyReload(
  stack: Stack,
  o: ClientKeyReloadOptions,
): Promise<ClientKeyReloadResult> {
  const started = Date.now();
  await stack.addSecret(KEY);
  const clientKey = await stack.addClient('bench-client-key');
  await stack.prime(KEY);
  const headers = { authorization: `Bearer ${clientKey}` };
  const fn = await startBenchFunction({
    target: 'tokenServerCache',
    ...(o.source === undefined ? {} : { source: o.source }),
    env: { ...stack.env.env, TOKEN_SERVER_CLIENT_CACHE_MS: String(CLIENT_CACHE_MS) },
    logFile: join(o.resultsDir, 'client-key-reload.log'),
  });
  const url = `${fn.url}/api/token?realm=${REALM}&key=${KEY}`;
  const warm: LatencySummary[] = [];
  const expired: LatencySummary[] = [];
  let failed = 0;
  const measure = async (into: LatencySummary[]) => {
    const { answers } = await crowd(o.requests, () => url, headers);
    failed += answers.filter((a) => a.status !== 200).length;
    into.push(latencySummary(answers.map((a) => a.ms)));
  };
  try {
    for (let r = 0; r < o.rounds; r++) {
      // Warm: one request has just (re)loaded the lookup and the token into memory.
      await crowd(1, () => url, headers);
      await measure(warm);
      await new Promise((resolve) => setTimeout(resolve, CLIENT_CACHE_MS + 500));
      await measure(expired);
    }
  } finally {
    await fn.stop();
  }
  const warmP50Ms = round(
    percentile(
      warm.map((w) => w.p50),
      50,
    ),
    1,
  );
  const expiredP50Ms = round(
    percentile(
      expired.map((w) => w.p50),
      50,
    ),
    1,
  );
  return {
    requests: o.requests,
    clientCacheMs: CLIENT_CACHE_MS,
    warm,
    expired,
    warmP50Ms,
    expiredP50Ms,
    ratio: round(expiredP50Ms / warmP50Ms, 3),
    failed,
    goal: 1.2,
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

export function clientKeyReloadRows(r: ClientKeyReloadResult): Row[] {
  return [
    row(
      `7 client-key reload (${r.requests} concurrent hits, ${r.warm.length} rounds)`,
      `p50 after the client-key cache expired (${r.clientCacheMs} ms idle)`,
      `${r.expiredP50Ms} ms = ${r.ratio}× warm (rounds ${r.expired.map((x) => x.p50).join(', ')})${r.failed > 0 ? `, ${r.failed} failed` : ''}`,
      `warm (lookup cached): ${r.warmP50Ms} ms (rounds ${r.warm.map((x) => x.p50).join(', ')})`,
      `≤ ${r.goal}× warm`,
      r.failed === 0 && r.ratio <= r.goal,
    ),
  ];
}
