/** Small statistics for benchmark results: percentiles, counts per time window, rounding. */

/** The p-th percentile (0–100) of values, nearest-rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((s, v) => s + v, 0) / values.length;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function latencySummary(valuesMs: readonly number[]): LatencySummary {
  return {
    count: valuesMs.length,
    p50: round(percentile(valuesMs, 50), 1),
    p90: round(percentile(valuesMs, 90), 1),
    p99: round(percentile(valuesMs, 99), 1),
    max: round(Math.max(...valuesMs), 1),
    mean: round(mean(valuesMs), 1),
  };
}

/**
 * The largest number of events in any window of windowMs (sliding: every window that starts at an
 * event), and that count as a rate per second.
 */
export function peakInWindow(
  timesMs: readonly number[],
  windowMs: number,
): { count: number; perSecond: number } {
  const sorted = [...timesMs].sort((a, b) => a - b);
  let best = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    const from = sorted[start] as number;
    while (end < sorted.length && (sorted[end] as number) < from + windowMs) end++;
    best = Math.max(best, end - start);
  }
  return { count: best, perSecond: round(best / (windowMs / 1000), 3) };
}

/** Counts of events per bucket of bucketMs from `fromMs`, as [bucket start offset (s), count]. */
export function histogram(
  timesMs: readonly number[],
  fromMs: number,
  bucketMs: number,
): Array<{ fromS: number; count: number }> {
  if (timesMs.length === 0) return [];
  const first = Math.floor((Math.min(...timesMs) - fromMs) / bucketMs);
  const last = Math.floor((Math.max(...timesMs) - fromMs) / bucketMs);
  const counts = new Array<number>(last - first + 1).fill(0);
  for (const t of timesMs) {
    const i = Math.floor((t - fromMs) / bucketMs) - first;
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts.map((count, i) => ({ fromS: ((first + i) * bucketMs) / 1000, count }));
}

/** A deterministic uniform [0, 1) generator (xorshift32), so that simulations repeat exactly. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4_294_967_296;
  };
}
