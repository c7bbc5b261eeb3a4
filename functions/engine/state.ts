/**
 * Pure decisions over a token's state. The engine runs decide() inside a store transaction (to take
 * a lease atomically) and outside one (to poll while waiting), so both see the same rules.
 */
import { AppError } from '../errors';
import type { TokenError, TokenLease, TokenState, TokenSummary } from '../store/types';

/** A token with less than this left is not worth handing out. */
export const MIN_SERVE_MS = 1_000;

export type Mode = 'get' | 'flush' | 'invalid' | 'refresh';

export interface Policy {
  flushMinIntervalMs: number;
  dailyBudget: number;
}

export interface DecideInput {
  now: number;
  mode: Mode;
  invalidToken?: string;
  secretRev: string;
  policy: Policy;
  /** The lease id this caller waited on: if it ended in an error, report that error. */
  waitedLeaseId?: string;
}

export type Decision =
  | { kind: 'serve'; state: TokenState }
  | { kind: 'wait'; lease: TokenLease }
  | { kind: 'lease'; lease: TokenLease; next: TokenState }
  | { kind: 'fail'; error: AppError }
  | { kind: 'skip'; reason: string }
  | { kind: 'restart' };

export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

export function callsToday(state: Pick<TokenState, 'callsDay' | 'callsToday'> | null, now: number): number {
  return state?.callsDay === utcDay(now) ? (state.callsToday ?? 0) : 0;
}

/**
 * The latest moment an app may use this token, observed as current at `observedAt`: its expiry,
 * and for providers that kill the previous token `overlapMs` after a new fetch, observedAt + overlap
 * (a refresh right after the observation kills it no earlier than that).
 */
export function serveDeadline(state: TokenState, observedAt: number): number {
  const expiresAt = state.expiresAt ?? 0;
  return state.overlapMs === undefined ? expiresAt : Math.min(expiresAt, observedAt + state.overlapMs);
}

export function usable(state: TokenState | null, now: number): state is TokenState & { token: string } {
  return (
    state !== null &&
    typeof state.token === 'string' &&
    state.expiresAt !== undefined &&
    state.expiresAt - now >= MIN_SERVE_MS
  );
}

/** The same test on a listing entry, which carries no token (nothing is decrypted for listings). */
export function summaryUsable(summary: TokenSummary, now: number): boolean {
  return summary.hasToken && summary.expiresAt !== undefined && summary.expiresAt - now >= MIN_SERVE_MS;
}

export function isDue(state: Pick<TokenState, 'refreshAt'>, now: number): boolean {
  return state.refreshAt !== undefined && now >= state.refreshAt;
}

function leaseActive(state: TokenState, now: number): state is TokenState & { lease: TokenLease } {
  return state.lease !== undefined && state.lease.until > now;
}

/** A stored error, as the error a request gets. */
export function errorFromStored(e: TokenError, extra: Record<string, unknown> = {}): AppError {
  const code =
    e.code === 'UPSTREAM_TIMEOUT'
      ? 'UPSTREAM_TIMEOUT'
      : e.code === 'QUOTA_EXHAUSTED'
        ? 'QUOTA_EXHAUSTED'
        : 'UPSTREAM_ERROR';
  // A remembered permanent error says how to clear it, and keeps the hint the first answer had.
  const message =
    extra.negativeCache === true
      ? `${e.message} (remembered until ${String(extra.retryAt)} so that a wrong secret does not burn the provider's quota; re-saving the secret, POST /api/secret, clears it)`
      : e.message;
  return new AppError(code, message, {
    details: {
      httpStatus: e.httpStatus,
      providerCode: e.providerCode,
      providerMessage: e.providerMessage,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      transient: !e.permanent,
      at: new Date(e.at).toISOString(),
      ...extra,
    },
  });
}

/** A fresh state for new or replaced credentials: no token, no lease, no error; counters kept. */
export function freshState(
  realm: string,
  key: string,
  secretRev: string,
  current: Pick<TokenState, 'generation' | 'callsDay' | 'callsToday'> | null,
): TokenState {
  return {
    realm,
    key,
    secretRev,
    generation: (current?.generation ?? 0) + 1,
    ...(current?.callsDay === undefined
      ? {}
      : { callsDay: current.callsDay, callsToday: current.callsToday ?? 0 }),
  };
}

export interface LeaseRequest {
  id: string;
  owner: string;
  leaseMs: number;
}

/**
 * What a caller should do now. With `lease` given (inside a transaction) it may take the lease;
 * without (a read-only poll) it answers 'lease' only to say that taking it is worth a transaction.
 */
export function decide(
  current: TokenState | null,
  input: DecideInput,
  realm: string,
  key: string,
  lease: LeaseRequest,
): Decision {
  const { now, mode, policy } = input;
  if (current !== null && current.secretRev !== input.secretRev) return { kind: 'restart' };
  const state: TokenState = current ?? { realm, key, secretRev: input.secretRev, generation: 0 };
  const hasToken = usable(state, now);

  if (hasToken) {
    const fresh = state.fetchedAt !== undefined && now - state.fetchedAt < policy.flushMinIntervalMs;
    switch (mode) {
      case 'get':
        return { kind: 'serve', state };
      case 'flush':
        if (fresh) return { kind: 'serve', state };
        break;
      case 'invalid':
        if (state.token !== input.invalidToken || fresh) return { kind: 'serve', state };
        break;
      case 'refresh':
        if (!isDue(state, now)) return { kind: 'skip', reason: 'not due' };
        break;
    }
  }

  if (
    input.waitedLeaseId !== undefined &&
    state.lastError?.leaseId === input.waitedLeaseId &&
    !leaseActive(state, now)
  ) {
    // The refresh we waited for failed: report its error rather than call the provider again.
    return { kind: 'fail', error: errorFromStored(state.lastError) };
  }
  if (leaseActive(state, now)) {
    if (mode === 'refresh') return { kind: 'skip', reason: 'refresh in progress' };
    return { kind: 'wait', lease: state.lease };
  }
  if (state.blockedUntil !== undefined && state.blockedUntil > now && state.lastError !== undefined) {
    if (hasToken && mode !== 'invalid') return { kind: 'serve', state };
    if (mode === 'refresh') return { kind: 'skip', reason: 'permanent error remembered' };
    return {
      kind: 'fail',
      error: errorFromStored(state.lastError, {
        negativeCache: true,
        retryAt: new Date(state.blockedUntil).toISOString(),
      }),
    };
  }
  const calls = callsToday(state, now);
  if (calls >= policy.dailyBudget) {
    if (hasToken && mode !== 'invalid') return { kind: 'serve', state };
    if (mode === 'refresh') return { kind: 'skip', reason: 'daily budget used' };
    const tomorrow = Date.parse(`${utcDay(now)}T00:00:00.000Z`) + 86_400_000;
    return {
      kind: 'fail',
      error: new AppError(
        'QUOTA_EXHAUSTED',
        `The daily upstream-call budget of ${policy.dailyBudget} for ${realm}/${key} is used up; no more provider calls until 00:00 UTC`,
        {
          details: { budget: policy.dailyBudget, callsToday: calls },
          retryAfter: Math.ceil((tomorrow - now) / 1000),
        },
      ),
    };
  }
  const taken: TokenLease = {
    id: lease.id,
    owner: lease.owner,
    until: now + lease.leaseMs,
    baseGeneration: state.generation,
  };
  return {
    kind: 'lease',
    lease: taken,
    next: { ...state, lease: taken, callsDay: utcDay(now), callsToday: calls + 1 },
  };
}
