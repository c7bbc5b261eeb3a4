/**
 * Tenant secrets of a Feishu/Lark store app (SPEC §11.4): when a company installs the app, Feishu
 * sends `app_open` with its `tenant_key`; the broker creates the secret `{authorizer_realm}/{tenant_key}`
 * (realm of preset feishu_tenant_store) with key_1 = tenant_key and the app secret as its parent, so
 * `GET /api/token?realm={authorizer_realm}&key={tenant_key}` answers the tenant's token at once. An
 * existing tenant secret is left as it is (events are retried and repeated: one effect). The app
 * secret names its tenant realm in `authorizer_realm` (POST /api/secret); without one, the event is
 * acknowledged and logged, and an admin can add tenants by hand (POST /api/secret with `parent`).
 */
import { randomBytes } from 'node:crypto';
import { log } from '../../log';
import { authorizerRealmOf } from '../authorizer-realm';
import type { Store } from '../../store/store';
import type { SecretRecord } from '../../store/types';
import { freshState } from '../../token/decide';

export type TenantOutcome = 'tenant_created' | 'tenant_exists' | 'no_authorizer_realm';

const TENANT_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

export async function openTenant(
  store: Store,
  app: { realm: string; key: string },
  tenantKey: string,
  now: number,
): Promise<TenantOutcome> {
  const appSecret = await store.getSecret(app.realm, app.key);
  const tenantRealm = appSecret === null ? undefined : authorizerRealmOf(appSecret);
  if (tenantRealm === undefined || !TENANT_KEY.test(tenantKey)) {
    log(
      'WARNING',
      `app_open for ${app.realm}/${app.key}: no authorizer_realm (or an unusable tenant_key), no tenant created`,
      {
        event: 'tenant_not_created',
        realm: app.realm,
        key: app.key,
      },
    );
    return 'no_authorizer_realm';
  }
  if ((await store.getSecret(tenantRealm, tenantKey)) !== null) return 'tenant_exists';
  const secret: SecretRecord = {
    realm: tenantRealm,
    key: tenantKey,
    values: { key_1: tenantKey },
    parent: `${app.realm}/${app.key}`,
    rev: randomBytes(16).toString('hex'),
    createdAt: now,
    updatedAt: now,
  };
  const outcome = await store.putSecret(secret, (current) =>
    freshState(tenantRealm, tenantKey, secret.rev, current),
  );
  if (outcome === 'no_realm') {
    log('WARNING', `app_open for ${app.realm}/${app.key}: authorizer_realm ${tenantRealm} does not exist`, {
      event: 'tenant_not_created',
      realm: app.realm,
      key: app.key,
    });
    return 'no_authorizer_realm';
  }
  return 'tenant_created';
}
