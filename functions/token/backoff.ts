/**
 * Backoff across requests and instances after a failed refresh round: the state's backoffUntil says
 * when any instance may call the provider again for that secret. It doubles with each failed round
 * in a row, from 2 s to at most 5 minutes, with jitter (uniform over the upper half, so that
 * instances and secrets spread out but a wait is never cut to nothing). An hour's outage under
 * steady traffic costs 8 rounds (about 6 minutes) to reach the cap and then one every 3.75 minutes
 * on average: about 23 calls.
 */
export const BACKOFF_BASE_MS = 2_000;
/** The shortest backoff there is (the first one, at its lowest). */
export const BACKOFF_MIN_MS = BACKOFF_BASE_MS / 2;
export const BACKOFF_MAX_MS = 300_000;

/** The backoff after the `failures`-th failed round in a row (1 for the first). */
export function backoffMs(failures: number, random: number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, Math.min(failures - 1, 20)));
  const r = Math.min(Math.max(random, 0), 1);
  return Math.floor(ceiling / 2 + (r * ceiling) / 2);
}
