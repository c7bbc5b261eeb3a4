/**
 * The phase of a token document at a store time: one name for where the secret's token is in its
 * life, so that the engine's background-refresh guard (engine/engine.ts), the probe's claim
 * (engine/probe.ts) and the status view (admin/views.ts) read the same rules instead of testing the
 * fields by hand. decide() (decide.ts) takes its lease, block and backoff tests from here too.
 *
 * | phase        | the document at `now`                                                          |
 * |--------------|--------------------------------------------------------------------------------|
 * | refreshing   | a lease is active (its `until` is after now): a round is in progress           |
 * | blocked      | a permanent error is remembered (`blockedUntil` after now): no provider call    |
 * | backing_off  | failed transient rounds: no provider call before `backoffUntil`                |
 * | missing      | none of the above, and no token that can be served (none, or too near its end) |
 * | due          | a servable token whose refresh time has passed                                 |
 * | current      | a servable token, not yet due                                                  |
 *
 * The first that applies names the phase. Every time is store time, never an instance's clock.
 */
import { dueAtOf } from './due-time';
import type { TokenError, TokenLease, TokenState, TokenSummary } from './types';

/** A token with less than this left is not worth handing out. */
export const MIN_SERVE_MS = 1_000;

/**
 * The moment the token dies by what the store knows: its expiry, and for providers that kill the
 * previous token `overlapMs` after a new fetch, the start of the earliest attempt since it was
 * fetched whose outcome is unknown, plus the overlap (that attempt may have minted a new token,
 * whatever became of its answer).
 */
export function liveUntil(state: Pick<TokenState, 'expiresAt' | 'overlapMs' | 'attemptSince'>): number {
  const expiresAt = state.expiresAt ?? 0;
  if (state.overlapMs === undefined || state.attemptSince === undefined) return expiresAt;
  return Math.min(expiresAt, state.attemptSince + state.overlapMs);
}

/**
 * The latest moment (store time) an app may use this token, observed as current at store time
 * `now`: liveUntil, and for overlap providers also now + overlap (an attempt starting right after
 * this read kills the token no earlier than that).
 */
export function serveDeadline(state: TokenState, now: number): number {
  const until = liveUntil(state);
  return state.overlapMs === undefined ? until : Math.min(until, now + state.overlapMs);
}

export function usable(state: TokenState | null, now: number): state is TokenState & { token: string } {
  return state !== null && typeof state.token === 'string' && liveUntil(state) - now >= MIN_SERVE_MS;
}

/** The same test on a listing entry, which carries no token (nothing is decrypted for listings). */
export function summaryUsable(
  summary: Pick<TokenSummary, 'hasToken' | 'expiresAt' | 'overlapMs' | 'attemptSince'>,
  now: number,
): boolean {
  return summary.hasToken && liveUntil(summary) - now >= MIN_SERVE_MS;
}

export function isDue(state: Pick<TokenState, 'refreshAt'>, now: number): boolean {
  return state.refreshAt !== undefined && now >= state.refreshAt;
}

export type TokenPhase = 'refreshing' | 'blocked' | 'backing_off' | 'missing' | 'due' | 'current';

/** The fields a phase is judged on: a token state, or a listing's summary (hasToken, no token). */
export type PhaseInputs = Pick<
  TokenState,
  | 'lease'
  | 'blockedUntil'
  | 'backoffUntil'
  | 'lastError'
  | 'refreshAt'
  | 'expiresAt'
  | 'overlapMs'
  | 'attemptSince'
> & { hasToken: boolean };

/** The one "lease active" test: a lease whose end (store time) is after `now`. */
export function leaseActive<T extends Pick<TokenState, 'lease'>>(
  state: T,
  now: number,
): state is T & { lease: TokenLease } {
  return state.lease !== undefined && state.lease.until > now;
}

/** A remembered permanent error still holds provider calls back. */
export function isBlocked<T extends Pick<TokenState, 'blockedUntil' | 'lastError'>>(
  state: T,
  now: number,
): state is T & { blockedUntil: number; lastError: TokenError } {
  return state.blockedUntil !== undefined && state.blockedUntil > now && state.lastError !== undefined;
}

/** Failed transient rounds still hold provider calls back. */
export function isBackingOff(state: Pick<TokenState, 'backoffUntil'>, now: number): boolean {
  return state.backoffUntil !== undefined && state.backoffUntil > now;
}

/** The phase of a token document (or summary) at store time `now` (table above). */
export function phaseOf(s: PhaseInputs, now: number): TokenPhase {
  if (leaseActive(s, now)) return 'refreshing';
  if (isBlocked(s, now)) return 'blocked';
  if (isBackingOff(s, now)) return 'backing_off';
  if (!summaryUsable(s, now)) return 'missing';
  return isDue(s, now) ? 'due' : 'current';
}

/** The phase of a whole token state (hasToken: it carries a token). */
export function phaseOfState(t: TokenState, now: number): TokenPhase {
  return phaseOf({ ...t, hasToken: typeof t.token === 'string' }, now);
}

/**
 * What /api/status says of a secret's token, in one word: `error` when its last refresh failed,
 * else `due` when the scheduled refresh would look at it now (its due time, due-time.ts, has come:
 * no token yet, or its refresh time has passed, and no lease holds it), else `ok`.
 */
export type TokenStatusState = 'ok' | 'due' | 'error';
export const TOKEN_STATUS_STATES = ['ok', 'due', 'error'] as const;

/** The status word of a token summary at `now`. */
export function statusState(s: Parameters<typeof dueAtOf>[0], now: number): TokenStatusState {
  if (s.lastError !== undefined) return 'error';
  return dueAtOf(s) <= now ? 'due' : 'ok';
}
