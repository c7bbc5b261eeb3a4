/**
 * The token engine: serve the stored token while it is valid; otherwise (or when asked to flush)
 * take a refresh lease in a store transaction, call the provider as the only holder, and write the
 * result only if the generation it started from is still current. See README "Token engine".
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Random } from '../clock';
import { AppError } from '../errors';
import { log } from '../log';
import { ProviderFailure } from '../providers/failure';
import { parseRealmConfig, type RealmConfig } from '../providers/realm-config';
import { fetchToken } from '../providers/upstream';
import type { Store } from '../store/store';
import { watchChanges, type ChangeWatch } from '../store/token-watch';
import type { SecretRecord, TokenError, TokenLease, TokenState, TokenSummary } from '../store/types';
import { withRetries, RetriesExhausted } from './retry';
import { refreshAtFor } from './schedule';
import { SingleFlight } from './single-flight';
import {
  callsToday,
  decide,
  isDue,
  serveDeadline,
  summaryUsable,
  usable,
  type Decision,
  type Mode,
  type Policy,
} from './state';

export type TokenSource = 'memory' | 'database' | 'upstream';

/** A token as served: the deadline is already capped (expiry, and overlap for invalidating providers). */
export interface ServedToken {
  token: string;
  generation: number;
  /** The latest moment an app may use it. */
  deadline: number;
  /** When the store's copy falls due for refresh (the edge cache re-reads then). */
  refreshAt: number;
  /** The token was observed as current at this moment. */
  observedAt: number;
  overlapMs: number | undefined;
  source: TokenSource;
  /** Served from the stored token at the first read: no lease, no wait (the request log counts it as a hit). */
  hit?: boolean;
}

export interface TokenRequest {
  realm: string;
  key: string;
  flush?: boolean;
  invalidToken?: string;
}

export type Fetcher = (
  config: RealmConfig,
  values: Record<string, string>,
  options: { allowPrivate: boolean; timeoutMs: number },
) => Promise<{ token: string; lifetimeMs: number }>;

export interface EngineOptions {
  store: Store;
  clock: Clock;
  random: Random;
  instanceId: string;
  leaseMs: number;
  waitMs: number;
  allowPrivateUpstreams: boolean;
  fetcher?: Fetcher;
  /** Delay between polls while another instance holds the lease. */
  pollMs?: number;
}

export interface RefreshSummary {
  refreshed: number;
  failed: number;
  skipped: number;
}

/** WeChat keeps the previous token alive about 5 minutes after a new fetch. */
const DEFAULT_OVERLAP_MS = 300_000;
/** Time kept back from the lease for writing the result. */
const LEASE_SAFETY_MS = 1_000;

function policyOf(config: RealmConfig): Policy {
  return {
    dailyBudget: config.daily_budget,
    flushMinIntervalMs: config.flush_min_interval_ms,
  };
}

interface Context {
  secret: SecretRecord;
  config: RealmConfig;
  policy: Policy;
}

/** What a waiter waits with: the request, the holder's lease, its deadline and first poll delay. */
type WaitArgs = [
  req: TokenRequest,
  mode: Mode,
  ctx: Context,
  lease: TokenLease,
  waitDeadline: number,
  pollMs: number,
];

export class TokenEngine {
  private readonly flights = new SingleFlight<ServedToken>();
  private readonly background = new SingleFlight<'refreshed' | 'failed' | 'skipped'>();
  private readonly fetcher: Fetcher;
  private readonly pollMs: number;

  constructor(private readonly o: EngineOptions) {
    this.fetcher = o.fetcher ?? fetchToken;
    this.pollMs = o.pollMs ?? 100;
  }

  /** Guarantee 2: concurrent identical requests in this instance share one operation. */
  getToken(req: TokenRequest): Promise<ServedToken> {
    const mode: Mode = req.invalidToken !== undefined ? 'invalid' : req.flush === true ? 'flush' : 'get';
    const flightKey = `${mode}\u0000${req.realm}\u0000${req.key}\u0000${req.invalidToken ?? ''}`;
    return this.flights.run(flightKey, () => this.resolve(req, mode));
  }

