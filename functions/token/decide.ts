/**
 * Pure decisions over a token's state, judged at the store's time `now` (never an instance clock).
 * The engine runs decide() inside a compare-and-set on the token document (to take a lease
 * atomically) and on plain reads (to poll while waiting), so both see the same rules.
 */
import { AppError } from '../errors';
import type { TokenError, TokenLease, TokenState } from './types';
import { keptQuotaCounters } from './quota-day-count';
import { budgetCheck, callsToday, flushCallsToday, secondsToNextDay, utcDay } from './budget';
import { isBackingOff, isBlocked, isDue, leaseActive, usable } from './phase';

export { callsToday, flushCallsToday, utcDay };

export type Mode = 'get' | 'flush' | 'invalid' | 'refresh';

export interface Policy {
  flushMinIntervalMs: number;
  dailyBudget: number;
}

/** The lease a caller waited for: its result (token or error) is what the caller gets. */
export interface WaitedLease {
  id: string;
  baseGeneration: number;
}

export interface DecideInput {
  /** Store time of the read this decision is made on. */
  now: number;
  mode: Mode;
  invalidToken?: string;
  secretRev: string;
  policy: Policy;
  waited?: WaitedLease;
}

/** Why a token is served without a call: the invalid_token outcome is derived from it. */
export type ServeReason = 'current' | 'fresh' | 'newer' | 'waited' | 'stale' | 'flush_share_used';

export type Decision =
  | { kind: 'serve'; state: TokenState & { token: string }; now: number; reason: ServeReason }
  | { kind: 'wait'; lease: TokenLease }
  | {
      kind: 'lease';
      lease: TokenLease;
      next: TokenState;
      now: number;
      hadToken: boolean;
      /** Set when the compare-and-set that took the lease also recorded the first attempt (takeLease, mutators.ts). */
      attemptStartedAt?: number;
    }
  | { kind: 'fail'; error: AppError }
  | { kind: 'skip'; reason: string }
  | { kind: 'restart' };

/** The last token write is younger than flush_min_interval: a flush gets it as it is. */
export function isFresh(state: TokenState, now: number, policy: Policy): boolean {
  const storedAt = state.lastRefreshAt ?? state.fetchedAt;
  return storedAt !== undefined && now - storedAt < policy.flushMinIntervalMs;
}

