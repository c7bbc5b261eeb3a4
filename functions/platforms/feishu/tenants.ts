/**
 * Tenant secrets of a Feishu/Lark store app (README "Feishu/Lark store apps"), through platforms/child-secrets.ts:
 * - `app_open` (a company installed the app, with its `tenant_key`): the secret
 *   `{authorizer_realm}/{tenant_key}` (realm of preset feishu_tenant_store) with key_1 = tenant_key
 *   and the app secret as its parent, so `GET /api/token?realm={authorizer_realm}&key={tenant_key}`
 *   answers the tenant's token at once. An existing live tenant is left as it is (events are retried
 *   and repeated: one effect, its token kept); a tombstone is brought back.
 * - `app_uninstalled`: the tenant is kept as a tombstone (410 AUTHORIZER_REVOKED), never deleted.
 * An event older than the one that last changed the tenant changes nothing. The app secret names its
 * tenant realm in `authorizer_realm` (POST /api/secret); without one, the event is acknowledged and
 * logged, and an admin can add tenants by hand (POST /api/secret with `parent`).
 */
import { log } from '../../log';
import { authorizerRealmOf } from '../authorizer-realm';
import type { Store } from '../../store/store';
import { putChildSecret, revokeChildSecret, type ChildSecretOutcome } from '../child-secrets';

export type TenantOutcome = `tenant_${ChildSecretOutcome | 'exists'}` | 'no_authorizer_realm';

const TENANT_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

export interface TenantEvent {
  kind: 'app_open' | 'app_uninstalled';
  tenantKey: string;
  /** Feishu's time of the event (ms). */
  eventAt: number;
}

export async function applyTenantEvent(
  store: Store,
  app: { realm: string; key: string },
  event: TenantEvent,
): Promise<TenantOutcome> {
  const appSecret = await store.getSecret(app.realm, app.key);
  const realm = appSecret === null ? undefined : authorizerRealmOf(appSecret);
  if (realm === undefined || !TENANT_KEY.test(event.tenantKey)) {
    log(
      'WARNING',
      `${event.kind} for ${app.realm}/${app.key}: no authorizer_realm (or an unusable tenant_key), no tenant changed`,
      {
        event: 'tenant_not_changed',
        realm: app.realm,
        key: app.key,
      },
    );
    return 'no_authorizer_realm';
  }
  const target = { realm, key: event.tenantKey, parent: app, eventAt: event.eventAt, now: await store.now() };
  if (event.kind === 'app_uninstalled')
    return `tenant_${await revokeChildSecret(store, target, 'app_uninstalled')}`;
  const existing = await store.getSecret(realm, event.tenantKey);
  if (existing !== null && existing.revoked === undefined) return 'tenant_exists';
  const outcome = await putChildSecret(store, target, { key_1: event.tenantKey });
  if (outcome === 'no_realm')
    log('WARNING', `app_open for ${app.realm}/${app.key}: authorizer_realm ${realm} does not exist`, {
      event: 'tenant_not_changed',
      realm: app.realm,
      key: app.key,
    });
  return `tenant_${outcome}`;
}
