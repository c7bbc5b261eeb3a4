/** An engine on the memory store with a manual clock and a scripted provider, for deterministic tests. */
import { ManualClock, type Clock, type Random } from '../../../functions/clock';
import { TokenEngine, type Fetcher } from '../../../functions/engine/engine';
import { freshState } from '../../../functions/engine/state';
import { ProviderFailure } from '../../../functions/providers/failure';
import { MemoryStore } from '../../../functions/store/memory/memory-store';
import { Sealer } from '../../../functions/store/seal';
import type { Store } from '../../../functions/store/store';
import type { JsonObject } from '../../../functions/store/types';

export const MASTER = Buffer.alloc(32, 7);

export type Step = {
  token?: string;
  lifetimeMs?: number;
  fail?: 'transient' | 'permanent';
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

export async function seed(
  store: Store,
  clock: ManualClock,
  realm = 'wx',
  keys = ['s1'],
  config: JsonObject = REALM_CONFIG,
): Promise<void> {
  await store.putRealm({ id: realm, comment: '', config, createdAt: clock.now(), updatedAt: clock.now() });
  for (const key of keys) {
    await store.putSecret(
      {
        realm,
        key,
        values: { key_1: 'appid-value', key_2: 'secret-value' },
        rev: `rev-${key}`,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      },
      (cur) => freshState(realm, key, `rev-${key}`, cur),
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
  return new TokenEngine({
    store,
    clock,
    random: opts.random ?? seededRandom(),
    instanceId: opts.instanceId ?? 'i1',
    leaseMs: opts.leaseMs ?? 15_000,
    waitMs: opts.waitMs ?? 20_000,
    allowPrivateUpstreams: true,
    fetcher: provider.fetcher,
    firstPollDelayMs: 100,
  });
}

/** A memory store whose clock (the store's time) is `clock`; engines may be given other clocks (skew). */
export function newStore(clock?: Clock): MemoryStore {
  return new MemoryStore(new Sealer(MASTER), clock);
}