/** A stored error, as the error a request gets. */
export function errorFromStored(e: TokenError, extra: Record<string, unknown> = {}): AppError {
  const code =
    e.code === 'TICKET_MISSING' || e.code === 'TICKET_STALE' || e.code === 'NEEDS_REAUTHORIZATION'
      ? e.code
      : e.code === 'UPSTREAM_TIMEOUT'
        ? 'UPSTREAM_TIMEOUT'
        : e.code === 'QUOTA_EXHAUSTED'
          ? 'QUOTA_EXHAUSTED'
          : 'UPSTREAM_ERROR';
  // A remembered permanent error says how to clear it, and keeps the hint the first answer had.
  const message =
    extra.negativeCache === true && e.code !== 'NEEDS_REAUTHORIZATION'
      ? `${e.message} (remembered until ${String(extra.retryAt)} so that a wrong secret does not burn the provider's quota; re-saving the secret, POST /api/secret, or its realm, POST /api/realm, clears it)`
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

/** A 503 while the provider backs off: when to come back, and what it last said. */
function backingOff(state: TokenState, now: number, realm: string, key: string): AppError {
  const until = state.backoffUntil ?? now;
  const last = state.lastError;
  // Waiting for a pushed ticket keeps saying so (TICKET_MISSING / TICKET_STALE), as the 503 it is.
  const code = last?.code === 'TICKET_MISSING' || last?.code === 'TICKET_STALE' ? last.code : 'UNAVAILABLE';
  return new AppError(
    code,
    `The provider failed recently for ${realm}/${key}; the next attempt is not before ${new Date(until).toISOString()}`,
    {
      retryAfter: Math.max(1, Math.ceil((until - now) / 1000)),
      details: {
        realm,
        key,
        retryAt: new Date(until).toISOString(),
        failures: state.failures ?? 1,
        ...(last === undefined
          ? {}
          : {
              lastError: {
                code: last.code,
                httpStatus: last.httpStatus,
                providerCode: last.providerCode,
                providerMessage: last.providerMessage,
              },
            }),
      },
    },
  );
}

export function budgetError(
  policy: Policy,
  calls: number,
  now: number,
  realm: string,
  key: string,
): AppError {
  return new AppError(
    'QUOTA_EXHAUSTED',
    `The daily upstream-call budget of ${policy.dailyBudget} for ${realm}/${key} is used up; no more provider calls until 00:00 UTC`,
    { details: { budget: policy.dailyBudget, callsToday: calls }, retryAfter: secondsToNextDay(now) },
  );
}

/** A fresh state for new or replaced credentials: no token, no lease, no error; counters kept. */
export function freshState(
  realm: string,
  key: string,
  secretRev: string,
  current: Pick<
    TokenState,
    'generation' | 'callsDay' | 'callsToday' | 'flushCallsToday' | 'quotaDay' | 'quotaCalls'
  > | null,
): TokenState {
  return {
    realm,
    key,
    secretRev,
    generation: (current?.generation ?? 0) + 1,
    ...keptQuotaCounters(current),
    ...(current?.callsDay === undefined
      ? {}
      : {
          callsDay: current.callsDay,
          callsToday: current.callsToday ?? 0,
          ...(current.flushCallsToday === undefined ? {} : { flushCallsToday: current.flushCallsToday }),
        }),
  };
}

export interface LeaseRequest {
  id: string;
  owner: string;
  leaseMs: number;
}

/**
 * What a caller should do now. `lease` is the lease it would take: inside a compare-and-set a
 * 'lease' answer is written as it is; on a read-only poll it only says that taking it is worth a
 * compare-and-set.
 */
export function decide(
  current: TokenState | null,
  input: DecideInput,
  realm: string,
  key: string,
  lease: LeaseRequest,
): Decision {
  const { now, mode, policy, waited } = input;
  if (current !== null && current.secretRev !== input.secretRev) return { kind: 'restart' };
  const state: TokenState = current ?? { realm, key, secretRev: input.secretRev, generation: 0 };
  const hasToken = usable(state, now);
  const serve = (reason: ServeReason): Decision => ({
    kind: 'serve',
    state: state as TokenState & { token: string },
    now,
    reason,
  });

  if (waited !== undefined && !(leaseActive(state, now) && state.lease.id === waited.id)) {
    // The lease we waited for is over: its result is ours, whatever we came for (no re-deciding).
    if (hasToken && state.generation > waited.baseGeneration) return serve('waited');
    if (state.lastError?.leaseId === waited.id && !leaseActive(state, now)) {
      if (hasToken && mode !== 'invalid') return serve('stale');
      return { kind: 'fail', error: errorFromStored(state.lastError) };
    }
  }

  if (hasToken) {
    const fresh = isFresh(state, now, policy);
    switch (mode) {
      case 'get':
        return serve('current');
      case 'flush':
        if (fresh) return serve('fresh');
        break;
      case 'invalid':
        if (state.token !== input.invalidToken) return serve('newer');
        if (fresh) return serve('fresh');
        break;
      case 'refresh':
        if (!isDue(state, now)) return { kind: 'skip', reason: 'not due' };
        break;
    }
  }

  if (leaseActive(state, now)) {
    if (mode === 'refresh') return { kind: 'skip', reason: 'refresh in progress' };
    return { kind: 'wait', lease: state.lease };
  }
  if (isBlocked(state, now)) {
    if (hasToken && mode !== 'invalid') return serve('stale');
    if (mode === 'refresh') return { kind: 'skip', reason: 'permanent error remembered' };
    return {
      kind: 'fail',
      error: errorFromStored(state.lastError, {
        negativeCache: true,
        retryAt: new Date(state.blockedUntil).toISOString(),
      }),
    };
  }
  if (isBackingOff(state, now)) {
    if (hasToken && mode !== 'invalid') return serve('stale');
    if (mode === 'refresh') return { kind: 'skip', reason: 'backing off after a failure' };
    return { kind: 'fail', error: backingOff(state, now, realm, key) };
  }
  const flush = hasToken && (mode === 'flush' || mode === 'invalid');
  const budget = budgetCheck(state, now, policy.dailyBudget, flush);
  if (budget === 'budget_used') {
    if (hasToken && mode !== 'invalid') return serve('stale');
    if (mode === 'refresh') return { kind: 'skip', reason: 'daily budget used' };
    return { kind: 'fail', error: budgetError(policy, callsToday(state, now), now, realm, key) };
  }
  // Past their half of the budget, flushes and reports get the current (valid) token.
  if (budget === 'flush_share_used') return serve('flush_share_used');
  const taken: TokenLease = {
    id: lease.id,
    owner: lease.owner,
    until: now + lease.leaseMs,
    baseGeneration: state.generation,
    ...(flush ? { flush: true } : {}),
  };
  return { kind: 'lease', lease: taken, next: { ...state, lease: taken }, now, hadToken: hasToken };
}
