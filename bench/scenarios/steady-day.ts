/**
 * Scenario 4, a simulated day at steady load: 100 secrets with 7,200 s tokens, each asked every 10 s
 * (6 a minute) on two instances (tokenServer and tokenServerCache) for 86,400 s of injected clock,
 * starting with no tokens. Measured: upstream calls per secret against the floor (one per lifetime:
 * 12), and requests that waited on the provider while a valid token existed (target: none), with the
 * refresh jitter and without it (baseline).
 */
import { row, fmt, type Row } from '../report';
import { createSim, drive } from '../sim';
import { mean, round } from '../stats';

const SECRETS = 100;
const LIFETIME_MS = 7_200_000;
const DAY_MS = 86_400_000;
const TICK_MS = 1000;
const INTERVAL_MS = 10_000;

export interface DayStats {
  callsPerSecret: { mean: number; min: number; max: number; distribution: Record<string, number> };
  /** Long-run rate: a day over the mean interval between one secret's calls. */
  callsPerDayLongRun: number;
  meanRefreshIntervalS: number;
  requests: number;
  bySource: Record<string, number>;
  waitedOnProvider: number;
  waitedWhileValid: number;
  errors: number;
}

export interface SteadyDayResult {
  secrets: number;
  lifetimeS: number;
  requestsPerMinutePerSecret: number;
  instances: string[];
  floor: number;
  jittered: DayStats;
  noJitter: DayStats;
  seconds: number;
}

async function runOnce(seed: number | 'none'): Promise<DayStats> {
  const sim = await createSim({
    secrets: SECRETS,
    lifetimeMs: LIFETIME_MS,
    instances: ['tokenServer', 'tokenServerCache'],
    seed,
  });
  const traffic = await drive(sim, {
    untilMs: sim.startedAt + DAY_MS,
    tickMs: TICK_MS,
    intervalMs: INTERVAL_MS,
  });
  const byKey = new Map<string, number[]>();
  for (const c of sim.provider.calls) {
    const list = byKey.get(c.key) ?? [];
    list.push(c.at);
    byKey.set(c.key, list);
  }
  const counts = sim.keys.map((k) => byKey.get(k)?.length ?? 0);
  const distribution: Record<string, number> = {};
  for (const n of counts) distribution[String(n)] = (distribution[String(n)] ?? 0) + 1;
  const intervals: number[] = [];
  for (const list of byKey.values())
    for (let i = 1; i < list.length; i++) intervals.push((list[i] as number) - (list[i - 1] as number));
  const meanInterval = mean(intervals);
  return {
    callsPerSecret: {
      mean: round(mean(counts), 2),
      min: Math.min(...counts),
      max: Math.max(...counts),
      distribution,
    },
    callsPerDayLongRun: round(DAY_MS / meanInterval, 2),
    meanRefreshIntervalS: round(meanInterval / 1000, 1),
    requests: traffic.requests,
    bySource: traffic.bySource,
    waitedOnProvider: traffic.waitedOnProvider,
    waitedWhileValid: traffic.waitedWhileValid,
    errors: traffic.errors,
  };
}

export async function steadyDay(seed: number): Promise<SteadyDayResult> {
  const started = Date.now();
  const jittered = await runOnce(seed);
  const noJitter = await runOnce('none');
  return {
    secrets: SECRETS,
    lifetimeS: LIFETIME_MS / 1000,
    requestsPerMinutePerSecret: 60_000 / INTERVAL_MS,
    instances: ['tokenServer', 'tokenServerCache'],
    floor: DAY_MS / LIFETIME_MS,
    jittered,
    noJitter,
    seconds: round((Date.now() - started) / 1000, 1),
  };
}

export function steadyDayRows(r: SteadyDayResult): Row[] {
  const j = r.jittered;
  const b = r.noJitter;
  const s = `4 simulated day (${r.secrets} secrets, ${r.requestsPerMinutePerSecret} req/min each)`;
  const dist = (d: DayStats) =>
    Object.entries(d.callsPerSecret.distribution)
      .map(([n, k]) => `${k}×${n}`)
      .join(', ');
  return [
    row(
      s,
      'upstream calls per secret in the day',
      `mean ${j.callsPerSecret.mean}, max ${j.callsPerSecret.max} (${dist(j)})`,
      `floor ${r.floor}; no jitter: mean ${b.callsPerSecret.mean}, max ${b.callsPerSecret.max}`,
      `≤ ${r.floor + 1}`,
      j.callsPerSecret.max <= r.floor + 1,
    ),
    row(
      s,
      'long-run calls per secret per day',
      `${j.callsPerDayLongRun} (every ${fmt(j.meanRefreshIntervalS)} s)`,
      `floor ${r.floor}; no jitter: ${b.callsPerDayLongRun}`,
      `≤ ${r.floor + 1}`,
      j.callsPerDayLongRun <= r.floor + 1,
    ),
    row(
      s,
      'requests that waited on the provider while a valid token existed',
      `${j.waitedWhileValid} of ${fmt(j.requests)} (${j.waitedOnProvider} waited in all: cold starts)`,
      `no jitter: ${b.waitedWhileValid}`,
      '0',
      j.waitedWhileValid === 0 && j.errors === 0,
    ),
  ];
}
