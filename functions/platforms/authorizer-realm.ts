/**
 * A platform secret's realm of customers (README's platform sections: `authorizer_realm`): the realm where the
 * broker creates one secret per authorizer or tenant, keyed by its id, with the platform secret as
 * parent. Kept as one of the platform secret's values (not a credential: shown in the admin view),
 * set with POST /api/secret's `authorizer_realm`.
 */
import type { SecretRecord } from '../store/types';

export const AUTHORIZER_REALM_VALUE = 'authorizer_realm';

export function authorizerRealmOf(secret: SecretRecord): string | undefined {
  return secret.values[AUTHORIZER_REALM_VALUE];
}
