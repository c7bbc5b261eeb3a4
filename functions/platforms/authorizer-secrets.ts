/**
 * Authorizer secrets (README "Third-party platforms (WeChat Open Platform)") as the event route and sync write them: realm = the component
 * secret's `authorizer_realm` value, key = the authorizer's appid, values {key_1: appid,
 * refresh_token} (sealed with every other value by the store), parent = the component secret.
 * They go through the store's ordinary secret write (Store.putSecret, as POST /api/secret does):
 * a new rev and a fresh token state, so a token fetched under the previous refresh token is
 * discarded, while the daily call counters are kept.
 */
import { AUTHORIZER_REALM_VALUE, requireAuthorizerRealm } from './authorizer-realm';
import { randomBytes } from 'node:crypto';
import { AppError } from '../errors';
import { realmIdSchema } from '../providers/realm-config';
import type { SideWrite } from '../store/side-writes';
import { parentRef, type Store } from '../store/store';
import type { SecretRecord, TokenSummary } from '../store/types';
import { freshState } from '../token/decide';

/** The authorizer secret's rotating value (README "Rotating values (refresh tokens)"). */
export const REFRESH_TOKEN_VALUE = 'refresh_token';
/** The token state's lastError code of an authorizer whose refresh token was given up (README "Rotating values (refresh tokens)"). */
export const NEEDS_REAUTHORIZATION = 'NEEDS_REAUTHORIZATION';

export type AuthorizerState = 'authorized' | 'unauthorized' | 'needs_reauthorization';

/** Whether an appid can be a secret's key (it is one, so it must be a valid id). */
export function validAppid(appid: unknown): appid is string {
  return typeof appid === 'string' && realmIdSchema.safeParse(appid).success;
}

/**
 * What an authorizer secret's state is (status rows, sync): `needs_reauthorization` when it has
 * no refresh token or the engine gave its refresh token up, `unauthorized` for a tombstone.
 */
export function authorizerState(
  secret: SecretRecord,
  token: Pick<TokenSummary, 'lastError'> | null,
): AuthorizerState {
  if (secret.revoked !== undefined) return 'unauthorized';
  if (secret.values[REFRESH_TOKEN_VALUE] === undefined) {
    return secret.values.key_1 === undefined ? 'unauthorized' : 'needs_reauthorization';
  }
  return token?.lastError?.code === NEEDS_REAUTHORIZATION ? 'needs_reauthorization' : 'authorized';
}

/**
 * Creates or replaces the authorizer secret `appid` under `component` with `refreshToken`.
 * `existing`: the secret as the caller read it (its creation time is kept). Answers whether it
 * was created; a missing authorizer realm is a 404 naming it.
 */
export async function putAuthorizer(
  store: Store,
  now: number,
  component: SecretRecord,
  appid: string,
  refreshToken: string,
  existing: SecretRecord | null,
  side: SideWrite[] = [],
): Promise<'created' | 'replaced'> {
  const realm = requireAuthorizerRealm(component);
  const rev = randomBytes(16).toString('hex');
  const secret: SecretRecord = {
    realm,
    key: appid,
    values: { key_1: appid, [REFRESH_TOKEN_VALUE]: refreshToken },
    parent: parentRef(component.realm, component.key),
    rev,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  const outcome = await store.putSecret(secret, (current) => freshState(realm, appid, rev, current), side);
  if (outcome === 'no_realm') {
    throw new AppError(
      'NOT_FOUND',
      `No realm ${realm} (the ${AUTHORIZER_REALM_VALUE} of ${component.realm}/${component.key})`,
      { details: { field: AUTHORIZER_REALM_VALUE, realm } },
    );
  }
  return outcome;
}

export { AUTHORIZER_REALM_VALUE };
