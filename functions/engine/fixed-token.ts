/**
 * Fixed-token realms (the original design's third kind: a realm with neither `config` nor
 * `logic_code`): each secret carries the token itself (`token`, optional `expires_in` in seconds),
 * sealed with the secret's values. Nothing is ever fetched.
 *
 * Saving such a secret writes its token state at once (fixedTokenState), so that a token request
 * is served by the engine's ordinary hit path, one read (`source: database`, `memory` from the edge
 * cache). The few requests that miss that path (the state is gone, the token expired, a flush or an
 * invalid_token report) are answered here (fixedTokenAnswer), before the engine would take a lease.
 */
import { AppError } from '../errors';
import { realmKind } from '../providers/realm-config';
import type { RealmRecord, SecretRecord, TokenState, TokenSummary } from '../store/types';
import { freshState, type Mode } from '../token/decide';
import { usable } from '../token/phase';
import type { ServedToken } from './served';
import { NEVER_EXPIRES_AT, servedFrom } from './served';

/** A token without expires_in is served for one day at a time, so that apps re-ask daily (SPEC §4). */
export const FIXED_TOKEN_SERVE_MS = 86_400_000;

/** Where a fixed token and its lifetime are kept among the secret's sealed values. */
export const TOKEN_VALUE = 'token';
export const EXPIRES_IN_VALUE = 'expires_in';

function expiryOf(secret: SecretRecord): number {
  const seconds = secret.values[EXPIRES_IN_VALUE];
  return seconds === undefined ? NEVER_EXPIRES_AT : secret.updatedAt + Number(seconds) * 1000;
}

/**
 * The token state of a fixed-token secret just saved: its token, "fetched" when it was saved,
 * expiring after expires_in (or never), never due for a refresh. A token without expires_in gets
 * FIXED_TOKEN_SERVE_MS as its serving cap (overlapMs), and each answer says exactly one day
 * (engine/served.ts, fixedLifetimeMs).
 */
export function fixedTokenState(secret: SecretRecord, current: TokenSummary | null): TokenState {
  const token = secret.values[TOKEN_VALUE];
  const base = freshState(secret.realm, secret.key, secret.rev, current);
  if (token === undefined) return base;
  return {
    ...base,
    token,
    fetchedAt: secret.updatedAt,
    expiresAt: expiryOf(secret),
    ...(secret.values[EXPIRES_IN_VALUE] === undefined ? { overlapMs: FIXED_TOKEN_SERVE_MS } : {}),
  };
}

function unknownRealm(realm: string): AppError {
  return new AppError('NOT_FOUND', `Unknown realm ${realm}: no realm has this id (see GET /api/realm)`, {
    details: { field: 'realm', realm },
  });
}

/**
 * Before the engine's slow path, on the realm and secret it read: undefined for a realm of another
 * kind (the engine goes on); for a fixed-token realm the token, or the error that says why there is
 * none (409 for a flush or an invalid_token report: there is nothing to fetch). An unknown realm is said to be unknown here.
 */
export function fixedTokenAnswer(
  realm: RealmRecord | null,
  secret: SecretRecord | null,
  req: { realm: string; key: string },
  mode: Mode,
  now: number,
): ServedToken | undefined {
  if (realm === null) throw unknownRealm(req.realm);
  if (realmKind(realm) !== 'fixed_token') return undefined;
  const details = { realm: req.realm, key: req.key };
  if (mode === 'flush' || mode === 'invalid') {
    throw new AppError(
      'CONFLICT',
      `${req.realm} is a fixed-token realm: its tokens are not fetched, so they cannot be ${mode === 'flush' ? 'flushed' : 'refreshed after an invalid_token report'}. Post the secret again with a new token.`,
      { details },
    );
  }
  if (secret === null) {
    throw new AppError('NOT_FOUND', `No secret ${req.realm}/${req.key}`, { details });
  }
  const state = fixedTokenState(secret, null);
  if (!usable(state, now)) {
    throw new AppError(
      'CONFLICT',
      state.token === undefined
        ? `The secret ${req.realm}/${req.key} of fixed-token realm ${req.realm} carries no token: post it again with "token"`
        : `The fixed token of ${req.realm}/${req.key} expired at ${new Date(state.expiresAt ?? now).toISOString()}: post the secret again with a new token`,
      { details },
    );
  }
  // A fixed token's expiry was set from the time it was posted: judged by this instance's clock.
  return servedFrom(state, { sentAt: now, storeNow: now }, 'database');
}
