/**
 * Store.countChildren on Firestore (../child-counts.ts): count() aggregations, one index entry read
 * per 1,000 documents counted, nothing sealed read: the secrets naming the parent, those of them
 * with `revoked.at` (a composite index, parent + revoked.at: firestore.indexes.json), one child's
 * realm (a one-document projection), and that realm's token states with the given lastError.code
 * (two equalities: served by single-field indexes).
 */
import type { Firestore, Query } from 'firebase-admin/firestore';
import type { ChildCounts } from '../child-counts';
import { COLLECTIONS } from '../store';

async function countOf(query: Query): Promise<number> {
  return (await query.count().get()).data().count;
}

export async function countChildren(db: Firestore, parent: string, errorCode: string): Promise<ChildCounts> {
  const children = db.collection(COLLECTIONS.secrets).where('parent', '==', parent);
  const [total, revoked, first] = await Promise.all([
    countOf(children),
    countOf(children.where('revoked.at', '>', 0)),
    children.limit(1).select('realm').get(),
  ]);
  const realm: unknown = first.docs[0]?.get('realm');
  const withError =
    typeof realm === 'string'
      ? await countOf(
          db
            .collection(COLLECTIONS.tokens)
            .where('realm', '==', realm)
            .where('lastError.code', '==', errorCode),
        )
      : 0;
  return { total, revoked, withError };
}