  private async resolve(req: TokenRequest, mode: Mode): Promise<ServedToken> {
    if (mode === 'get') {
      // The hit path: one read, no transaction.
      const observedAt = this.o.clock.now();
      const state = await this.o.store.getTokenState(req.realm, req.key);
      if (usable(state, observedAt)) {
        this.maybeRefreshInBackground(state, observedAt);
        const served = this.served(state, observedAt, 'database');
        served.hit = true;
        return served;
      }
    }
    return this.acquire(req, mode);
  }

  private served(
    state: TokenState & { token: string },
    observedAt: number,
    source: TokenSource,
  ): ServedToken {
    return {
      token: state.token,
      generation: state.generation,
      deadline: serveDeadline(state, observedAt),
      refreshAt: state.refreshAt ?? state.expiresAt ?? observedAt,
      observedAt,
      overlapMs: state.overlapMs,
      source,
    };
  }

  private async loadContext(realm: string, key: string): Promise<Context> {
    const secret = await this.o.store.getSecret(realm, key);
    if (secret === null) {
      throw new AppError('NOT_FOUND', `No secret ${realm}/${key}`, { details: { realm, key } });
    }
    const realmRecord = await this.o.store.getRealm(realm);
    if (realmRecord === null) throw new AppError('NOT_FOUND', `No realm ${realm}`, { details: { realm } });
    const config = parseRealmConfig(realmRecord.config);
    return { secret, config, policy: policyOf(config) };
  }

  /** The slow path: wait for, or take, the refresh lease. */
  private async acquire(req: TokenRequest, mode: Mode): Promise<ServedToken> {
    const { realm, key } = req;
    let ctx = await this.loadContext(realm, key);
    const waitDeadline = this.o.clock.now() + this.o.waitMs;
    let waitedLeaseId: string | undefined;
    let restarts = 0;
    let pollDelay = this.pollMs;
    for (;;) {
      const leaseId = randomUUID();
      const input = () => ({
        now: this.o.clock.now(),
        mode,
        ...(req.invalidToken === undefined ? {} : { invalidToken: req.invalidToken }),
        secretRev: ctx.secret.rev,
        policy: ctx.policy,
        ...(waitedLeaseId === undefined ? {} : { waitedLeaseId }),
      });
      const leaseRequest = { id: leaseId, owner: this.o.instanceId, leaseMs: this.o.leaseMs };
      const observedAt = this.o.clock.now();
      const decision = await this.o.store.mutateTokenState<Decision>(realm, key, (current) => {
        const d = decide(current, input(), realm, key, leaseRequest);
        return d.kind === 'lease' ? { next: d.next, result: d } : { result: d };
      });
      switch (decision.kind) {
        case 'serve':
          return this.served(decision.state as TokenState & { token: string }, observedAt, 'database');
        case 'fail':
          throw decision.error;
        case 'skip':
          throw new AppError('INTERNAL', `Unexpected skip: ${decision.reason}`);
        case 'restart':
          // Credentials were replaced while we looked: start over with the new secret.
          if (++restarts > 3)
            throw new AppError('UNAVAILABLE', 'The secret keeps changing; try again', { retryAfter: 1 });
          ctx = await this.loadContext(realm, key);
          continue;
        case 'lease':
          return this.refreshAsHolder(ctx, decision.lease, mode);
        case 'wait': {
          waitedLeaseId = decision.lease.id;
          const waited = await this.waitForHolder(req, mode, ctx, decision.lease, waitDeadline, pollDelay);
          if (waited !== null) return waited;
          pollDelay = Math.min(pollDelay * 2, 500);
          continue;
        }
      }
    }
  }

