/**
 * Secrets a platform creates for its customers (README "Third-party platforms (WeChat Open Platform)" authorizers, and the tenants of the other platforms' sections): one secret
 * per customer in the platform secret's `authorizer_realm`, keyed by the customer's id, with the
 * platform secret as `parent`. Platform events create and replace them (`authorized`, `create_auth`,
 * `app_open`) and end them (`unauthorized`, `cancel_auth`): an ended customer is kept as a tombstone
 * (SecretRecord.revoked: values erased, token route 410 AUTHORIZER_REVOKED), never deleted silently,
 * and a later authorization brings it back.
 *
 * Each write gives the secret a new rev and a fresh token state (as POST /api/secret does), so a
 * token fetched with the old values is never served again. `eventAt` is the platform's time of the
 * event: an event older than the one that last changed the secret changes nothing ('older'), so
 * a late delivery never undoes a newer one. The read and the write are two steps (the store has no
 * compare-and-set for secrets): two events for one customer within the same moment can still race;
 * platforms send them seconds apart.
 */
import { randomBytes } from 'node:crypto';
import { parentRef, type Store } from '../store/store';
import type { SideWrite } from '../store/side-writes';
import type { SecretRecord } from '../store/types';
import { freshState } from '../token/decide';

export type ChildSecretOutcome = 'created' | 'replaced' | 'revoked' | 'older' | 'not_found' | 'no_realm';

export interface ChildSecretTarget {
  /** The platform secret's authorizer realm, and the customer's id (appid, corpid, tenant_key). */
  realm: string;
  key: string;
  /** The platform secret. */
  parent: { realm: string; key: string };
  /** The platform's time of the event (ms); an admin's write passes the store's time. */
  eventAt: number;
  /** The store's time now (ms). */
  now: number;
}

/** Whether an event of `eventAt` is older than the one that last changed `existing`. */
export function isOlderEvent(existing: SecretRecord | null, eventAt: number): boolean {
  return existing?.eventAt !== undefined && eventAt < existing.eventAt;
}

async function write(
  store: Store,
  existing: SecretRecord | null,
  next: Omit<SecretRecord, 'rev' | 'createdAt' | 'updatedAt'>,
  now: number,
  side: SideWrite[] | undefined,
): Promise<'created' | 'replaced' | 'no_realm'> {
  const secret: SecretRecord = {
    ...next,
    rev: randomBytes(16).toString('hex'),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
  };
  return store.putSecret(
    secret,
    (current) => freshState(secret.realm, secret.key, secret.rev, current),
    side,
  );
}

/**
 * Creates or replaces a customer's secret with `values` (sealed like any credentials), clearing a
 * tombstone. 'older' when a newer event already changed it.
 */
export async function putChildSecret(
  store: Store,
  target: ChildSecretTarget,
  values: Record<string, string>,
  side?: SideWrite[],
): Promise<ChildSecretOutcome> {
  const existing = await store.getSecret(target.realm, target.key);
  if (isOlderEvent(existing, target.eventAt)) return 'older';
  return write(
    store,
    existing,
    {
      realm: target.realm,
      key: target.key,
      values,
      parent: parentRef(target.parent.realm, target.parent.key),
      eventAt: target.eventAt,
    },
    target.now,
    side,
  );
}

/**
 * Ends a customer: its values are erased and it is kept as a tombstone (410 on its token route).
 * 'not_found' when there is no such secret (nothing to keep), 'older' as above; a tombstone
 * revoked again keeps its first time and reason.
 */
export async function revokeChildSecret(
  store: Store,
  target: ChildSecretTarget,
  reason: string,
  side?: SideWrite[],
): Promise<ChildSecretOutcome> {
  const existing = await store.getSecret(target.realm, target.key);
  if (existing === null) return 'not_found';
  if (isOlderEvent(existing, target.eventAt)) return 'older';
  const outcome = await write(
    store,
    existing,
    {
      realm: existing.realm,
      key: existing.key,
      values: {},
      ...(existing.parent === undefined ? {} : { parent: existing.parent }),
      revoked: existing.revoked ?? { at: target.eventAt, reason },
      eventAt: target.eventAt,
    },
    target.now,
    side,
  );
  return outcome === 'no_realm' ? 'no_realm' : 'revoked';
}
