/**
 * The per-instance cache of client-key lookups (key hash → client), in front of the store:
 * - one store query per key however many requests wait for it (a single flight per key hash);
 * - refreshed ahead of expiry: a hit past REFRESH_AHEAD of the entry's life starts one reload in
 *   the background and is answered from the cache at once, so that at steady traffic no request
 *   waits for a reload; an entry is never served past ttlMs after the read that made it, which
 *   bounds how long a key revoked through another instance keeps working;
 * - revocation through this instance is immediate: forget() drops the entry and any lookup in
 *   flight, and a lookup that started before it never caches its (stale) answer;
 * - bounded: known clients and unknown keys are kept apart, each in a bounded map of its own that
 *   drops the least recently loaded first (a client in use is reloaded, and so moved to the back,
 *   every 3/4 of its life), so that a flood of random bearers can neither grow memory nor push out
 *   the clients in use; an unknown key is remembered briefly (so that guessing the same key again
 *   costs no read), a known one for ttlMs.
 */
import type { ClientRecord } from '../store/types';

/** Fraction of an entry's life after which a hit reloads it in the background. */
const REFRESH_AHEAD = 0.75;
const MISS_TTL_MS = 5_000;

interface Entry {
  client: ClientRecord;
  /** Served until then (the read that made it + ttlMs). */
  until: number;
  /** A hit from then on starts a background reload. */
  refreshAt: number;
}

export type ClientLoad = () => Promise<ClientRecord | null>;

export interface ClientKeyCacheLimits {
  /** Known clients kept (the least recently loaded dropped first). Default 10,000. */
  maxClients?: number;
  /** Unknown keys remembered. Default 10,000. */
  maxMisses?: number;
}

export class ClientKeyCache {
  private readonly clients = new Map<string, Entry>();
  /** Unknown key hash → remembered until. */
  private readonly misses = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<ClientRecord | null>>();
  /** Bumped by forget(): a lookup that started under an older generation does not cache. */
  private generation = 0;
  private readonly maxClients: number;
  private readonly maxMisses: number;
  private readonly missTtlMs: number;
  /** Store queries started (tests and status read it). */
  loads = 0;

  constructor(
    private readonly ttlMs: number,
    limits: ClientKeyCacheLimits = {},
  ) {
    this.maxClients = limits.maxClients ?? 10_000;
    this.maxMisses = limits.maxMisses ?? 10_000;
    this.missTtlMs = Math.min(ttlMs, MISS_TTL_MS);
  }

  /**
   * The cached lookup without a promise: a client, null (a known-unknown key), or undefined when
   * the store must be asked. With `load`, a hit due for a refresh starts one in the background.
   */
  peek(keyHash: string, now: number, load?: ClientLoad): ClientRecord | null | undefined {
    const hit = this.clients.get(keyHash);
    if (hit !== undefined && hit.until > now) {
      if (load !== undefined && now >= hit.refreshAt && !this.inflight.has(keyHash)) {
        this.load(keyHash, now, load).catch(() => undefined); // the entry serves until it expires
      }
      return hit.client;
    }
    const miss = this.misses.get(keyHash);
    return miss !== undefined && miss > now ? null : undefined;
  }

  /** The cached lookup, or the one store query for this key (shared with every other waiter). */
  lookup(keyHash: string, now: number, load: ClientLoad): Promise<ClientRecord | null> {
    const cached = this.peek(keyHash, now, load);
    if (cached !== undefined) return Promise.resolve(cached);
    return this.inflight.get(keyHash) ?? this.load(keyHash, now, load);
  }

  /** Drops one key (a revoked client) or everything, and whatever lookups are in flight for it. */
  forget(keyHash?: string): void {
    this.generation += 1;
    if (keyHash === undefined) {
      this.clients.clear();
      this.misses.clear();
      this.inflight.clear();
      return;
    }
    this.clients.delete(keyHash);
    this.misses.delete(keyHash);
    this.inflight.delete(keyHash);
  }

  /** How many entries are held (tests check the bounds). */
  size(): { clients: number; misses: number; inflight: number } {
    return { clients: this.clients.size, misses: this.misses.size, inflight: this.inflight.size };
  }

  private load(keyHash: string, startedAt: number, load: ClientLoad): Promise<ClientRecord | null> {
    const generation = this.generation;
    this.loads += 1;
    const done = (): void => {
      if (this.inflight.get(keyHash) === flight) this.inflight.delete(keyHash);
    };
    const flight = load().then(
      (client) => {
        done();
        if (generation === this.generation) this.remember(keyHash, client, startedAt);
        return client;
      },
      (err: unknown) => {
        done();
        throw err;
      },
    );
    this.inflight.set(keyHash, flight);
    return flight;
  }

  private remember(keyHash: string, client: ClientRecord | null, readAt: number): void {
    if (client === null) {
      this.clients.delete(keyHash);
      this.misses.delete(keyHash);
      this.misses.set(keyHash, readAt + this.missTtlMs);
      dropOldest(this.misses, this.maxMisses);
      return;
    }
    this.misses.delete(keyHash);
    this.clients.delete(keyHash);
    this.clients.set(keyHash, {
      client,
      until: readAt + this.ttlMs,
      refreshAt: readAt + this.ttlMs * REFRESH_AHEAD,
    });
    dropOldest(this.clients, this.maxClients);
  }
}

/** Map order is insertion order: the first entries are the least recently (re)loaded. */
function dropOldest(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}
