/**
 * What the lease holder does, step by step: wait until a same-token provider can reissue, make the
 * round's attempts (each recorded in the store before it is sent, each checked against the budget),
 * then store the token, or record the failure and back off. A round is a single attempt while a
 * valid token exists; retries are for requests that have nothing to fall back on.
 */
import type { Clock, Random } from '../clock';
import { AppError, PUSHED_VALUE_CODES } from '../errors';
import { log } from '../log';
import { ProviderFailure } from '../providers/failure';
import type { RealmConfig } from '../providers/realm-config';
import type { Mutation, Store } from '../store/store';
import type { TokenError, TokenLease } from '../store/types';
import { callsToday } from './budget';
import { recordAttempt, recordFailure, releaseLease, writeToken, type Fetched } from './round';
import { DEFAULT_RETRY, RetriesExhausted, withRetries } from './retry';
import { servedFrom, type Observation, type ServedToken } from './served';
import { budgetError, usable, type Decision, type Mode, type Policy } from './state';

/** WeChat keeps the previous token alive about 5 minutes after a new fetch. */
const DEFAULT_OVERLAP_MS = 300_000;
/** Time kept back from the lease for writing the result. */
const LEASE_SAFETY_MS = 1_000;

export interface RoundDeps {
  store: Store;
  clock: Clock;
  random: Random;
  instanceId: string;
}

export interface Round {
  realm: string;
  key: string;
  secretRev: string;
  config: RealmConfig;
  policy: Policy;
  lease: TokenLease;
  /** The compare-and-set that took the lease. */
  leaseRead: Observation;
  /** A valid token existed when the lease was taken (then the round is one attempt). */
  hadToken: boolean;
  /** Same-token providers: store time before which an attempt would get the same token back. */
  reissueAt: number | undefined;
  /** The first attempt's record, when the lease's compare-and-set made it (takeLease). */
  attemptStartedAt?: number;
  mode: Mode;
  /** One provider call, with the fetcher the engine chose. */
  call: (timeoutMs: number) => Promise<{ token: string; lifetimeMs: number }>;
}

/** Why a round stopped before a provider call. */
class RoundStopped extends Error {
  constructor(readonly why: 'lost' | 'budget_used' | 'flush_share_used') {
    super(`round stopped: ${why}`);
  }
}

