/**
 * A platform secret's tenants on its /api/status row (README "HTTP API", status `tenants`): the
 * customers (WeChat authorizers, WeCom and DingTalk companies, Feishu tenants) whose secrets name it
 * as `parent`, by the state their own rows show as `authorizer_state`: `authorized`, `unauthorized`
 * (a tombstone: the platform ended it) and `needs_reauthorization` (the engine gave its refresh token
 * up: WeChat authorizers). Counted, never listed (Store.countChildren: Firestore count()
 * aggregations), so a platform of 100,000 tenants costs a few index reads per row, not 100,000.
 */
import { secretDocId, parentRef, type Store } from '../store/store';
import { NEEDS_REAUTHORIZATION } from './authorizer-secrets';

export interface TenantCounts {
  total: number;
  authorized: number;
  unauthorized: number;
  needs_reauthorization: number;
}

/** `tenants` of the given platform secrets' rows, by document id (realm:key). */
export async function tenantCounts(
  store: Store,
  platformRows: ReadonlyArray<{ realm: string; key: string }>,
): Promise<Map<string, { tenants: TenantCounts }>> {
  const out = new Map<string, { tenants: TenantCounts }>();
  if (store.countChildren === undefined) return out;
  for (const { realm, key } of platformRows) {
    const c = await store.countChildren(parentRef(realm, key), NEEDS_REAUTHORIZATION);
    const needs = Math.min(c.withError, c.total - c.revoked);
    out.set(secretDocId(realm, key), {
      tenants: {
        total: c.total,
        authorized: c.total - c.revoked - needs,
        unauthorized: c.revoked,
        needs_reauthorization: needs,
      },
    });
  }
  return out;
}
