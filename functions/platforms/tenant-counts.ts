/**
 * A platform secret's tenants on its /api/status row (README "HTTP API", status `tenants`): the
 * customers (WeChat authorizers, WeCom and DingTalk companies, Feishu tenants) whose secrets name it
 * as `parent`, by the state their own rows show as `authorizer_state`: `authorized`, `unauthorized`
 * (a tombstone: the platform ended it) and `needs_reauthorization` (the engine gave its refresh token
 * up: WeChat authorizers). Counted, never listed (Store.countChildren: Firestore count()
 * aggregations), so a platform of 100,000 tenants costs a few index reads per row, not 100,000. A
 * count that fails (e.g. the composite index not deployed) leaves the row without `tenants`.
 */
import { log } from '../log';
import type { ChildCounts } from '../store/child-counts';
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
    let c: ChildCounts;
    try {
      c = await store.countChildren(parentRef(realm, key), NEEDS_REAUTHORIZATION);
    } catch (err) {
      // A missing composite index (firestore.indexes.json not deployed) must not take status down:
      // the row goes without `tenants`, and the log says why.
      log(
        'WARNING',
        `tenants of ${realm}/${key} not counted: ${err instanceof Error ? err.message : 'error'}`,
        {
          event: 'tenant_count_failed',
          realm,
          key,
        },
      );
      continue;
    }
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
