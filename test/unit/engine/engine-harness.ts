/** An engine on the memory store with a manual clock and a scripted provider, for deterministic tests. */
import { expect } from 'chai';
import { ManualClock, type Clock, type Random } from '../../../functions/clock';
import { TokenEngine, type Fetcher } from '../../../functions/engine/engine';
import { AppError } from '../../../functions/errors';
import { freshState } from '../../../functions/token/decide';
import { ProviderFailure } from '../../../functions/providers/failure';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { Store } from '../../../functions/store/store';
import type { JsonObject } from '../../../functions/store/types';

export const MASTER = Buffer.alloc(32, 7);

export type Step = {
  token?: string;
  lifetimeMs?: number;
  /** 'timeout': no answer in time (it may have minted: the outcome is unknown). */
  fail?: 'transient' | 'permanent' | 'timeout';
  code?: string;
  gate?: Promise<void>;
};

/** A provider whose answers are scripted; it counts calls. Unscripted calls succeed with tok-N. */
export class ScriptedProvider {
  calls = 0;
  private readonly script: Step[] = [];
  lifetimeMs = 7_200_000;

  then(...steps: Step[]): this {
    this.script.push(...steps);
    return this;
  }

  readonly fetcher: Fetcher = async () => {
    this.calls++;
    const n = this.calls;
    const step = this.script.shift() ?? {};
    if (step.gate !== undefined) await step.gate;
    if (step.fail === 'timeout') {
      throw new ProviderFailure({
        code: 'UPSTREAM_TIMEOUT',
        kind: 'transient',
        message: 'The provider did not answer in time',
      });
    }
    if (step.fail !== undefined) {
      throw new ProviderFailure({
        code: 'UPSTREAM_ERROR',
        kind: step.fail,
        message: `provider said ${step.code ?? 'no'}`,
        httpStatus: 200,
        providerCode: step.code ?? (step.fail === 'transient' ? '-1' : '40013'),
        providerMessage: step.fail === 'transient' ? 'system busy' : 'invalid appid',
      });
    }
    return { token: step.token ?? `tok-${n}`, lifetimeMs: step.lifetimeMs ?? this.lifetimeMs };
  };
}

/**
 * A same-token provider (WeCom, Feishu, `stable_token`): while more than `reissueWindowMs` of its
 * token's life remains it hands that token back with the remaining life; after that it mints a new
 * one (the old one living out its life). It knows which of the tokens it issued are alive.
 */
export class SameTokenProvider {
  calls = 0;
  private current: { token: string; until: number } | undefined;
  private readonly issued = new Map<string, number>();
  /** Tokens issued so far (each begins a lifetime). */
  minted = 0;

  constructor(
    private readonly clock: Clock,
    readonly lifetimeMs = 1_000_000,
    /** Renew the expiry on every call (DingTalk) instead of handing back the remaining life. */
    private readonly renews = false,
    /** A new token once less than this remains (0: only once the token has ended). */
    private readonly reissueWindowMs = 0,
  ) {}

  alive(token: string): boolean {
    const until = this.issued.get(token);
    return until !== undefined && this.clock.now() < until;
  }

  readonly fetcher: Fetcher = async () => {
    this.calls++;
    const now = this.clock.now();
    if (this.current === undefined || this.current.until - now <= this.reissueWindowMs) {
      this.current = { token: `same-${++this.minted}`, until: now + this.lifetimeMs };
      this.issued.set(this.current.token, this.current.until);
    } else if (this.renews) {
      this.issued.set(this.current.token, now + this.lifetimeMs);
      this.current.until = now + this.lifetimeMs;
    }
    return { token: this.current.token, lifetimeMs: this.current.until - now };
  };
}

export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export const REALM_CONFIG: JsonObject = {
  url: 'https://api.weixin.qq.com/cgi-bin/token',
  method: 'GET',
  arguments: [
    { name: 'appid', place: 'url', value: '$key_1' },
    { name: 'secret', place: 'url', value: '$key_2' },
  ],
  token_path: 'access_token',
  content_type: 'json',
  expires_in_path: 'expires_in',
};

/** A few turns of the event loop, so that background work (a due refresh) can progress. */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

export async function seed(
  store: Store,
  clock: ManualClock,
  realm = 'wx',
  keys = ['s1'],
  config: JsonObject = REALM_CONFIG,
  /** Appended to each secret's rev (a re-created secret gets a new one). */
  revTag = '',
): Promise<void> {
  await store.putRealm({ id: realm, comment: '', config, createdAt: clock.now(), updatedAt: clock.now() });
  for (const key of keys) {
    await store.putSecret(
      {
        realm,
        key,
        values: { key_1: 'appid-value', key_2: 'secret-value' },
        rev: `rev-${key}${revTag}`,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      },
      (cur) => freshState(realm, key, `rev-${key}${revTag}`, cur),
    );
  }
}

export function seededRandom(seed = 42): Random {
  let x = seed;
  return () => {
    // xorshift32: deterministic and good enough for spreading due times in tests.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

export function makeEngine(
  store: Store,
  clock: Clock,
  provider: ScriptedProvider,
  opts: { instanceId?: string; leaseMs?: number; waitMs?: number; random?: Random } = {},
): TokenEngine {
  return engineWith(store, clock, provider.fetcher, opts);
}

/**
 * A store seeded with secret s1 of realm wx (`config`, REALM_CONFIG by default), a scripted provider
 * (a fresh one by default) and an engine over them.
 */
export async function seededEngine(
  clock: ManualClock,
  options: { provider?: ScriptedProvider; config?: JsonObject } = {},
): Promise<{ store: MemoryStore; provider: ScriptedProvider; engine: TokenEngine }> {
  const store = newStore(clock);
  await seed(store, clock, 'wx', ['s1'], options.config);
  const provider = options.provider ?? new ScriptedProvider();
  return { store, provider, engine: makeEngine(store, clock, provider) };
}

/** The same with any fetcher. */
export function engineWith(
  store: Store,
  clock: Clock,
  fetcher: Fetcher,
  opts: { instanceId?: string; leaseMs?: number; waitMs?: number; random?: Random } = {},
): TokenEngine {
  return new TokenEngine({
    store,
    clock,
    random: opts.random ?? seededRandom(),
    instanceId: opts.instanceId ?? 'i1',
    leaseMs: opts.leaseMs ?? 15_000,
    waitMs: opts.waitMs ?? 20_000,
    allowPrivateUpstreams: true,
    fetcher,
    firstPollDelayMs: 100,
  });
}

/** A memory store whose clock (the store's time) is `clock`; engines may be given other clocks (skew). */
export function newStore(clock?: Clock): MemoryStore {
  return new MemoryStore(new Sealer(MASTER), clock);
}

/** The AppError a promise rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}
