/**
 * A platform secret's realm of customers (README's platform sections: `authorizer_realm`): the realm where the
 * broker creates one secret per authorizer or tenant, keyed by its id, with the platform secret as
 * parent. Kept as one of the platform secret's values (not a credential: shown in the admin view),
 * set with POST /api/secret's `authorizer_realm`.
 */
import { AppError } from '../errors';
import { realmIdSchema } from '../providers/realm-config';
import type { SecretRecord } from '../store/types';

export const AUTHORIZER_REALM_VALUE = 'authorizer_realm';
/** The older spelling of a WeCom or DingTalk suite's realm of companies (its key_5). */
export const OLDER_TENANT_REALM_VALUE = 'key_5';

/**
 * The realm of customers a platform secret names, or undefined. `olderSpelling`: a WeCom or DingTalk
 * suite may still name it in key_5 (its value before `authorizer_realm`); a WeChat component's
 * key_5 is not read.
 */
export function authorizerRealmOf(secret: SecretRecord, olderSpelling = false): string | undefined {
  return (
    secret.values[AUTHORIZER_REALM_VALUE] ??
    (olderSpelling ? secret.values[OLDER_TENANT_REALM_VALUE] : undefined)
  );
}

/** Whether a realm of customers can be used: named, and a valid realm id. */
function usable(realm: string | undefined): realm is string {
  return realm !== undefined && realmIdSchema.safeParse(realm).success;
}

/** The WeChat component's realm of authorizers; a 400 naming the value when it has none. */
export function requireAuthorizerRealm(component: SecretRecord): string {
  const realm = authorizerRealmOf(component);
  if (!usable(realm)) {
    throw new AppError(
      'INVALID_ARGUMENT',
      `${component.realm}/${component.key} has no ${AUTHORIZER_REALM_VALUE}: set it to the realm (preset wechat_authorizer) where its authorizers are kept`,
      { details: { field: AUTHORIZER_REALM_VALUE } },
    );
  }
  return realm;
}

/** A suite's realm of companies (either spelling); NOT_READY naming key_5 when it has none. */
export function requireTenantRealm(platform: SecretRecord): string {
  const realm = authorizerRealmOf(platform, true);
  if (!usable(realm)) {
    throw new AppError(
      'NOT_READY',
      `${platform.realm}/${platform.key} names no authorizer realm (key_5): its companies cannot be stored`,
      { details: { field: OLDER_TENANT_REALM_VALUE } },
    );
  }
  return realm;
}
