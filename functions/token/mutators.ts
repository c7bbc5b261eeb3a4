/**
 * Every write of a token document's state by the engine, as pure functions of the current state and
 * the store's time (each runs inside one compare-and-set on the token document): take a lease with
 * its first attempt, record an attempt before it is sent, store the token it brought, record the
 * round's failure and the backoff that follows it, count a dependent secret's retry. Every counted
 * call goes through countAttempt (budget.ts).
 */
import type { Mutation, TokenError, TokenLease, TokenState } from './types';
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, backoffMs } from './backoff';
import { budgetCheck, countAttempt, type BudgetCheck } from './budget';
import { previousTokenAfter } from './previous-token';
import { refreshAtFor, sameTokenDue, type ScheduleOptions } from './schedule';
import type { Decision, Policy } from './decide';
import { leaseActive, liveUntil, MIN_SERVE_MS, usable } from './phase';
import { rotatingAfterFetch } from './rotation';
import type { Rotated } from '../providers/rotated';

export type AttemptRecord =
  { kind: 'recorded'; startedAt: number } | { kind: 'lost' } | { kind: Exclude<BudgetCheck, 'ok'> };

function holds(current: TokenState | null, lease: TokenLease): current is TokenState {
  return current !== null && current.lease?.id === lease.id;
}

/**
 * Before each provider attempt: still our lease (and not lapsed by the store's clock), budget left
 * (the flush share too for a flush's lease); then count it and note its start.
 */
export function recordAttempt(
  current: TokenState | null,
  now: number,
  lease: TokenLease,
  policy: Policy,
): Mutation<AttemptRecord> {
  if (!holds(current, lease) || lease.until <= now) return { result: { kind: 'lost' } };
  const flush = lease.flush === true;
  const check = budgetCheck(current, now, policy.dailyBudget, flush);
  if (check !== 'ok') return { result: { kind: check } };
  return {
    next: {
      ...current,
      ...countAttempt(current, now, flush),
      lastAttempt: { startedAt: now, leaseId: lease.id },
      attemptSince: current.attemptSince ?? now,
    },
    result: { kind: 'recorded', startedAt: now },
    // The request leaves after the record is committed: the token's life counts from then.
    stamp: (committedAt) => ({ kind: 'recorded', startedAt: committedAt }),
  };
}

export interface Fetched {
  token: string;
  lifetimeMs: number;
  /** Store time the attempt's record was committed (the request left no earlier). */
  startedAt: number;
  /** Rotating values the attempt presented, and those the answer brought (token/rotation.ts). */
  presented?: Rotated;
  rotated?: Rotated;
}

export interface WriteOptions extends ScheduleOptions {
  secretRev: string;
  /** Set for providers that kill the previous token this long after a new fetch. */
  overlapMs?: number;
  /** A same-token answer whose expiry moved by more than this was renewed (DingTalk): a new lifetime. */
  renewalToleranceMs: number;
  /** The random draw for the due time's jitter (a mutator must not draw itself). */
  random: number;
  /** One attempt's time (the realm's timeout): a late try must finish while the token is served. */
  attemptMs: number;
}

export type WriteResult =
  { written: true; state: TokenState & { token: string }; sameToken: boolean } | { written: false };

/** README G1: accepted only from the lease holder, on the generation and credentials it started from. */
export function writeToken(
  current: TokenState | null,
  now: number,
  lease: TokenLease,
  fetched: Fetched,
  o: WriteOptions,
): Mutation<WriteResult> {
  if (
    !holds(current, lease) ||
    current.generation !== lease.baseGeneration ||
    current.secretRev !== o.secretRev
  ) {
    return { result: { written: false } };
  }
  const {
    lease: _lease,
    lastError: _error,
    backoffUntil: _backoff,
    failures: _failures,
    attemptSince: _since,
    reissueAt: _reissue,
    sameTokenAnswers: _answers,
    ...kept
  } = current;
  const expiresAt = fetched.startedAt + fetched.lifetimeMs;
  const same = current.token === fetched.token && current.expiresAt !== undefined;
  const renewed = !same || expiresAt > (current.expiresAt ?? 0) + o.renewalToleranceMs;
  const sameBefore = renewed ? 0 : (current.sameTokenAnswers ?? 0);
  const schedule = renewed
    ? { refreshAt: refreshAtFor(fetched.startedAt, fetched.lifetimeMs, o.random, o) }
    : sameTokenDue(now, Math.max(expiresAt, current.expiresAt ?? 0), fetched.lifetimeMs, {
        ...o,
        ...(sameBefore === 0 && current.reissuesAtEnd !== true
          ? { lateTryLeadMs: o.attemptMs + MIN_SERVE_MS }
          : {}),
      });
  // A late attempt got the same token again: this provider hands a token back until its end.
  const learned = current.reissuesAtEnd === true || (sameBefore > 0 && schedule.reissueAt !== undefined);
  const next = {
    ...kept,
    ...(renewed ? {} : { sameTokenAnswers: sameBefore + 1 }),
    ...(learned ? { reissuesAtEnd: true } : {}),
    generation: lease.baseGeneration + 1,
    token: fetched.token,
    fetchedAt: fetched.startedAt,
    // Both estimates are no later than the real expiry; the later one is the better.
    expiresAt: same ? Math.max(expiresAt, current.expiresAt ?? 0) : expiresAt,
    ...schedule,
    ...(o.overlapMs === undefined ? {} : { overlapMs: o.overlapMs }),
    lastRefreshAt: now,
  };
  if (o.overlapMs === undefined) delete next.overlapMs;
  // A new rotating value is stored in this same write as the token it came with.
  const rotating = rotatingAfterFetch(current.rotating, fetched.presented ?? {}, fetched.rotated);
  if (rotating === undefined) delete next.rotating;
  else next.rotating = rotating;
  const previous = previousTokenAfter(current, fetched.token, now);
  if (previous === undefined) delete next.previousToken;
  else next.previousToken = previous;
  return { next, result: { written: true, state: next, sameToken: same && !renewed } };
}

