/**
 * A simulated deployment for the schedule benchmarks (mass expiry, a day at steady load): the real
 * TokenEngine (and EdgeCache) on the memory store with an injected ManualClock, a seeded random
 * source per instance and a provider that answers at once and records when it was called. Nothing
 * sleeps: a simulated day takes seconds.
 */
import { ManualClock } from '../functions/clock';
import { EdgeCache } from '../functions/engine/edge-cache';
import { TokenEngine, type Fetcher, type ServedToken, type TokenSource } from '../functions/engine/engine';
import { freshState } from '../functions/token/decide';
import { MIN_SERVE_MS } from '../functions/token/phase';
import { getPreset } from '../functions/providers/presets';
import { MemoryStore } from '../functions/store/memory/memory-store';
import { Sealer } from '../functions/store/seal';
import type { JsonObject } from '../functions/store/types';
import { seededRandom } from './stats';

export const SIM_REALM = 'sim';

/** A provider that answers at once, records every call, and knows until when each token it issued lives. */
export class SimProvider {
  /** Every call: the secret (its key_1) and the simulated time. */
  readonly calls: Array<{ key: string; at: number }> = [];
  private readonly validUntil = new Map<string, number>();

  constructor(
    private readonly clock: ManualClock,
    readonly lifetimeMs: number,
  ) {}

  readonly fetcher: Fetcher = async (_config, values) => {
    const key = values.key_1 ?? '?';
    const at = this.clock.now();
    this.calls.push({ key, at });
    this.validUntil.set(key, at + this.lifetimeMs);
    return { token: `tok-${key}-${this.calls.length}`, lifetimeMs: this.lifetimeMs };
  };

  /** Whether the provider had issued this secret a token that was still worth serving at `at`. */
  hadValidToken(key: string, at: number): boolean {
    return (this.validUntil.get(key) ?? 0) - at >= MIN_SERVE_MS;
  }
}

export type InstanceKind = 'tokenServer' | 'tokenServerCache';

export interface SimInstance {
  id: string;
  kind: InstanceKind;
  get(key: string): Promise<ServedToken>;
}

export interface SimOptions {
  secrets: number;
  lifetimeMs: number;
  /** One entry per function instance; all share one store. */
  instances: InstanceKind[];
  /** Seed of the instances' random sources, or 'none' for no jitter (every draw 0). */
  seed: number | 'none';
  /** Realm config (default: the wechat_offiaccount preset; its URL is never called). */
  realmConfig?: JsonObject;
}

export interface Sim {
  clock: ManualClock;
  store: MemoryStore;
  provider: SimProvider;
  instances: SimInstance[];
  keys: string[];
  startedAt: number;
}

export async function createSim(o: SimOptions): Promise<Sim> {
  const clock = new ManualClock();
  // The store's time is the simulated time too (leases, expiry and due times are judged by it).
  const store = new MemoryStore(new Sealer(Buffer.alloc(32, 9)), clock);
  const provider = new SimProvider(clock, o.lifetimeMs);
  const now = clock.now();
  const config = o.realmConfig ?? getPreset('wechat_offiaccount')?.config;
  if (config === undefined) throw new Error('the wechat_offiaccount preset is missing');
  await store.putRealm({ id: SIM_REALM, comment: 'simulation', config, createdAt: now, updatedAt: now });
  const keys = Array.from({ length: o.secrets }, (_, i) => `s${String(i).padStart(5, '0')}`);
  for (const key of keys) {
    await store.putSecret(
      {
        realm: SIM_REALM,
        key,
        values: { key_1: key, key_2: 'x' },
        rev: 'r1',
        createdAt: now,
        updatedAt: now,
      },
      (cur) => freshState(SIM_REALM, key, 'r1', cur),
    );
  }
  const instances = o.instances.map((kind, i): SimInstance => {
    const id = `${kind}-${i}`;
    const engine = new TokenEngine({
      store,
      clock,
      random: o.seed === 'none' ? () => 0 : seededRandom(o.seed + i * 7919),
      instanceId: id,
      leaseMs: 15_000,
      waitMs: 20_000,
      allowPrivateUpstreams: true,
      fetcher: provider.fetcher,
    });
    const front = kind === 'tokenServerCache' ? new EdgeCache(engine, clock) : engine;
    return { id, kind, get: (key) => front.getToken({ realm: SIM_REALM, key }) };
  });
  return { clock, store, provider, instances, keys, startedAt: now };
}

export interface TrafficOptions {
  /** Simulated time to run until (ms since epoch). */
  untilMs: number;
  /** Clock step between rounds of requests. */
  tickMs: number;
  /** Each secret gets one request every intervalMs, at its own phase; instances take turns. */
  intervalMs: number;
}

export interface TrafficResult {
  requests: number;
  bySource: Record<TokenSource, number>;
  errors: number;
  /** Requests that waited on a provider call (answered from upstream, or the clock moved while they waited). */
  waitedOnProvider: number;
  /** ... of which a valid token existed at the provider when they arrived. */
  waitedWhileValid: number;
}

/** Lets every background refresh that traffic started run to its end (all of it is microtasks). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Steady traffic from now until untilMs: every secret asked every intervalMs, spread over ticks. */
export async function drive(sim: Sim, o: TrafficOptions): Promise<TrafficResult> {
  const result: TrafficResult = {
    requests: 0,
    bySource: { memory: 0, database: 0, upstream: 0 },
    errors: 0,
    waitedOnProvider: 0,
    waitedWhileValid: 0,
  };
  const phases = Math.max(1, Math.round(o.intervalMs / o.tickMs));
  let tick = 0;
  while (sim.clock.now() + o.tickMs <= o.untilMs) {
    sim.clock.advance(o.tickMs);
    tick++;
    const at = sim.clock.now();
    const round: Array<Promise<void>> = [];
    for (let i = tick % phases; i < sim.keys.length; i += phases) {
      const key = sim.keys[i] as string;
      const instance = sim.instances[(i + Math.floor(tick / phases)) % sim.instances.length] as SimInstance;
      const hadValid = sim.provider.hadValidToken(key, at);
      result.requests++;
      round.push(
        instance.get(key).then(
          (served) => {
            result.bySource[served.source]++;
            if (served.source === 'upstream' || sim.clock.now() !== at) {
              result.waitedOnProvider++;
              if (hadValid) result.waitedWhileValid++;
            }
          },
          () => {
            result.errors++;
          },
        ),
      );
    }
    await Promise.all(round);
    await settle();
  }
  return result;
}

/** Asks for every secret at one instant (all tokens fetched together), spread over the instances. */
export async function fetchAll(sim: Sim): Promise<void> {
  await Promise.all(
    sim.keys.map((key, i) => (sim.instances[i % sim.instances.length] as SimInstance).get(key)),
  );
  await settle();
}
