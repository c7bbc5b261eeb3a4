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
import type { Store } from '../store/store';
import type { TokenError, TokenLease } from '../store/types';
import { callsToday } from '../token/budget';
import {
  recordAttempt,
  recordFailure,
  reissueHoldMs,
  releaseLease,
  writeToken,
  type Fetched,
} from '../token/mutators';
import { DEFAULT_RETRY, RetriesExhausted, withRetries } from './retry';
import { servedFrom, type Observation, type ServedToken } from './served';
import { budgetError, type Mode, type Policy } from '../token/decide';
import { usable } from '../token/phase';
import type { Rotated } from '../providers/rotated';
import { keepReceived, NEEDS_REAUTHORIZATION, NEEDS_REAUTHORIZATION_BLOCK_MS } from '../token/rotation';

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

/** One provider call's result: the token, and the rotating values presented and received. */
export interface RoundCallResult {
  token: string;
  lifetimeMs: number;
  presented?: Rotated;
  rotated?: Rotated;
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
  call: (timeoutMs: number) => Promise<RoundCallResult>;
}

/** Why a round stopped before a provider call (also thrown by rotating-call.ts before a retry). */
export class RoundStopped extends Error {
  constructor(readonly why: 'lost' | 'budget_used' | 'flush_share_used') {
    super(`round stopped: ${why}`);
  }
}

/** The lease's end on this instance's clock, less the time kept for the write. */
function localDeadline(round: Round): number {
  return round.leaseRead.sentAt + (round.lease.until - round.leaseRead.storeNow) - LEASE_SAFETY_MS;
}

/** Only the lease holder gets here: the whole round, ending in a served token or an error. */
export async function runRound(deps: RoundDeps, round: Round): Promise<ServedToken> {
  const deadline = localDeadline(round);
  await holdForReissue(deps, round, deadline);
  let lastAttempt: { startedAt: number; failure?: unknown } | undefined;
  let recorded = round.attemptStartedAt;
  let fetched: Fetched;
  try {
    const outcome = await withRetries(
      async (timeoutMs) => {
        const startedAt = recorded ?? (await announceAttempt(deps, round));
        recorded = undefined;
        lastAttempt = { startedAt };
        try {
          const value = await round.call(timeoutMs);
          return { ...value, startedAt };
        } catch (err) {
          lastAttempt.failure = err;
          throw err;
        }
      },
      {
        deadline,
        perAttemptMs: round.config.timeout_ms,
        clock: deps.clock,
        random: deps.random,
        policy: { ...DEFAULT_RETRY, maxAttempts: round.hadToken ? 1 : DEFAULT_RETRY.maxAttempts },
      },
    );
    fetched = outcome.value;
  } catch (err) {
    const exhausted = err instanceof RetriesExhausted ? err : new RetriesExhausted(err, 1);
    return endFailedRound(deps, round, exhausted, lastAttempt);
  }
  return storeToken(deps, round, fetched);
}

/**
 * A same-token provider hands the stored token back until its life ends: an attempt before then is
 * wasted. With no valid token left, wait for that moment (bounded by the lease, keeping one attempt).
 */
async function holdForReissue(deps: RoundDeps, round: Round, deadline: number): Promise<void> {
  const hold = reissueHoldMs(round.hadToken, round.reissueAt, round.leaseRead.storeNow);
  if (hold <= 0) return;
  const room = deadline - deps.clock.now() - round.config.timeout_ms;
  if (room > 0) await deps.clock.sleep(Math.min(hold, room));
}

/** Record the attempt (compare-and-set on the lease, budget checked): its store-time start. */
async function announceAttempt(deps: RoundDeps, round: Round): Promise<number> {
  const record = await deps.store.mutateTokenState(round.realm, round.key, (current, now) =>
    recordAttempt(current, now, round.lease, round.policy),
  );
  if (record.kind !== 'recorded') throw new RoundStopped(record.kind);
  return record.startedAt;
}

async function storeToken(deps: RoundDeps, round: Round, fetched: Fetched): Promise<ServedToken> {
  const sentAt = deps.clock.now();
  const random = deps.random();
  let storeNow = 0;
  const overlapMs = round.config.invalidates_previous
    ? round.config.overlap_ms > 0
      ? round.config.overlap_ms
      : DEFAULT_OVERLAP_MS
    : undefined;
  const result = await deps.store.mutateTokenState(round.realm, round.key, (current, now) => {
    storeNow = now;
    return writeToken(current, now, round.lease, fetched, {
      secretRev: round.secretRev,
      ...(overlapMs === undefined ? {} : { overlapMs }),
      ...(round.config.reissue_window_ms === undefined
        ? {}
        : { reissueWindowMs: round.config.reissue_window_ms }),
      renewalToleranceMs: Math.max(5_000, round.config.timeout_ms),
      attemptMs: round.config.timeout_ms,
      random,
    });
  });
  if (result.written) {
    log('INFO', `refreshed ${round.realm}/${round.key}`, {
      event: 'token_refreshed',
      realm: round.realm,
      key: round.key,
      generation: result.state.generation,
      sameToken: result.sameToken,
      lifetimeMs: fetched.lifetimeMs,
      instance: deps.instanceId,
    });
    return servedFrom(result.state, { sentAt, storeNow }, 'upstream');
  }
  await keepRotated(deps, round, fetched);
  log('WARNING', `discarded a token for ${round.realm}/${round.key}: a newer one was written meanwhile`, {
    event: 'token_write_rejected',
    realm: round.realm,
    key: round.key,
    baseGeneration: round.lease.baseGeneration,
    instance: deps.instanceId,
  });
  return currentOrBusy(deps, round);
}

