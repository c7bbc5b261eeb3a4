/**
 * Master-key rotation at the document level, shared by both stores: which documents hold sealed
 * values, which key each is sealed under, and what a reseal writes on one of them.
 *
 * Every document that can hold a sealed value carries `sealedWith`, the id of the key its value is
 * sealed under (null: a token document without a token), written by store/codec.ts in the same
 * write as the value. Documents written before key ids existed lack the field; what they hold is in
 * the v1 form, i.e. under the key `default` (store/seal.ts). A reseal visits every document once
 * and leaves each one marked and under the current key, so counts by `sealedWith` are then exact.
 */
import { DEFAULT_KEY_ID } from '../keys/master-keys';
import type { Doc } from './codec';
import type { Sealer } from './seal';
import { sealedKeyId } from './seal';
import {
  SEALED_WITH,
  type ResealPage,
  type ResealPosition,
  type SealedCollection,
  type SealedCounts,
} from './reseal-types';
import { COLLECTIONS, secretDocId } from './store';

export { SEALED_WITH, type ResealPage, type ResealPosition, type SealedCollection, type SealedCounts };

/** The collections whose documents hold sealed values, in the order a reseal walks them. */
export const SEALED_COLLECTIONS = [
  COLLECTIONS.secrets,
  COLLECTIONS.tokens,
] as const satisfies readonly SealedCollection[];

/** The sealed field of each collection's documents. */
export const SEALED_FIELD: Record<SealedCollection, string> = {
  [COLLECTIONS.secrets]: 'values',
  [COLLECTIONS.tokens]: 'token',
};

/** What a reseal does to one document. */
export type ResealPlan =
  | { kind: 'current' }
  | { kind: 'unreadable' }
  /** `resealed`: the value was sealed again (else only its marker is written). */
  | { kind: 'write'; update: Doc; resealed: boolean };

/** The associated data a collection's values are sealed with: the document's path. */
function aadOf(collection: SealedCollection, d: Doc): string {
  return `${collection}/${secretDocId(String(d.realm), String(d.key))}`;
}

/**
 * The reseal of one document as read: nothing when its value is under the current key and marked
 * so; else the fields to write (the value under the current key, and `sealedWith`). The caller
 * writes them only if the document is still as read (a compare-and-set), so a value written in
 * between by traffic is never overwritten with an older one.
 */
export function planReseal(collection: SealedCollection, d: Doc, sealer: Sealer): ResealPlan {
  const field = SEALED_FIELD[collection];
  const sealed = d[field];
  const marker = d[SEALED_WITH];
  if (typeof sealed !== 'string') {
    return marker === null
      ? { kind: 'current' }
      : { kind: 'write', update: { [SEALED_WITH]: null }, resealed: false };
  }
  const current = sealer.currentKeyId;
  if (!sealer.isStale(sealed)) {
    return marker === current
      ? { kind: 'current' }
      : { kind: 'write', update: { [SEALED_WITH]: current ?? null }, resealed: false };
  }
  try {
    const update = { [field]: sealer.reseal(sealed, aadOf(collection, d)), [SEALED_WITH]: current ?? null };
    return { kind: 'write', update, resealed: true };
  } catch {
    // Under a key that is not configured (or damaged): left as it is; GET /api/keys keeps counting it.
    return { kind: 'unreadable' };
  }
}

/** The key id a document's value counts under (undefined: it holds no sealed value). */
export function sealedKeyOfDoc(collection: SealedCollection, d: Doc): string | undefined {
  const sealed = d[SEALED_FIELD[collection]];
  if (typeof sealed !== 'string') return undefined;
  return sealedKeyId(sealed) ?? DEFAULT_KEY_ID;
}

/** The position after a full page of `collection` ending at `lastId`, or at the next collection. */
export function nextPosition(
  collection: SealedCollection,
  full: boolean,
  lastId: string | undefined,
): ResealPosition | undefined {
  if (full && lastId !== undefined) return { collection, after: lastId };
  const i = SEALED_COLLECTIONS.indexOf(collection);
  const following = SEALED_COLLECTIONS[i + 1];
  return following === undefined ? undefined : { collection: following };
}

export function addCount(counts: SealedCounts, id: string, n: number): void {
  if (n > 0) counts[id] = (counts[id] ?? 0) + n;
}
