/**
 * The state of a platform's customer (tenant) secrets, for /api/status rows: `authorized`, or
 * `unauthorized` for a tombstone (the platform ended it: WeChat `unauthorized`, WeCom `cancel_auth`,
 * Feishu `app_uninstalled`; store/types.ts
 * SecretRecord.revoked). Only rows of tenant realms get the field, found by their token URL's path
 * (the tenant presets' paths, on any host): one realm read per realm on the page and one secret
 * read per tenant row.
 */
import type { RealmConfig } from '../providers/realm-config';
import { parseRealmConfig } from '../providers/realm-config';
import { secretDocId, type Store } from '../store/store';

/** Token paths of the tenant presets (wecom_suite_corp, dingtalk_isv_corp, wechat_authorizer, feishu_tenant_store). */
export const TENANT_TOKEN_PATHS: ReadonlySet<string> = new Set([
  '/cgi-bin/service/get_corp_token',
  '/v1.0/oauth2/corpAccessToken',
  '/cgi-bin/component/api_authorizer_token',
  '/open-apis/auth/v3/tenant_access_token',
]);

export type TenantState = 'authorized' | 'unauthorized';

export function isTenantRealm(config: Pick<RealmConfig, 'url'>): boolean {
  try {
    return TENANT_TOKEN_PATHS.has(new URL(config.url).pathname);
  } catch {
    return false;
  }
}

/** `authorizer_state` of the rows whose realm is a tenant realm, by document id (realm:key). */
export async function tenantStates(
  store: Store,
  rows: ReadonlyArray<{ realm: string; key: string }>,
): Promise<Map<string, { authorizer_state: TenantState }>> {
  const tenantRealms = new Set<string>();
  for (const realm of new Set(rows.map((r) => r.realm))) {
    const record = await store.getRealm(realm);
    try {
      if (record?.config !== undefined && isTenantRealm(parseRealmConfig(record.config)))
        tenantRealms.add(realm);
    } catch {
      // an invalid realm config has no tenants
    }
  }
  const out = new Map<string, { authorizer_state: TenantState }>();
  for (const row of rows) {
    if (!tenantRealms.has(row.realm)) continue;
    const secret = await store.getSecret(row.realm, row.key);
    if (secret === null) continue;
    out.set(secretDocId(row.realm, row.key), {
      authorizer_state: secret.revoked === undefined ? 'authorized' : 'unauthorized',
    });
  }
  return out;
}
