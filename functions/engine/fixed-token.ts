/**
 * Fixed-token realms (the original design's third kind: a realm with neither `config` nor
 * `logic_code`): each secret carries the token itself (`token`, optional `expires_in` in seconds),
 * sealed with the secret's values. Nothing is ever fetched.
 *
 * Saving such a secret writes its token state at once (admin/fixed-token.ts, fixedTokenState), so
 * that a token request is served by the engine's ordinary hit path, one read (`source: database`,
 * `memory` from the edge cache). The few requests that miss that path (the state is gone, the token
 * expired, a flush or an invalid_token report) are answered here (fixedTokenAnswer), before the
 * engine would take a lease.
 */
import { AppError } from '../errors';
import { realmKind } from '../providers/realm-facts';
import type { RealmRecord, SecretRecord } from '../store/types';
import type { Mode } from '../token/decide';
import { fixedTokenState } from '../admin/fixed-token';
import { usable } from '../token/phase';
import type { ServedToken } from './served';
import { servedFrom } from './served';

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