  /**
   * Wait (reads, not transactions) until the holder writes, fails, or its lease lapses, woken by the
   * store's change notification as soon as the token document is written, polling as a fallback.
   * Returns the served token, or null when it is time to try the transaction again.
   */
  private async waitForHolder(...args: WaitArgs): Promise<ServedToken | null> {
    const watch = watchChanges(this.o.store, args[0].realm, args[0].key);
    try {
      return await this.pollForHolder(watch, ...args);
    } finally {
      watch.close();
    }
  }

  private async pollForHolder(
    watch: ChangeWatch,
    ...[req, mode, ctx, lease, waitDeadline, pollMs]: WaitArgs
  ): Promise<ServedToken | null> {
    for (let delay = pollMs; ; delay = Math.min(delay * 2, 500)) {
      const now = this.o.clock.now();
      if (now >= waitDeadline) {
        throw new AppError(
          'REFRESH_IN_PROGRESS',
          `Another instance is refreshing ${req.realm}/${req.key}; try again shortly`,
          {
            retryAfter: Math.max(1, Math.ceil((lease.until - now) / 1000)),
            details: { realm: req.realm, key: req.key },
          },
        );
      }
      await watch.sleep(
        this.o.clock,
        Math.min(delay + Math.floor(this.o.random() * 50), Math.max(1, waitDeadline - now)),
      );
      const observedAt = this.o.clock.now();
      const state = await this.o.store.getTokenState(req.realm, req.key);
      const d = decide(
        state,
        {
          now: observedAt,
          mode,
          ...(req.invalidToken === undefined ? {} : { invalidToken: req.invalidToken }),
          secretRev: ctx.secret.rev,
          policy: ctx.policy,
          waitedLeaseId: lease.id,
        },
        req.realm,
        req.key,
        { id: 'poll', owner: this.o.instanceId, leaseMs: this.o.leaseMs },
      );
      if (d.kind === 'serve')
        return this.served(d.state as TokenState & { token: string }, observedAt, 'database');
      if (d.kind === 'fail') throw d.error;
      if (d.kind === 'wait' && d.lease.id === lease.id) continue;
      // Lease lapsed or changed hands, credentials changed: go back to the transaction.
      return null;
    }
  }

  /** Only the lease holder gets here: call the provider, then write if still current. */
  private async refreshAsHolder(ctx: Context, lease: TokenLease, mode: Mode): Promise<ServedToken> {
    const { realm, key } = ctx.secret;
    const deadline = lease.until - LEASE_SAFETY_MS;
    const timeoutMs = ctx.config.timeout_ms;
    let outcome;
    try {
      outcome = await withRetries(
        (attemptTimeout) =>
          this.fetcher(ctx.config, ctx.secret.values, {
            allowPrivate: this.o.allowPrivateUpstreams,
            timeoutMs: attemptTimeout,
          }),
        { deadline, perAttemptMs: timeoutMs, clock: this.o.clock, random: this.o.random },
      );
    } catch (err) {
      const exhausted = err instanceof RetriesExhausted ? err : new RetriesExhausted(err, 1);
      return this.recordFailure(ctx, lease, exhausted, mode);
    }
    const { value, attempts, startedAt } = outcome;
    const now = this.o.clock.now();
    const next: TokenState = {
      realm,
      key,
      secretRev: ctx.secret.rev,
      generation: lease.baseGeneration + 1,
      token: value.token,
      fetchedAt: startedAt,
      expiresAt: startedAt + value.lifetimeMs,
      refreshAt: refreshAtFor(startedAt, value.lifetimeMs, this.o.random(), {
        ...(ctx.config.reissue_window_ms === undefined
          ? {}
          : { reissueWindowMs: ctx.config.reissue_window_ms }),
      }),
      ...(ctx.config.invalidates_previous
        ? { overlapMs: ctx.config.overlap_ms > 0 ? ctx.config.overlap_ms : DEFAULT_OVERLAP_MS }
        : {}),
      lastRefreshAt: now,
    };
    const written = await this.o.store.mutateTokenState(realm, key, (current) => {
      // Guarantee 1: accept only if we still hold the lease and nothing newer was written.
      if (
        current === null ||
        current.lease?.id !== lease.id ||
        current.generation !== lease.baseGeneration ||
        current.secretRev !== ctx.secret.rev
      ) {
        return { result: false };
      }
      const extra = attempts - 1;
      return {
        next: {
          ...next,
          callsDay: current.callsDay,
          callsToday: (current.callsToday ?? 0) + extra,
        },
        result: true,
      };
    });
    if (written) {
      log('INFO', `refreshed ${realm}/${key}`, {
        event: 'token_refreshed',
        realm,
        key,
        generation: next.generation,
        attempts,
        lifetimeMs: value.lifetimeMs,
        instance: this.o.instanceId,
      });
      return this.served(next as TokenState & { token: string }, startedAt, 'upstream');
    }
    log('WARNING', `discarded a token for ${realm}/${key}: a newer one was written meanwhile`, {
      event: 'token_write_rejected',
      realm,
      key,
      baseGeneration: lease.baseGeneration,
      instance: this.o.instanceId,
    });
    const observedAt = this.o.clock.now();
    const state = await this.o.store.getTokenState(realm, key);
    if (usable(state, observedAt)) return this.served(state, observedAt, 'database');
    throw new AppError(
      'REFRESH_IN_PROGRESS',
      `The token for ${realm}/${key} is being refreshed; try again shortly`,
      {
        retryAfter: 1,
      },
    );
  }

