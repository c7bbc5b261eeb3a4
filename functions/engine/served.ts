/**
 * A token as handed to an app. Everything in the store is store time; an app and the edge cache
 * count on the instance's clock. A read sent at local time `sentAt` that the store answered at
 * store time `storeNow` happened no earlier than sentAt, so "store time X" is reached no earlier
 * than local time sentAt + (X − storeNow): converting that way never lengthens a lifetime, however
 * far the instance's clock is off.
 */
import type { TokenState } from '../store/types';
import { type ServeReason } from '../token/decide';
import { serveDeadline } from '../token/phase';

export type TokenSource = 'memory' | 'database' | 'upstream';

/**
 * The stored expiry of a token that never expires (a fixed token without expires_in,
 * engine/fixed-token.ts): the last moment a JavaScript Date can show well.
 */
export const NEVER_EXPIRES_AT = Date.parse('9999-12-31T23:59:59.999Z');

/** What an invalid_token report led to (the token route's `outcome`). */
export type InvalidOutcome = 'refreshed' | 'newer' | 'unchanged';

/** A token as served: the deadline is already capped (expiry, and overlap for invalidating providers). */
export interface ServedToken {
  token: string;
  generation: number;
  /** The credentials revision it belongs to (the edge cache compares generations within one). */
  secretRev: string;
  /** The latest moment (instance clock) an app may use it. */
  deadline: number;
  /** When the store's copy falls due for refresh (instance clock; the edge cache re-reads then). */
  refreshAt: number;
  /** When the read that found it current was sent (instance clock). */
  observedAt: number;
  /** Store time minus instance time, as estimated from that read (for expires_at). */
  storeOffsetMs: number;
  overlapMs: number | undefined;
  source: TokenSource;
  /** Why it was served without a call, when it was. */
  reason?: ServeReason;
  outcome?: InvalidOutcome;
  /** Served from the stored token at the first read: no lease, no wait (the request log counts it as a hit). */
  hit?: boolean;
  /**
   * Set for a token that never expires: every answer names this lifetime as it is (its serving cap,
   * the interval at which apps re-ask), not the deadline measured again at answer time.
   */
  fixedLifetimeMs?: number;
}

/** A read of the store: sent at `sentAt` by the instance's clock, answered at store time `storeNow`. */
export interface Observation {
  sentAt: number;
  storeNow: number;
}

export function servedFrom(
  state: TokenState & { token: string },
  obs: Observation,
  source: TokenSource,
  reason?: ServeReason,
): ServedToken {
  const offset = obs.storeNow - obs.sentAt;
  return {
    token: state.token,
    generation: state.generation,
    secretRev: state.secretRev,
    deadline: serveDeadline(state, obs.storeNow) - offset,
    refreshAt: (state.refreshAt ?? state.expiresAt ?? obs.storeNow) - offset,
    observedAt: obs.sentAt,
    storeOffsetMs: offset,
    overlapMs: state.overlapMs,
    source,
    ...(reason === undefined ? {} : { reason }),
    ...(state.expiresAt === NEVER_EXPIRES_AT && state.overlapMs !== undefined
      ? { fixedLifetimeMs: state.overlapMs }
      : {}),
  };
}

/** The lifetime to answer for a served token at instance time `now` (ms, whole, never negative). */
export function answeredLifetimeMs(served: ServedToken, now: number): number {
  return served.fixedLifetimeMs ?? Math.max(0, Math.floor(served.deadline - now));
}

/** The invalid_token outcome of a served token. */
export function invalidOutcome(served: ServedToken, reported: string): InvalidOutcome {
  if (served.token === reported) return 'unchanged';
  return served.reason === 'newer' ? 'newer' : 'refreshed';
}