export interface RoundFailure {
  error: TokenError;
  /** Transient failures back off; permanent ones are remembered for negativeMs. */
  negativeMs: number;
  /** The provider answered the round's last attempt (with an error): that attempt minted nothing. */
  answeredAttemptAt?: number;
  /** One attempt's time (the realm's timeout): a last try is kept before the stored token ends. */
  attemptMs: number;
  random: number;
}

/** The round failed: release the lease, keep the error for status and waiters, back off. */
export function recordFailure(
  current: TokenState | null,
  now: number,
  lease: TokenLease,
  f: RoundFailure,
): Mutation<TokenState | null> {
  if (!holds(current, lease)) return { result: current };
  const { lease: _released, ...rest } = current;
  const next: TokenState = { ...rest, lastError: f.error };
  if (f.answeredAttemptAt !== undefined && next.attemptSince === f.answeredAttemptAt)
    delete next.attemptSince;
  if (f.error.permanent) {
    if (f.negativeMs > 0) next.blockedUntil = now + f.negativeMs;
  } else {
    const failures = (current.failures ?? 0) + 1;
    next.failures = failures;
    next.backoffUntil = now + Math.min(BACKOFF_MAX_MS, backoffMs(failures, f.random));
    // Never back off past the last chance to replace a still-valid token: one more (background)
    // attempt is due while it can still be served, so a passing outage need not end in 503s.
    const lastChance = liveUntil(next) - MIN_SERVE_MS - f.attemptMs;
    if (next.token !== undefined && lastChance > now + BACKOFF_MIN_MS && lastChance < next.backoffUntil) {
      next.backoffUntil = lastChance;
    }
  }
  return { next, result: next };
}

/** The round ends without a provider call (budget): just release the lease. */
export function releaseLease(current: TokenState | null, lease: TokenLease): Mutation<TokenState | null> {
  if (!holds(current, lease)) return { result: current };
  const { lease: _released, ...rest } = current;
  return { next: rest, result: rest };
}

/**
 * The compare-and-set of a decision: a lease whose holder will call the provider at once (no
 * same-token hold) is written with the round's first attempt already recorded (recordAttempt: the
 * budget checked, the call counted, its start noted), one write fewer between the lease and the
 * call. Without budget for the attempt the lease alone is written, and the round stops at its first
 * attempt as it would have.
 */
export function takeLease(d: Decision, now: number, policy: Policy): Mutation<Decision> {
  if (d.kind !== 'lease') return { result: d };
  const holds = reissueHoldMs(d.hadToken, d.next.reissueAt, now) > 0;
  const first = holds ? undefined : recordAttempt(d.next, now, d.lease, policy);
  if (first?.next === undefined || first.next === null || first.result.kind !== 'recorded') {
    return { next: d.next, result: d };
  }
  const next = first.next;
  return {
    next,
    result: { ...d, next, attemptStartedAt: now },
    stamp: (committedAt) => ({ ...d, next, attemptStartedAt: committedAt }),
  };
}

/** How long a round taken at store time `now` holds before its first attempt (≤ 0: none). */
export function reissueHoldMs(hadToken: boolean, reissueAt: number | undefined, now: number): number {
  return hadToken || reissueAt === undefined ? 0 : reissueAt - now;
}

/**
 * A dependent secret's retry after its parent's token was renewed (engine/dependent.ts): the
 * engine counted the round's first call with the lease; this one is counted too, judged and
 * counted by the store's day. False (nothing written) when the budget is used up.
 */
export function countDependentRetry(
  current: TokenState | null,
  now: number,
  dailyBudget: number,
): Mutation<boolean> {
  if (current === null) return { result: false };
  if (budgetCheck(current, now, dailyBudget, false) !== 'ok') return { result: false };
  return { next: { ...current, ...countAttempt(current, now, false) }, result: true };
}

export interface ProbeClaim {
  /** The secret's credentials revision: a token of other credentials is not probed. */
  secretRev: string;
  /** The realm's probe.interval_ms: no probe sooner after the token's fetch or its last probe. */
  intervalMs: number;
  dailyBudget: number;
}

/**
 * Claims the probe of one secret's token (engine/probe.ts): only a servable token that no lease
 * holds, fetched or probed at least intervalMs ago, with budget left; the probe is counted like any
 * provider call (countAttempt: on the store's day, yesterday's counters left behind) and noted as
 * probedAt. Everything is judged by the store's time `now`. Answers the token to probe, or null.
 */
export function claimProbe(current: TokenState | null, now: number, c: ProbeClaim): Mutation<string | null> {
  if (!usable(current, now) || current.secretRev !== c.secretRev) return { result: null };
  if (leaseActive(current, now)) return { result: null };
  const last = Math.max(current.probedAt ?? 0, current.fetchedAt ?? 0);
  if (now - last < c.intervalMs) return { result: null };
  if (budgetCheck(current, now, c.dailyBudget, false) !== 'ok') return { result: null };
  return {
    next: { ...current, ...countAttempt(current, now, false), probedAt: now },
    result: current.token,
  };
}
