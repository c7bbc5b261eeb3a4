/**
 * Scenario 3, mass expiry: 1,000 secrets fetched at one instant, then steady traffic (every secret
 * asked every 10 s, on two instances) through one whole lifetime on an injected clock. Measured: when
 * each refresh happened, and the peak upstream rate, with jitter and without it (every draw 0, the
 * baseline), beside a reference of 1,000 ideal uniform draws over the same span.
 */
import { row, fmt, type Row } from '../report';
import { createSim, drive, fetchAll } from '../sim';
import { histogram, peakInWindow, percentile, round, seededRandom } from '../stats';

const SECRETS = 1000;
const LIFETIME_MS = 7_200_000;
const TICK_MS = 1000;
const INTERVAL_MS = 10_000;

export interface ExpiryStats {
  refreshes: number;
  /** Secrets refreshed other than exactly once in the lifetime. */
  secretsNotRefreshedOnce: number;
  /** Offsets from the fetch instant, seconds. */
  firstS: number;
  lastS: number;
  spreadS: number;
  spreadPctOfLifetime: number;
  /** The spread of the due times the first fetches scheduled (before traffic noticed them). */
  scheduledSpreadPctOfLifetime: number;
  p5S: number;
  p95S: number;
  meanPerSecond: number;
  peak1s: number;
  peak10sPerSecond: number;
  peak60sPerSecond: number;
  /** Peak (10 s windows) over the mean rate. */
  peakToMean: number;
  requests: number;
  waitedWhileValid: number;
  errors: number;
  histogram60s: Array<{ fromS: number; count: number }>;
}

export interface MassExpiryResult {
  secrets: number;
  lifetimeS: number;
  requestIntervalS: number;
  instances: string[];
  jittered: ExpiryStats;
  noJitter: ExpiryStats;
  /** 1,000 independent uniform draws over the jittered run's span: what pure chance gives. */
  idealUniform: { peak1s: number; peak10sPerSecond: number };
  targets: { spreadPctOfLifetime: number; peakToMean: number };
  seconds: number;
}

async function runOnce(seed: number | 'none'): Promise<ExpiryStats> {
  const sim = await createSim({
    secrets: SECRETS,
    lifetimeMs: LIFETIME_MS,
    instances: ['tokenServer', 'tokenServerCache'],
    seed,
  });
  await fetchAll(sim);
  const fetchedAt = sim.clock.now();
  const scheduled = (await sim.store.listTokenStates()).map((t) => t.refreshAt ?? Number.NaN);
  const scheduledSpreadMs = Math.max(...scheduled) - Math.min(...scheduled);
  const traffic = await drive(sim, {
    untilMs: fetchedAt + LIFETIME_MS,
    tickMs: TICK_MS,
    intervalMs: INTERVAL_MS,
  });
  const refreshes = sim.provider.calls.filter((c) => c.at > fetchedAt);
  const times = refreshes.map((c) => c.at);
  const perSecret = new Map<string, number>();
  for (const c of refreshes) perSecret.set(c.key, (perSecret.get(c.key) ?? 0) + 1);
  const notOnce = sim.keys.filter((k) => perSecret.get(k) !== 1).length;
  const first = Math.min(...times);
  const last = Math.max(...times);
  const spreadMs = last - first;
  const meanPerSecond = spreadMs > 0 ? times.length / (spreadMs / 1000) : times.length;
  const peak10 = peakInWindow(times, 10_000).perSecond;
  return {
    refreshes: times.length,
    secretsNotRefreshedOnce: notOnce,
    firstS: round((first - fetchedAt) / 1000, 1),
    lastS: round((last - fetchedAt) / 1000, 1),
    spreadS: round(spreadMs / 1000, 1),
    spreadPctOfLifetime: round((spreadMs / LIFETIME_MS) * 100, 2),
    scheduledSpreadPctOfLifetime: round((scheduledSpreadMs / LIFETIME_MS) * 100, 2),
    p5S: round((percentile(times, 5) - fetchedAt) / 1000, 1),
    p95S: round((percentile(times, 95) - fetchedAt) / 1000, 1),
    meanPerSecond: round(meanPerSecond, 3),
    peak1s: peakInWindow(times, 1000).count,
    peak10sPerSecond: peak10,
    peak60sPerSecond: peakInWindow(times, 60_000).perSecond,
    peakToMean: round(peak10 / meanPerSecond, 2),
    requests: traffic.requests,
    waitedWhileValid: traffic.waitedWhileValid,
    errors: traffic.errors,
    histogram60s: histogram(times, fetchedAt, 60_000),
  };
}

export async function massExpiry(seed: number): Promise<MassExpiryResult> {
  const started = Date.now();
  const jittered = await runOnce(seed);
  const noJitter = await runOnce('none');
  const draw = seededRandom(seed + 1);
  const ideal = Array.from({ length: jittered.refreshes }, () => draw() * jittered.spreadS * 1000);
  return {
    secrets: SECRETS,
    lifetimeS: LIFETIME_MS / 1000,
    requestIntervalS: INTERVAL_MS / 1000,
    instances: ['tokenServer', 'tokenServerCache'],
    jittered,
    noJitter,
    idealUniform: {
      peak1s: peakInWindow(ideal, 1000).count,
      peak10sPerSecond: peakInWindow(ideal, 10_000).perSecond,
    },
    targets: { spreadPctOfLifetime: 10, peakToMean: 2 },
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

export function massExpiryRows(r: MassExpiryResult): Row[] {
  const j = r.jittered;
  const b = r.noJitter;
  const s = `3 mass expiry (${fmt(r.secrets)} secrets)`;
  return [
    row(
      s,
      'refresh spread (first→last)',
      `${fmt(j.spreadS)} s = ${j.spreadPctOfLifetime}% of lifetime`,
      `no jitter: ${fmt(b.spreadS)} s`,
      `≥ ${r.targets.spreadPctOfLifetime}%`,
      j.spreadPctOfLifetime >= r.targets.spreadPctOfLifetime,
    ),
    row(
      s,
      'peak upstream calls/s (10 s windows)',
      `${j.peak10sPerSecond}/s = ${j.peakToMean}× mean ${j.meanPerSecond}/s`,
      `no jitter: ${b.peak10sPerSecond}/s (${b.peak1s} in 1 s)`,
      `≤ ${r.targets.peakToMean}× mean`,
      j.peakToMean <= r.targets.peakToMean,
    ),
    row(
      s,
      'peak in any 1 s',
      `${j.peak1s} calls`,
      `ideal uniform draws: ${r.idealUniform.peak1s}`,
      'info',
      'info',
    ),
    row(
      s,
      'secrets refreshed ≠ once; requests waited while valid',
      `${j.secretsNotRefreshedOnce}; ${j.waitedWhileValid} of ${fmt(j.requests)}`,
      `no jitter: ${b.secretsNotRefreshedOnce}; ${b.waitedWhileValid}`,
      '0; 0',
      j.secretsNotRefreshedOnce === 0 && j.waitedWhileValid === 0 && j.errors === 0,
    ),
  ];
}
