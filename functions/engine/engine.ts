/**
 * The token engine: serve the stored token while it is valid; otherwise (or when asked to flush)
 * take a refresh lease by compare-and-set on the token's document, call the provider as the only
 * holder (round.ts), and write the result only if the generation it started from is still current.
 * Every cross-instance judgement uses the store's time of the read it is made on. See README
 * "Token engine".
 */
import { randomUUID } from 'node:crypto';
import type { Clock, Random } from '../clock';
import { AppError } from '../errors';
import type { RealmConfig } from '../providers/realm-config';
import { fetchToken } from '../providers/upstream-on-first-call';
import type { Store, TokenRead } from '../store/store';
import type { ChangeWatch } from '../store/token-watch';
import type { RealmRecord, SecretRecord, TokenLease } from '../store/types';
import type * as MissPath from './miss-path';
import type { Round } from './round';
import type { ValuesCall } from './rotating-call';
import type { DueRunSummary } from './refresh-due';
import { invalidOutcome, servedFrom, type ServedToken } from './served';
import { SingleFlight } from './single-flight';
import type { Fetcher, TokenRequest } from './types';
import type { Decision, DecideInput, Mode, Policy, WaitedLease } from '../token/decide';
import { phaseOfState, usable } from '../token/phase';

let missPathModule: typeof MissPath | undefined;

/** engine/miss-path.ts, loaded by the first request that is not a hit (README "Cold start"). */
export function missPath(): typeof MissPath {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, by design
  return (missPathModule ??= require('./miss-path') as typeof MissPath);
}

let missPathWarm = false;

/**
 * Loads the miss path (miss-path.ts) and what it needs at its first use: the realm config parser
 * (zod, about 50 ms here, with one parse) and the upstream call (providers/upstream.ts), once per
 * instance. The HTTP functions call it when an instance is first idle (entries/http-function.ts).
 */
export function warmMissPath(): void {
  if (missPathWarm) return;
  missPathWarm = true;
  try {
    const m = missPath();
    m.warmConfigParser();
    m.loadUpstream();
  } catch {
    // Never fatal (this runs outside any request): the miss that needs these fails the same way,
    // and reports it.
  }
}

/**
 * warmMissPath in the next turn, unless done: a first miss calls it when its secret's reads are
 * sent, so that the loading overlaps their round trip instead of following it.
 */
function warmMissPathSoon(): void {
  if (!missPathWarm) setImmediate(warmMissPath);
}

export type { ServedToken, TokenSource, InvalidOutcome } from './served';
export type { Fetcher, RefreshSummary, TokenRequest } from './types';

export interface EngineOptions {
  store: Store;
  /** The instance's clock: local durations only (waits, timeouts); never a cross-instance judgement. */
  clock: Clock;
  random: Random;
  instanceId: string;
  leaseMs: number;
  /** How long a request without a valid token waits for another holder before 503. */
  waitMs: number;
  allowPrivateUpstreams: boolean;
  fetcher?: Fetcher;
  /** The first delay between polls while another instance holds the lease (it doubles to 500 ms). */
  firstPollDelayMs?: number;
}

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

/** What the slow path needs of a secret, from its realm's and its own records as read. */
function contextOf(
  realmRecord: RealmRecord | null,
  secret: SecretRecord | null,
  realm: string,
  key: string,
): Context {
  if (secret === null) {
    throw new AppError('NOT_FOUND', `No secret ${realm}/${key}`, { details: { realm, key } });
  }
  if (secret.revoked !== undefined) throw missPath().revokedError(secret.realm, secret.key, secret.revoked);
  if (realmRecord === null) throw new AppError('NOT_FOUND', `No realm ${realm}`, { details: { realm } });
  const config = missPath().tokenConfigOf(realmRecord, key);
  if (config === undefined)
    throw new AppError('CONFLICT', `${realm} is a fixed-token realm: nothing to fetch`);
  return { secret, config, policy: policyOf(config) };
}