/** The lease's end on this instance's clock, less the time kept for the write. */
function localDeadline(r: Round): number {
  return r.leaseRead.sentAt + (r.lease.until - r.leaseRead.storeNow) - LEASE_SAFETY_MS;
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

/** Only the lease holder gets here: the whole round, ending in a served token or an error. */
export async function runRound(d: RoundDeps, r: Round): Promise<ServedToken> {
  const deadline = localDeadline(r);
  await holdForReissue(d, r, deadline);
  let lastAttempt: { startedAt: number; failure?: unknown } | undefined;
  let recorded = r.attemptStartedAt;
  let fetched: Fetched;
  try {
    const outcome = await withRetries(
      async (timeoutMs) => {
        const startedAt = recorded ?? (await announceAttempt(d, r));
        recorded = undefined;
        lastAttempt = { startedAt };
        try {
          const value = await r.call(timeoutMs);
          return { ...value, startedAt };
        } catch (err) {
          lastAttempt.failure = err;
          throw err;
        }
      },
      {
        deadline,
        perAttemptMs: r.config.timeout_ms,
        clock: d.clock,
        random: d.random,
        policy: { ...DEFAULT_RETRY, maxAttempts: r.hadToken ? 1 : DEFAULT_RETRY.maxAttempts },
      },
    );
    fetched = outcome.value;
  } catch (err) {
    const exhausted = err instanceof RetriesExhausted ? err : new RetriesExhausted(err, 1);
    return endFailedRound(d, r, exhausted, lastAttempt);
  }
  return storeToken(d, r, fetched);
}

/**
 * A same-token provider hands the stored token back until its life ends: an attempt before then is
 * wasted. With no valid token left, wait for that moment (bounded by the lease, keeping one attempt).
 */
async function holdForReissue(d: RoundDeps, r: Round, deadline: number): Promise<void> {
  const hold = reissueHoldMs(r.hadToken, r.reissueAt, r.leaseRead.storeNow);
  if (hold <= 0) return;
  const room = deadline - d.clock.now() - r.config.timeout_ms;
  if (room > 0) await d.clock.sleep(Math.min(hold, room));
}

/** How long a round taken at store time `now` holds before its first attempt (≤ 0: none). */
function reissueHoldMs(hadToken: boolean, reissueAt: number | undefined, now: number): number {
  return hadToken || reissueAt === undefined ? 0 : reissueAt - now;
}

/** Record the attempt (compare-and-set on the lease, budget checked): its store-time start. */
async function announceAttempt(d: RoundDeps, r: Round): Promise<number> {
  const record = await d.store.mutateTokenState(r.realm, r.key, (current, now) =>
    recordAttempt(current, now, r.lease, r.policy),
  );
  if (record.kind !== 'recorded') throw new RoundStopped(record.kind);
  return record.startedAt;
}

async function storeToken(d: RoundDeps, r: Round, fetched: Fetched): Promise<ServedToken> {
  const sentAt = d.clock.now();
  const random = d.random();
  let storeNow = 0;
  const overlapMs = r.config.invalidates_previous
    ? r.config.overlap_ms > 0
      ? r.config.overlap_ms
      : DEFAULT_OVERLAP_MS
    : undefined;
  const result = await d.store.mutateTokenState(r.realm, r.key, (current, now) => {
    storeNow = now;
    return writeToken(current, now, r.lease, fetched, {
      secretRev: r.secretRev,
      ...(overlapMs === undefined ? {} : { overlapMs }),
      ...(r.config.reissue_window_ms === undefined ? {} : { reissueWindowMs: r.config.reissue_window_ms }),
      renewalToleranceMs: Math.max(5_000, r.config.timeout_ms),
      attemptMs: r.config.timeout_ms,
      random,
    });
  });
  if (result.written) {
    log('INFO', `refreshed ${r.realm}/${r.key}`, {
      event: 'token_refreshed',
      realm: r.realm,
      key: r.key,
      generation: result.state.generation,
      sameToken: result.sameToken,
      lifetimeMs: fetched.lifetimeMs,
      instance: d.instanceId,
    });
    return servedFrom(result.state, { sentAt, storeNow }, 'upstream');
  }
  log('WARNING', `discarded a token for ${r.realm}/${r.key}: a newer one was written meanwhile`, {
    event: 'token_write_rejected',
    realm: r.realm,
    key: r.key,
    baseGeneration: r.lease.baseGeneration,
    instance: d.instanceId,
  });
  return currentOrBusy(d, r);
}

/** After losing the lease or the write: whatever valid token is there now, else "try again". */
async function currentOrBusy(d: RoundDeps, r: Round): Promise<ServedToken> {
  const sentAt = d.clock.now();
  const read = await d.store.readTokenState(r.realm, r.key);
  if (r.mode !== 'invalid' && usable(read.state, read.now)) {
    return servedFrom(read.state, { sentAt, storeNow: read.now }, 'database', 'waited');
  }
  throw new AppError(
    'REFRESH_IN_PROGRESS',
    `The token for ${r.realm}/${r.key} is being refreshed; try again shortly`,
    { retryAfter: 1 },
  );
}

function storedError(err: unknown, now: number, leaseId: string): TokenError {
  const failure = err instanceof ProviderFailure ? err : undefined;
  const appError = err instanceof AppError ? err : new AppError('UPSTREAM_ERROR', 'The provider call failed');
  const permanent =
    failure !== undefined
      ? failure.kind === 'permanent'
      : appError.code !== 'UPSTREAM_TIMEOUT' && !PUSHED_VALUE_CODES.has(appError.code);
  return {
    at: now,
    code: appError.code,
    message: appError.message,
    permanent,
    leaseId,
    ...(failure?.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
    ...(failure?.providerCode === undefined ? {} : { providerCode: failure.providerCode }),
    ...(failure?.providerMessage === undefined ? {} : { providerMessage: failure.providerMessage }),
    ...(failure?.hint === undefined ? {} : { hint: failure.hint }),
  };
}

/** The provider answered (an error, so it minted nothing), as opposed to a timeout or a lost answer. */
function answered(err: unknown): boolean {
  return (
    err instanceof ProviderFailure &&
    err.httpStatus !== undefined &&
    !['timeout', 'aborted', 'network'].includes(err.reason)
  );
}

async function endFailedRound(
  d: RoundDeps,
  r: Round,
  exhausted: RetriesExhausted,
  lastAttempt: { startedAt: number; failure?: unknown } | undefined,
): Promise<ServedToken> {
  const stop = exhausted.last instanceof RoundStopped ? exhausted.last.why : undefined;
  if (stop === 'lost') return currentOrBusy(d, r);
  // The provider error to record: the last attempt's, unless the round stopped before any call.
  const providerError = stop === undefined ? exhausted.last : lastAttempt?.failure;
  const sentAt = d.clock.now();
  const random = d.random();
  let storeNow = 0;
  let stored: TokenError | undefined;
  const current = await d.store.mutateTokenState(r.realm, r.key, (cur, now) => {
    storeNow = now;
    if (providerError === undefined) return releaseLease(cur, r.lease);
    stored = storedError(providerError, now, r.lease.id);
    return recordFailure(cur, now, r.lease, {
      error: stored,
      negativeMs: r.config.negative_cache_ms,
      attemptMs: r.config.timeout_ms,
      random,
      ...(lastAttempt !== undefined && answered(lastAttempt.failure)
        ? { answeredAttemptAt: lastAttempt.startedAt }
        : {}),
    });
  });
  if (stored !== undefined) {
    log(stored.permanent ? 'ERROR' : 'WARNING', `refresh failed for ${r.realm}/${r.key}: ${stored.code}`, {
      event: 'token_refresh_failed',
      realm: r.realm,
      key: r.key,
      code: stored.code,
      httpStatus: stored.httpStatus,
      providerCode: stored.providerCode,
      permanent: stored.permanent,
      attempts: exhausted.attempts,
      backoffUntil: current?.backoffUntil,
      instance: d.instanceId,
    });
  }
  const obs = { sentAt, storeNow };
  const live = usable(current, storeNow);
  if (stop === 'flush_share_used' && live) return servedFrom(current, obs, 'database', 'flush_share_used');
  // Stale-if-error: a still-valid token is better than an error (not when the app reported it invalid).
  if (r.mode !== 'invalid' && live) return servedFrom(current, obs, 'database', 'stale');
  if (stop === 'budget_used' || stop === 'flush_share_used') {
    throw budgetError(r.policy, callsToday(current, storeNow), storeNow, r.realm, r.key);
  }
  throw providerError instanceof AppError
    ? providerError
    : new AppError('UPSTREAM_ERROR', 'The provider call failed');
}
