/**
 * Bearer authentication. Admin routes need the admin key; the token route takes the admin key or a
 * client key scoped to the realm/key asked for. Client lookups are cached per instance for at most
 * clientCacheMs, which bounds how long a revoked key keeps working (keys/client-key-cache.ts).
 */
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../errors';
import { constantTimeEqual, hashClientKey } from '../keys/keys';
import type { Runtime } from '../runtime';
import type { ClientRecord } from '../store/types';
import { headerValue } from './parse-request';
import type { ParsedRequest, Principal } from './types';

export type { Principal };

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

/**
 * Without an admin key, admin routes are closed: the caller is unknown, so the answer says only
 * that (no secret path, project or error text); runtime.ts logged why when the keys were read.
 */
function adminKeyOrThrow(runtime: Runtime): string {
  const key = runtime.keys.adminKey;
  if (key === undefined) {
    throw new AppError(
      'NOT_READY',
      'Admin routes are not ready: this instance has no usable admin key (its log says why)',
      { retryAfter: 30 },
    );
  }
  return key;
}

export function requireAdmin(req: ParsedRequest, runtime: Runtime): Principal {
  const expected = adminKeyOrThrow(runtime);
  const given = bearerOf(req);
  if (given === undefined) throw noBearer(req, 'admin key');
  if (!constantTimeEqual(given, expected))
    throw new AppError('UNAUTHENTICATED', 'The admin key is not valid.');
  return { kind: 'admin' };
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
  const load = () => runtime.store.findClientByKeyHash(keyHash);
  const cached = runtime.clientCache.peek(keyHash, now, load);
  if (cached !== undefined) return principal(cached);
  return runtime.clientCache.lookup(keyHash, now, load).then(principal);
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
