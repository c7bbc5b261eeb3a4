/**
 * Master-key rotation on Firestore (the Store's countSealedByKey and resealPage; the document-level
 * rules are store/reseal.ts). Counting reads no sealed value: count() aggregations on `sealedWith`.
 * Resealing writes each document by compare-and-set (an update with a precondition on the update
 * time it was read at), so neither traffic nor a concurrent reseal is ever overwritten: a writer
 * that came first makes the precondition fail, and the document is decided again as it is now.
 */
import { FieldPath, type DocumentSnapshot, type Firestore, type Query } from 'firebase-admin/firestore';
import { GrpcStatus, grpcCodeOf } from '../../grpc-status';
import type { Doc } from '../codec';
import {
  SEALED_COLLECTIONS,
  SEALED_WITH,
  addCount,
  nextPosition,
  planReseal,
  type ResealPage,
  type ResealPosition,
  type SealedCollection,
  type SealedCounts,
} from '../reseal';
import { DEFAULT_KEY_ID } from '../../keys/master-keys';
import type { Sealer } from '../seal';

/** Documents resealed at once within one page. */
const PAGE_CONCURRENCY = 16;
/** A document that keeps changing under the reseal is decided again at most this often. */
const MAX_ATTEMPTS = 10;
/** Far more key ids than any rotation keeps; bounds the count's queries. */
const MAX_KEY_IDS = 100;

async function countOf(query: Query): Promise<number> {
  return (await query.count().get()).data().count;
}

/**
 * Sealed values per key id in one collection: the distinct `sealedWith` ids one after the other
 * (one indexed read each) with a count() of each; documents without the field count as `default`.
 */
async function countCollection(
  db: Firestore,
  collection: SealedCollection,
  counts: SealedCounts,
): Promise<void> {
  const all = db.collection(collection);
  let marked = 0;
  let after = '';
  for (let i = 0; i < MAX_KEY_IDS; i++) {
    const next = await all
      .where(SEALED_WITH, '>', after)
      .orderBy(SEALED_WITH)
      .limit(1)
      .select(SEALED_WITH)
      .get();
    const id = next.docs[0]?.get(SEALED_WITH) as unknown;
    if (typeof id !== 'string') break;
    const n = await countOf(all.where(SEALED_WITH, '==', id));
    addCount(counts, id, n);
    marked += n;
    after = id;
  }
  const [total, empty] = await Promise.all([countOf(all), countOf(all.where(SEALED_WITH, '==', null))]);
  // Written before key ids: their values are in the v1 form, the key `default` (store/seal.ts).
  addCount(counts, DEFAULT_KEY_ID, total - marked - empty);
}

export async function countSealedByKey(db: Firestore): Promise<SealedCounts> {
  const counts: SealedCounts = {};
  for (const collection of SEALED_COLLECTIONS) await countCollection(db, collection, counts);
  return counts;
}

type Outcome = 'resealed' | 'marked' | 'current' | 'unreadable' | 'gone';

async function resealOne(
  collection: SealedCollection,
  first: DocumentSnapshot,
  sealer: Sealer,
): Promise<Outcome> {
  let snap = first;
  for (let attempt = 1; ; attempt++) {
    if (!snap.exists || snap.updateTime === undefined) return 'gone';
    const plan = planReseal(collection, snap.data() as Doc, sealer);
    if (plan.kind !== 'write') return plan.kind;
    try {
      await snap.ref.update(plan.update, { lastUpdateTime: snap.updateTime });
      return plan.resealed ? 'resealed' : 'marked';
    } catch (err) {
      const code = grpcCodeOf(err);
      // Written (or deleted) since it was read: decide again on what is there now.
      if (
        (code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.NOT_FOUND) &&
        attempt < MAX_ATTEMPTS
      ) {
        snap = await snap.ref.get();
        continue;
      }
      throw err;
    }
  }
}

export async function resealPage(
  db: Firestore,
  sealer: Sealer,
  position: ResealPosition,
  limit: number,
): Promise<ResealPage> {
  let query = db.collection(position.collection).orderBy(FieldPath.documentId());
  if (position.after !== undefined) query = query.startAfter(position.after);
  const snap = await query.limit(limit).get();
  const outcomes: Outcome[] = [];
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < snap.docs.length) {
      const doc = snap.docs[i++];
      if (doc !== undefined) outcomes.push(await resealOne(position.collection, doc, sealer));
    }
  };
  await Promise.all(Array.from({ length: PAGE_CONCURRENCY }, worker));
  const next = nextPosition(
    position.collection,
    snap.docs.length === limit,
    snap.docs[snap.docs.length - 1]?.id,
  );
  return {
    scanned: snap.docs.length,
    resealed: outcomes.filter((o) => o === 'resealed').length,
    unreadable: outcomes.filter((o) => o === 'unreadable').length,
    written: outcomes.filter((o) => o === 'resealed' || o === 'marked').length,
    ...(next === undefined ? {} : { next }),
  };
}