type LeaseDecision = Extract<Decision, { kind: 'lease' }>;

/** A read the hit path made and found no usable token in, with the instance time it was sent. */
interface PriorRead {
  read: TokenRead;
  sentAt: number;
}

/** What a waiter waits with. */
interface Wait {
  req: TokenRequest;
  mode: Mode;
  ctx: Context;
  /** The holder's lease, waited for. */
  lease: TokenLease;
  /** Instance time after which the waiter gives up (503). */
  waitDeadline: number;
  /** The first poll delay. */
  pollMs: number;
}

/** How long a read started ahead (readAhead) waits to be used by its request. */
const READ_AHEAD_KEPT_MS = 2_000;

export class TokenEngine {
  private readonly flights = new SingleFlight<ServedToken>();
  /** Reads started ahead of their requests (readAhead), by realm and key, each used once. */
  private readonly readsAhead = new Map<string, { sentAt: number; read: Promise<TokenRead> }>();
  private readonly background = new SingleFlight<'refreshed' | 'failed' | 'skipped'>();
  private readonly fetcher: Fetcher;
  private readonly firstPollDelayMs: number;

  constructor(private readonly options: EngineOptions) {
    this.fetcher = options.fetcher ?? fetchToken;
    this.firstPollDelayMs = options.firstPollDelayMs ?? 100;
  }

  /**
   * Starts the read a plain request for realm/key begins with, before the request may be served
   * (http/app.ts, while its caller's client key is looked up): the next such request uses it
   * instead of reading again, if it comes within READ_AHEAD_KEPT_MS. A read, never a write.
   */
  readAhead(realm: string, key: string): void {
    const id = `${realm}\u0000${key}`;
    if (this.readsAhead.has(id)) return;
    const read = this.options.store.readTokenState(realm, key, { withLookups: true });
    read.catch(() => undefined); // its request sees the failure; unused, it is dropped
    const ahead = { sentAt: this.options.clock.now(), read };
    this.readsAhead.set(id, ahead);
    setTimeout(() => {
      if (this.readsAhead.get(id) === ahead) this.readsAhead.delete(id);
    }, READ_AHEAD_KEPT_MS).unref();
  }

  private takeReadAhead(
    realm: string,
    key: string,
  ): { sentAt: number; read: Promise<TokenRead> } | undefined {
    const id = `${realm}\u0000${key}`;
    const ahead = this.readsAhead.get(id);
    if (ahead !== undefined) this.readsAhead.delete(id);
    return ahead;
  }

  /** README G3: concurrent identical requests in this instance share one operation. */
  getToken(req: TokenRequest): Promise<ServedToken> {
    const mode: Mode = req.invalidToken !== undefined ? 'invalid' : req.flush === true ? 'flush' : 'get';
    const flightKey = `${mode}\u0000${req.realm}\u0000${req.key}\u0000${req.invalidToken ?? ''}`;
    return this.flights.run(flightKey, async () => {
      const served = await this.resolve(req, mode);
      return req.invalidToken === undefined
        ? served
        : { ...served, outcome: invalidOutcome(served, req.invalidToken) };
    });
  }

