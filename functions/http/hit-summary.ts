/**
 * Token hits are counted, not logged one by one: at 1,000 requests a second a line per hit is 2.6
 * billion lines a month in Cloud Logging. Each (function, realm, key) gets one INFO line per
 * interval with its hit counts by source and their latency; the interval starts at the first hit
 * after a flush, so an idle instance has no timer, and the timer is unref'd, so it never keeps a
 * process alive. Misses, refreshes, errors and admin calls keep their per-request lines (app.ts).
 */
import { log } from '../log';

/** How often a secret's hits are summarised (ms). */
export const HIT_SUMMARY_INTERVAL_MS = 60_000;

export type HitSource = 'memory' | 'database';

interface Tally {
  function: string;
  realm: string;
  key: string;
  memory: number;
  database: number;
  latencySumMs: number;
  latencyMaxMs: number;
  since: number;
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;

export class HitSummary {
  private tallies = new Map<string, Tally>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = HIT_SUMMARY_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** One hit served (status 200) from `source`, `latencyMs` after the request reached the handler. */
  count(fn: string, realm: string, key: string, source: HitSource, latencyMs: number): void {
    const id = `${fn}\u0000${realm}\u0000${key}`;
    let tally = this.tallies.get(id);
    if (tally === undefined) {
      tally = {
        function: fn,
        realm,
        key,
        memory: 0,
        database: 0,
        latencySumMs: 0,
        latencyMaxMs: 0,
        since: this.now(),
      };
      this.tallies.set(id, tally);
    }
    tally[source]++;
    tally.latencySumMs += latencyMs;
    if (latencyMs > tally.latencyMaxMs) tally.latencyMaxMs = latencyMs;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Hits counted and not yet logged. */
  pending(): number {
    let n = 0;
    for (const t of this.tallies.values()) n += t.memory + t.database;
    return n;
  }

  /** Logs one line per secret counted since the last flush, and starts over. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const tallies = this.tallies;
    this.tallies = new Map();
    const now = this.now();
    for (const t of tallies.values()) {
      const hits = t.memory + t.database;
      log('INFO', `${hits} token hits on ${t.realm}/${t.key}`, {
        event: 'token_hits',
        function: t.function,
        realm: t.realm,
        key: t.key,
        hits,
        memory: t.memory,
        database: t.database,
        intervalMs: now - t.since,
        latencyMsAvg: round2(t.latencySumMs / hits),
        latencyMsMax: round2(t.latencyMaxMs),
      });
    }
  }
}

/** The process's summary; flushed on exit too, so a stopping instance loses no counts. */
export const hitSummary = new HitSummary();
process.once('exit', () => hitSummary.flush());