/**
 * The token write was refused, but the answer rotated a value: the provider may already have
 * invalidated the one presented, so the new one is kept (token/rotation.ts keepReceived).
 */
async function keepRotated(deps: RoundDeps, round: Round, fetched: Fetched): Promise<void> {
  const received = fetched.rotated;
  if (received === undefined || Object.keys(received).length === 0) return;
  const kept = await deps.store.mutateTokenState(round.realm, round.key, (current) =>
    keepReceived(current, round.secretRev, fetched.presented ?? {}, received),
  );
  log('WARNING', `kept the rotated value of a refused token write for ${round.realm}/${round.key}`, {
    event: 'rotating_value_kept',
    realm: round.realm,
    key: round.key,
    kept,
    instance: deps.instanceId,
  });
}

/** After losing the lease or the write: whatever valid token is there now, else "try again". */
async function currentOrBusy(deps: RoundDeps, round: Round): Promise<ServedToken> {
  const sentAt = deps.clock.now();
  const read = await deps.store.readTokenState(round.realm, round.key);
  if (round.mode !== 'invalid' && usable(read.state, read.now)) {
    return servedFrom(read.state, { sentAt, storeNow: read.now }, 'database', 'waited');
  }
  throw new AppError(
    'REFRESH_IN_PROGRESS',
    `The token for ${round.realm}/${round.key} is being refreshed; try again shortly`,
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
  deps: RoundDeps,
  round: Round,
  exhausted: RetriesExhausted,
  lastAttempt: { startedAt: number; failure?: unknown } | undefined,
): Promise<ServedToken> {
  const stop = exhausted.last instanceof RoundStopped ? exhausted.last.why : undefined;
  if (stop === 'lost') return currentOrBusy(deps, round);
  // The provider error to record: the last attempt's, unless the round stopped before any call.
  const providerError = stop === undefined ? exhausted.last : lastAttempt?.failure;
  const sentAt = deps.clock.now();
  const random = deps.random();
  let storeNow = 0;
  let stored: TokenError | undefined;
  const current = await deps.store.mutateTokenState(round.realm, round.key, (cur, now) => {
    storeNow = now;
    if (providerError === undefined) return releaseLease(cur, round.lease);
    stored = storedError(providerError, now, round.lease.id);
    return recordFailure(cur, now, round.lease, {
      error: stored,
      // A secret that needs authorizing again is blocked until its value is replaced.
      negativeMs:
        stored.code === NEEDS_REAUTHORIZATION
          ? NEEDS_REAUTHORIZATION_BLOCK_MS
          : round.config.negative_cache_ms,
      attemptMs: round.config.timeout_ms,
      random,
      ...(lastAttempt !== undefined && answered(lastAttempt.failure)
        ? { answeredAttemptAt: lastAttempt.startedAt }
        : {}),
    });
  });
  if (stored !== undefined) {
    log(
      stored.permanent ? 'ERROR' : 'WARNING',
      `refresh failed for ${round.realm}/${round.key}: ${stored.code}`,
      {
        event: 'token_refresh_failed',
        realm: round.realm,
        key: round.key,
        code: stored.code,
        httpStatus: stored.httpStatus,
        providerCode: stored.providerCode,
        permanent: stored.permanent,
        attempts: exhausted.attempts,
        backoffUntil: current?.backoffUntil,
        instance: deps.instanceId,
      },
    );
  }
  const obs = { sentAt, storeNow };
  const live = usable(current, storeNow);
  if (stop === 'flush_share_used' && live) return servedFrom(current, obs, 'database', 'flush_share_used');
  // Stale-if-error: a still-valid token is better than an error (not when the app reported it invalid).
  if (round.mode !== 'invalid' && live) return servedFrom(current, obs, 'database', 'stale');
  if (stop === 'budget_used' || stop === 'flush_share_used') {
    throw budgetError(round.policy, callsToday(current, storeNow), storeNow, round.realm, round.key);
  }
  throw providerError instanceof AppError
    ? providerError
    : new AppError('UPSTREAM_ERROR', 'The provider call failed');
}