  private async resolve(req: TokenRequest, mode: Mode): Promise<ServedToken> {
    let missed: PriorRead | undefined;
    if (mode === 'get') {
      // The hit path: one read (perhaps started ahead: readAhead), no compare-and-set.
      const ahead = this.takeReadAhead(req.realm, req.key);
      const sentAt = ahead?.sentAt ?? this.options.clock.now();
      const read = await (ahead?.read ?? this.options.store.readTokenState(req.realm, req.key));
      const { state, now } = read;
      if (usable(state, now)) {
        this.maybeRefreshInBackground({ read, sentAt });
        const served = servedFrom(state, { sentAt, storeNow: now }, 'database', 'current');
        served.hit = true;
        return served;
      }
      missed = { read, sentAt };
    }
    const records = this.readRecords(req.realm, req.key);
    // A miss: what its compare-and-set and wait need is prepared while the secret is read.
    this.options.store.warmMiss?.();
    missPath();
    warmMissPathSoon();
    const [realmRecord, secret] = await records;
    if (secret?.revoked !== undefined) throw missPath().revokedError(req.realm, req.key, secret.revoked);
    // A fixed-token realm is never fetched; an unknown realm is said to be unknown.
    const fixed = missPath().fixedTokenAnswer(realmRecord, secret, req, mode, this.options.clock.now());
    if (fixed !== undefined) return fixed;
    return this.acquire(req, mode, contextOf(realmRecord, secret, req.realm, req.key), missed);
  }

  /** The realm and the secret, read side by side (one round trip on the miss path, not two). */
  private readRecords(realm: string, key: string): Promise<[RealmRecord | null, SecretRecord | null]> {
    return Promise.all([this.options.store.getRealm(realm), this.options.store.getSecret(realm, key)]);
  }

  private async loadContext(realm: string, key: string): Promise<Context> {
    const [realmRecord, secret] = await this.readRecords(realm, key);
    return contextOf(realmRecord, secret, realm, key);
  }

  private decideInput(
    req: TokenRequest,
    mode: Mode,
    ctx: Context,
    now: number,
    waited?: WaitedLease,
  ): DecideInput {
    return {
      now,
      mode,
      ...(req.invalidToken === undefined ? {} : { invalidToken: req.invalidToken }),
      secretRev: ctx.secret.rev,
      policy: ctx.policy,
      ...(waited === undefined ? {} : { waited }),
    };
  }

  /**
   * The slow path: wait for, or take, the refresh lease. The hit path's read (`missed`) is the first
   * compare-and-set's read: decided on as it is, written only if the document is still as read.
   */
  private async acquire(
    req: TokenRequest,
    mode: Mode,
    loaded: Context,
    missed?: PriorRead,
  ): Promise<ServedToken> {
    const { realm, key } = req;
    let ctx = loaded;
    const waitDeadline = this.options.clock.now() + this.options.waitMs;
    let waited: WaitedLease | undefined;
    let restarts = 0;
    let pollDelay = this.firstPollDelayMs;
    let prior = missed;
    for (;;) {
      // A decision on the earlier read is converted from that read's send time (the earlier one).
      const sentAt = prior?.sentAt ?? this.options.clock.now();
      const decision = await this.decideAndTake(
        ctx,
        (now) => this.decideInput(req, mode, ctx, now, waited),
        prior?.read,
      );
      prior = undefined;
      switch (decision.kind) {
        case 'serve':
          return servedFrom(decision.state, { sentAt, storeNow: decision.now }, 'database', decision.reason);
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
          return this.holdLease(ctx, decision, sentAt, mode);
        case 'wait': {
          waited = { id: decision.lease.id, baseGeneration: decision.lease.baseGeneration };
          const result = await this.waitForHolder({
            req,
            mode,
            ctx,
            lease: decision.lease,
            waitDeadline,
            pollMs: pollDelay,
          });
          if (result !== null) return result;
          pollDelay = Math.min(pollDelay * 2, 500);
          continue;
        }
      }
    }
  }

  /**
   * One compare-and-set on the secret's token document: decide (token/decide.ts) on the store's
   * time of the read, and take the lease with its first attempt when that is the decision
   * (takeLease). `from`: a read just made, decided on as it is and written only if still current.
   */
  private decideAndTake(
    ctx: Context,
    inputAt: (now: number) => DecideInput,
    from?: TokenRead,
  ): Promise<Decision> {
    const { realm, key } = ctx.secret;
    const leaseRequest = { id: randomUUID(), owner: this.options.instanceId, leaseMs: this.options.leaseMs };
    return this.options.store.mutateTokenState<Decision>(
      realm,
      key,
      (current, now) =>
        missPath().takeLease(
          missPath().decide(current, inputAt(now), realm, key, leaseRequest),
          now,
          ctx.policy,
        ),
      from,
    );
  }

