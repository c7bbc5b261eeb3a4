/**
 * A token document's due time (`dueAt`): the store time from which the scheduled refresh should look
 * at it. It is a pure function of the state, written by the codec with every token-state write, so
 * it stays exact whoever writes the state (engine, admin routes, backfill), and the scheduled refresh
 * becomes one indexed query (`dueAt <= now`) whose reads grow with the due tokens, not the secrets.
 *
 * | state                                            | dueAt                                         |
 * |--------------------------------------------------|-----------------------------------------------|
 * | no token (new or replaced credentials)           | 0: now                                        |
 * | a token                                          | refreshAt (expiresAt when it has none)        |
 * | transient error, no token                        | backoffUntil (0 without one)                  |
 * | transient error, a token                         | max(refreshAt, backoffUntil)                  |
 * | permanent error, no token                        | never (only traffic or new credentials retry) |
 * | permanent error, a token                         | max(refreshAt, blockedUntil), or never once   |
 * |                                                  | that is not before the token's expiry         |
 * | a lease is held                                  | at least the lease's end (a holder that died  |
 * |                                                  | is taken over then)                           |
 *
 * A permanent error (bad credentials, IP not allow-listed) is not retried by the schedule once no
 * valid token is left to protect: retrying a wrong secret every minute would burn the provider's
 * quota for nothing. A request for it, or replacing the secret, retries it.
 */
import type { TokenState } from './types';

/** "Never due": the latest moment a JavaScript Date can hold, so it still renders as a time. */
export const NEVER_DUE = 8_640_000_000_000_000;

/**
 * The fields the due time depends on. `backoffUntil` (no provider call before this store time after
 * a failed transient round) is written by the engine; it is optional here so that states written
 * before it existed are judged too.
 */
export type DueInputs = Pick<TokenState, 'expiresAt' | 'refreshAt' | 'blockedUntil'> & {
  hasToken: boolean;
  lease?: Pick<NonNullable<TokenState['lease']>, 'until'> | undefined;
  lastError?: Pick<NonNullable<TokenState['lastError']>, 'permanent'> | undefined;
  backoffUntil?: number | undefined;
};

export function dueAtOf(s: DueInputs): number {
  const refreshAt = s.refreshAt ?? s.expiresAt ?? 0;
  let due: number;
  if (s.lastError === undefined) {
    due = s.hasToken ? refreshAt : 0;
  } else if (!s.lastError.permanent) {
    const backoff = s.backoffUntil ?? 0;
    due = s.hasToken ? Math.max(refreshAt, backoff) : backoff;
  } else if (!s.hasToken) {
    due = NEVER_DUE;
  } else {
    due = Math.max(refreshAt, s.blockedUntil ?? 0);
    if (s.expiresAt !== undefined && due >= s.expiresAt) due = NEVER_DUE;
  }
  if (s.lease !== undefined) due = Math.max(due, s.lease.until);
  return due;
}

/** The due time of a whole token state (as the codec writes it). */
export function dueAtOfState(t: TokenState): number {
  return dueAtOf({ ...t, hasToken: typeof t.token === 'string' });
}