  private async recordFailure(
    ctx: Context,
    lease: TokenLease,
    exhausted: RetriesExhausted,
    mode: Mode,
  ): Promise<ServedToken> {
    const { realm, key } = ctx.secret;
    const err = exhausted.last;
    const now = this.o.clock.now();
    const failure = err instanceof ProviderFailure ? err : undefined;
    const appError =
      err instanceof AppError ? err : new AppError('UPSTREAM_ERROR', 'The provider call failed');
    const permanent =
      failure !== undefined ? failure.kind === 'permanent' : appError.code !== 'UPSTREAM_TIMEOUT';
    const stored: TokenError = {
      at: now,
      code: appError.code,
      message: appError.message,
      permanent,
      leaseId: lease.id,
      ...(failure?.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
      ...(failure?.providerCode === undefined ? {} : { providerCode: failure.providerCode }),
      ...(failure?.providerMessage === undefined ? {} : { providerMessage: failure.providerMessage }),
    };
    const negativeMs = ctx.config.negative_cache_ms;
    const current = await this.o.store.mutateTokenState(realm, key, (cur) => {
      if (cur === null || cur.lease?.id !== lease.id) return { result: cur };
      const { lease: _released, ...rest } = cur;
      const next: TokenState = {
        ...rest,
        lastError: stored,
        callsToday: (cur.callsToday ?? 0) + Math.max(0, exhausted.attempts - 1),
        ...(permanent && negativeMs > 0 ? { blockedUntil: now + negativeMs } : {}),
      };
      return { next, result: next };
    });
    log(permanent ? 'ERROR' : 'WARNING', `refresh failed for ${realm}/${key}: ${appError.code}`, {
      event: 'token_refresh_failed',
      realm,
      key,
      code: appError.code,
      httpStatus: stored.httpStatus,
      providerCode: stored.providerCode,
      permanent,
      attempts: exhausted.attempts,
      instance: this.o.instanceId,
    });
    // Stale-if-error: a still-valid token is better than an error (not when the app reported it invalid).
    if (mode !== 'invalid' && usable(current, now)) return this.served(current, now, 'database');
    throw appError;
  }

  private maybeRefreshInBackground(state: TokenState, now: number): void {
    if (!isDue(state, now)) return;
    if (state.lease !== undefined && state.lease.until > now) return;
    if (state.blockedUntil !== undefined && state.blockedUntil > now) return;
    // Traffic never waits for a due refresh while the token is valid: it runs beside the request.
    this.refreshOne(state.realm, state.key).catch(() => undefined);
  }

  /** Refresh one secret if it is due (no-op otherwise); shared by traffic and POST /api/refresh. */
  refreshOne(realm: string, key: string): Promise<'refreshed' | 'failed' | 'skipped'> {
    return this.background.run(`${realm}\u0000${key}`, async () => {
      let ctx: Context;
      try {
        ctx = await this.loadContext(realm, key);
      } catch {
        return 'skipped';
      }
      const leaseRequest = { id: randomUUID(), owner: this.o.instanceId, leaseMs: this.o.leaseMs };
      const decision = await this.o.store.mutateTokenState<Decision>(realm, key, (current) => {
        const d = decide(
          current,
          { now: this.o.clock.now(), mode: 'refresh', secretRev: ctx.secret.rev, policy: ctx.policy },
          realm,
          key,
          leaseRequest,
        );
        return d.kind === 'lease' ? { next: d.next, result: d } : { result: d };
      });
      if (decision.kind !== 'lease') return 'skipped';
      try {
        const served = await this.refreshAsHolder(ctx, decision.lease, 'refresh');
        return served.source === 'upstream' ? 'refreshed' : 'failed';
      } catch {
        return 'failed';
      }
    });
  }

  /**
   * POST /api/refresh: every token that is due (or never fetched, unless its last error was
   * permanent), with at most `concurrency` refreshes at once.
   */
  async refreshDue(concurrency = 8): Promise<RefreshSummary> {
    const now = this.o.clock.now();
    const states = await this.o.store.listTokenStates();
    const summary: RefreshSummary = { refreshed: 0, failed: 0, skipped: 0 };
    const due = states.filter((s) => {
      const wanted = summaryUsable(s, now) ? isDue(s, now) : !(s.lastError?.permanent ?? false);
      if (!wanted) summary.skipped++;
      return wanted;
    });
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const s = due[next++];
        if (s === undefined) break;
        const outcome = await this.refreshOne(s.realm, s.key);
        summary[outcome]++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, due.length)) }, worker));
    return summary;
  }

  /** GET /api/status: never the token itself. */
  async status(): Promise<StatusEntry[]> {
    const now = this.o.clock.now();
    const states = await this.o.store.listTokenStates();
    return states.map((s) => toStatus(s, now));
  }
}