  /**
   * Wait (reads, not compare-and-sets) until the lease we wait for ends, woken by the store's change
   * notification as soon as the token document is written, and deciding on the snapshot it carries
   * (polling with reads as a fallback): its token, its
   * error, or (lapsed, changed hands, credentials changed) null to decide again with a compare-and-set.
   */
  private async waitForHolder(wait: Wait): Promise<ServedToken | null> {
    const watch = missPath().watchChanges(
      this.options.store,
      wait.req.realm,
      wait.req.key,
      this.options.clock,
    );
    try {
      return await this.pollForHolder(watch, wait);
    } finally {
      watch.close();
    }
  }

  private async pollForHolder(
    watch: ChangeWatch,
    { req, mode, ctx, lease, waitDeadline, pollMs }: Wait,
  ): Promise<ServedToken | null> {
    const waited = { id: lease.id, baseGeneration: lease.baseGeneration };
    let leaseLeftMs = 1_000;
    for (let delay = pollMs; ; delay = Math.min(delay * 2, 500)) {
      const local = this.options.clock.now();
      if (local >= waitDeadline) {
        throw new AppError(
          'REFRESH_IN_PROGRESS',
          `Another instance is refreshing ${req.realm}/${req.key}; try again shortly`,
          {
            retryAfter: Math.max(1, Math.ceil(leaseLeftMs / 1000)),
            details: { realm: req.realm, key: req.key },
          },
        );
      }
      await watch.sleep(
        this.options.clock,
        Math.min(delay + Math.floor(this.options.random() * 50), Math.max(1, waitDeadline - local)),
      );
      // The snapshot that woke us is a read; after a poll delay (no snapshot), read.
      const snapshot = watch.take();
      const sentAt = snapshot?.sentAt ?? this.options.clock.now();
      const { state, now } = snapshot ?? (await this.options.store.readTokenState(req.realm, req.key));
      leaseLeftMs = lease.until - now;
      const decided = missPath().decide(
        state,
        this.decideInput(req, mode, ctx, now, waited),
        req.realm,
        req.key,
        {
          id: 'poll',
          owner: this.options.instanceId,
          leaseMs: this.options.leaseMs,
        },
      );
      if (decided.kind === 'serve')
        return servedFrom(decided.state, { sentAt, storeNow: now }, 'database', decided.reason);
      if (decided.kind === 'fail') throw decided.error;
      if (decided.kind === 'wait' && decided.lease.id === lease.id) continue;
      return null;
    }
  }

  /**
   * The one place where the provider call is chosen for a secret; a realm with rotating values
   * presents and replaces them (rotating-call.ts) under the round's lease.
   */
  private callFor(ctx: Context, decision: LeaseDecision): Round['call'] {
    const call: ValuesCall = (values, timeoutMs) =>
      this.fetcherFor(ctx.secret, ctx.config)(ctx.config, values, {
        allowPrivate: this.options.allowPrivateUpstreams,
        timeoutMs,
      });
    if (ctx.config.rotates === undefined) return (timeoutMs) => call(ctx.secret.values, timeoutMs);
    const recover = missPath().recoveryFor(
      {
        store: this.options.store,
        allowPrivate: this.options.allowPrivateUpstreams,
        instanceId: this.options.instanceId,
        getToken: (req) => this.getToken(req),
      },
      ctx.secret,
      ctx.config,
    );
    return missPath().rotatingCall(call, {
      store: this.options.store,
      instanceId: this.options.instanceId,
      realm: ctx.secret.realm,
      key: ctx.secret.key,
      config: ctx.config,
      policy: ctx.policy,
      lease: decision.lease,
      state: decision.next,
      secretValues: ctx.secret.values,
      ...(recover === undefined ? {} : { recover }),
    });
  }

