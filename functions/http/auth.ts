/**
 * Bearer authentication. Admin routes need the admin key; the token route takes the admin key or a
 * client key scoped to the realm/key asked for. Client lookups are cached per instance for at most
 * clientCacheMs, which bounds how long a revoked key keeps working.
 */
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors';
import { constantTimeEqual, hashClientKey } from '../keys/keys';
import type { Runtime } from '../runtime';
import type { ClientRecord } from '../store/types';
import { headerValue } from './parse-request';
import type { ParsedRequest } from './types';

export type Principal = { kind: 'admin' } | { kind: 'client'; client: ClientRecord };

/** 401 without a usable bearer key: says whether the header is missing or lacks the Bearer scheme. */
function noBearer(req: ParsedRequest, what: string): AppError {
  const given = headerValue(req.headers.authorization);
  return new AppError(
    'UNAUTHENTICATED',
    given === undefined || given.trim() === ''
      ? `Missing Authorization: Bearer <${what}>`
      : `The Authorization header must be "Bearer <${what}>": the Bearer scheme is missing or the value is not one key`,
  );
}

export function bearerOf(req: ParsedRequest): string | undefined {
  const h = headerValue(req.headers.authorization);
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

function adminKeyOrThrow(runtime: Runtime): string {
  const key = runtime.keys.adminKey;
  if (key === undefined) {
    throw new AppError(
      'NOT_READY',
      runtime.keys.problems.adminKey ??
        'No admin key is configured (TOKEN_SERVER_ADMIN_KEY or TOKEN_SERVER_ADMIN_KEY_SECRET): admin routes are closed',
    );
  }
  return key;
}

export function requireAdmin(req: ParsedRequest, runtime: Runtime): Principal {
  const expected = adminKeyOrThrow(runtime);
  const given = bearerOf(req);
  if (given === undefined) throw noBearer(req, 'admin key');
  if (!constantTimeEqual(given, expected))
    throw new AppError('UNAUTHENTICATED', 'The admin key is not valid');
  return { kind: 'admin' };
}

interface CachedClient {
  client: ClientRecord | null;
  until: number;
}

/** Per-instance client-key cache; bounded so that a flood of random keys cannot grow it forever. */
export class ClientKeyCache {
  private readonly entries = new Map<string, CachedClient>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached lookup: a client, null (a known-unknown key), or undefined when not cached. */
  peek(keyHash: string, now: number): ClientRecord | null | undefined {
    const hit = this.entries.get(keyHash);
    return hit !== undefined && hit.until > now ? hit.client : undefined;
  }

  async lookup(
    keyHash: string,
    now: number,
    load: () => Promise<ClientRecord | null>,
  ): Promise<ClientRecord | null> {
    const hit = this.entries.get(keyHash);
    if (hit !== undefined && hit.until > now) return hit.client;
    const client = await load();
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    // Unknown keys are remembered briefly too, so guessing costs no database read per attempt.
    this.entries.set(keyHash, {
      client,
      until: now + (client === null ? Math.min(this.ttlMs, 5_000) : this.ttlMs),
    });
    return client;
  }

  forget(keyHash?: string): void {
    if (keyHash === undefined) this.entries.clear();
    else this.entries.delete(keyHash);
  }
}

const adminKeyHashes = new WeakMap<Runtime, Buffer | null>();

/** The admin key's hash (as client keys are hashed), once per runtime; null without an admin key. */
function adminKeyHash(runtime: Runtime): Buffer | null {
  let hash = adminKeyHashes.get(runtime);
  if (hash === undefined) {
    const key = runtime.keys.adminKey;
    hash = key === undefined ? null : Buffer.from(hashClientKey(key), 'hex');
    adminKeyHashes.set(runtime, hash);
  }
  return hash;
}

/**
 * The caller of a token route: the admin key or a client key. One SHA-256 of the bearer serves both
 * the constant-time comparison with the admin key and the client-key lookup; the answer comes
 * without a promise when the lookup is cached (the hit path: see http/app.ts), with one only when
 * the store must be asked.
 */
export function authenticateAny(req: ParsedRequest, runtime: Runtime): Principal | Promise<Principal> {
  const given = bearerOf(req);
  if (given === undefined) throw noBearer(req, 'client key');
  const keyHash = hashClientKey(given);
  const admin = adminKeyHash(runtime);
  if (admin !== null && timingSafeEqual(Buffer.from(keyHash, 'hex'), admin)) return { kind: 'admin' };
  const principal = (client: ClientRecord | null): Principal => {
    if (client === null) throw new AppError('UNAUTHENTICATED', 'The client key is not valid');
    return { kind: 'client', client };
  };
  const now = runtime.clock.now();
  const cached = runtime.clientCache.peek(keyHash, now);
  if (cached !== undefined) return principal(cached);
  return runtime.clientCache
    .lookup(keyHash, now, () => runtime.store.findClientByKeyHash(keyHash))
    .then(principal);
}

export function assertInScope(principal: Principal, realm: string, key: string): void {
  if (principal.kind === 'admin') return;
  const allowed = principal.client.scopes.some((s) => s.realm === realm && (s.key === '*' || s.key === key));
  if (!allowed) {
    throw new AppError('PERMISSION_DENIED', `This client key is not allowed to use ${realm}/${key}`, {
      details: { realm, key },
    });
  }
}