export interface StatusEntry {
  realm: string;
  key: string;
  has_token: boolean;
  generation: number;
  expires_at: string | null;
  refresh_at: string | null;
  last_refresh_at: string | null;
  last_error: {
    at: string;
    code: string;
    message: string;
    http_status?: number;
    provider_code?: string;
    provider_message?: string;
    permanent: boolean;
  } | null;
  blocked_until: string | null;
  refreshing: boolean;
  calls_today: number;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export function toStatus(s: TokenSummary, now: number): StatusEntry {
  return {
    realm: s.realm,
    key: s.key,
    has_token: summaryUsable(s, now),
    generation: s.generation,
    expires_at: iso(s.expiresAt),
    refresh_at: iso(s.refreshAt),
    last_refresh_at: iso(s.lastRefreshAt),
    last_error:
      s.lastError === undefined
        ? null
        : {
            at: new Date(s.lastError.at).toISOString(),
            code: s.lastError.code,
            message: s.lastError.message,
            ...(s.lastError.httpStatus === undefined ? {} : { http_status: s.lastError.httpStatus }),
            ...(s.lastError.providerCode === undefined ? {} : { provider_code: s.lastError.providerCode }),
            ...(s.lastError.providerMessage === undefined
              ? {}
              : { provider_message: s.lastError.providerMessage }),
            permanent: s.lastError.permanent,
          },
    blocked_until: s.blockedUntil !== undefined && s.blockedUntil > now ? iso(s.blockedUntil) : null,
    refreshing: s.lease !== undefined && s.lease.until > now,
    calls_today: callsToday(s, now),
  };
}