  /**
   * A secret with a parent fetches with the parent's token (engine/dependent.ts); one whose realm
   * references a pushed ticket, with its newest ticket (engine/pushed-fetcher.ts).
   */
  private fetcherFor(secret: SecretRecord, config: RealmConfig): Fetcher {
    const base = missPath().usesPushedTicket(config)
      ? missPath().pushedFetcher(this.fetcher, secret, this.options.store)
      : this.fetcher;
    if (secret.parent === undefined) return base;
    return missPath().dependentFetcher(
      base,
      { ...secret, parent: secret.parent },
      {
        store: this.options.store,
        clock: this.options.clock,
        instanceId: this.options.instanceId,
        getToken: (req) => this.getToken(req),
      },
    );
  }

  /** We hold the lease: run the round (round.ts). */
  private holdLease(ctx: Context, decision: LeaseDecision, sentAt: number, mode: Mode): Promise<ServedToken> {
    return missPath().runRound(this.options, {
      realm: ctx.secret.realm,
      key: ctx.secret.key,
      secretRev: ctx.secret.rev,
      config: ctx.config,
      policy: ctx.policy,
      lease: decision.lease,
      leaseRead: { sentAt, storeNow: decision.now },
      hadToken: decision.hadToken,
      reissueAt: decision.next.reissueAt,
      ...(decision.attemptStartedAt === undefined ? {} : { attemptStartedAt: decision.attemptStartedAt }),
      mode,
      call: this.callFor(ctx, decision),
    });
  }

  /** After a hit: a due token is refreshed beside the request, taking the lease on the hit's read. */
  private maybeRefreshInBackground(hit: PriorRead): void {
    const { state, now } = hit.read;
    // Due, and nothing holds a call back: no lease, no remembered error, no backoff (token/phase.ts).
    if (state === null || phaseOfState(state, now) !== 'due') return;
    // Traffic never waits for a due refresh while the token is valid: it runs beside the request.
    this.refreshOne(state.realm, state.key, hit).catch(() => undefined);
  }

  /**
   * Refresh one secret if it is due (no-op otherwise); shared by traffic and POST /api/refresh.
   * `seen`: a read of the token document just made (a hit's), on which the lease is decided.
   */
  refreshOne(realm: string, key: string, seen?: PriorRead): Promise<'refreshed' | 'failed' | 'skipped'> {
    return this.background.run(`${realm}\u0000${key}`, async () => {
      let ctx: Context;
      try {
        ctx = await this.loadContext(realm, key);
      } catch {
        return 'skipped';
      }
      const sentAt = seen?.sentAt ?? this.options.clock.now();
      const decision = await this.decideAndTake(
        ctx,
        (now) => ({ now, mode: 'refresh', secretRev: ctx.secret.rev, policy: ctx.policy }),
        seen?.read,
      );
      if (decision.kind !== 'lease') return 'skipped';
      try {
        const served = await this.holdLease(ctx, decision, sentAt, 'refresh');
        return served.source === 'upstream' ? 'refreshed' : 'failed';
      } catch {
        return 'failed';
      }
    });
  }

  /**
   * POST /api/refresh and the scheduled refresh: every token that is due (engine/refresh-due.ts:
   * a query on the due time, in pages, within a time budget), at most `concurrency` at once.
   */
  refreshDue(
    concurrency = missPath().DEFAULT_REFRESH_CONCURRENCY,
    budgetMs = missPath().REFRESH_ROUTE_BUDGET_MS,
  ): Promise<DueRunSummary> {
    return missPath().refreshDueTokens({
      store: this.options.store,
      clock: this.options.clock,
      refreshOne: (realm, key) => this.refreshOne(realm, key),
      concurrency,
      budgetMs,
    });
  }
}
