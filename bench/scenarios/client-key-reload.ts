/**
 * Scenario 7, client-key reload under load: one tokenServerCache process whose client-key cache
 * lasts CLIENT_CACHE_MS; a crowd of 100 concurrent memory hits (new connections, one client key)
 * right after a request loaded the cached lookup (warm); the same crowd past the lookup's expiry
 * under steady traffic (one request every TRICKLE_MS meanwhile: the cache reloads ahead of expiry,
 * so no request should wait for the store); and the same crowd after the process sat idle past the
 * expiry (the crowd needs the lookup: one Firestore query shared by all of it, which the revocation
 * bound requires). Alternated warm / steady / idle, `rounds` each.
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
  /** Past the expiry under steady traffic (the target). */
  steady: LatencySummary[];
  /** Past the expiry after sitting idle (one shared query needed). */
  expired: LatencySummary[];
  warmP50Ms: number;
  steadyP50Ms: number;
  expiredP50Ms: number;
  /** steady / warm. */
  ratio: number;
  /** idle / warm. */
  idleRatio: number;
  failed: number;
  goal: number;
  seconds: number;
}

const KEY = 'client-key';
const CLIENT_CACHE_MS = 2_000;
/** Steady traffic: one request this often while the lookup ages past its expiry. */
const TRICKLE_MS = 100;

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
  const steady: LatencySummary[] = [];
  const expired: LatencySummary[] = [];
  let failed = 0;
  const measure = async (into: LatencySummary[]) => {
    const { answers } = await crowd(o.requests, () => url, headers);
    failed += answers.filter((a) => a.status !== 200).length;
    into.push(latencySummary(answers.map((a) => a.ms)));
  };
  try {
    const idle = () => new Promise((resolve) => setTimeout(resolve, CLIENT_CACHE_MS + 500));
    for (let r = 0; r < o.rounds; r++) {
      // Warm: one request has just (re)loaded the lookup and the token into memory.
      await idle();
      await crowd(1, () => url, headers);
      await measure(warm);
      // Steady: the lookup made just now ages past its expiry under a trickle of requests.
      const until = Date.now() + CLIENT_CACHE_MS + 500;
      while (Date.now() < until) {
        await crowd(1, () => url, headers);
        await new Promise((resolve) => setTimeout(resolve, TRICKLE_MS));
      }
      await measure(steady);
      // Idle: nothing asked for longer than the lookup's life.
      await idle();
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
  const medianP50 = (runs: LatencySummary[]) =>
    round(
      percentile(
        runs.map((w) => w.p50),
        50,
      ),
      1,
    );
  const expiredP50Ms = medianP50(expired);
  const steadyP50Ms = medianP50(steady);
  return {
    requests: o.requests,
    clientCacheMs: CLIENT_CACHE_MS,
    warm,
    steady,
    expired,
    warmP50Ms,
    steadyP50Ms,
    expiredP50Ms,
    ratio: round(steadyP50Ms / warmP50Ms, 3),
    idleRatio: round(expiredP50Ms / warmP50Ms, 3),
    failed,
    goal: 1.2,
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

export function clientKeyReloadRows(r: ClientKeyReloadResult): Row[] {
  const scenario = `7 client-key reload (${r.requests} concurrent hits, ${r.warm.length} rounds)`;
  const rounds = (runs: LatencySummary[]) => runs.map((x) => x.p50).join(', ');
  const warm = `warm (lookup cached): ${r.warmP50Ms} ms (rounds ${rounds(r.warm)})`;
  const failed = r.failed > 0 ? `, ${r.failed} failed` : '';
  return [
    row(
      scenario,
      `p50 past the lookup's expiry (${r.clientCacheMs} ms) under steady traffic (a request every ${TRICKLE_MS} ms)`,
      `${r.steadyP50Ms} ms = ${r.ratio}× warm (rounds ${rounds(r.steady)})${failed}`,
      warm,
      `≤ ${r.goal}× warm`,
      r.failed === 0 && r.ratio <= r.goal,
    ),
    row(
      scenario,
      `p50 after sitting idle past the expiry (one shared query; the revocation bound)`,
      `${r.expiredP50Ms} ms = ${r.idleRatio}× warm (rounds ${rounds(r.expired)})`,
      warm,
      'info',
      'info',
    ),
  ];
}
