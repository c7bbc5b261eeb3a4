/** Side writes (store/side-writes.ts) in a Firestore commit: the one implementation, for the store and the ops store. */
import { FieldValue, type Firestore, type Transaction, type WriteBatch } from 'firebase-admin/firestore';
import type { SideWrite } from '../side-writes';

/**
 * Adds side writes to a transaction or batch of `db` (the client whose commit it is): created, so a
 * side document is never overwritten; a stamp field set to the commit's server time.
 */
export function addSideWrites(
  tx: Transaction | WriteBatch,
  db: Firestore,
  side: readonly SideWrite[] | undefined,
): void {
  for (const w of side ?? []) {
    const doc =
      w.stampField === undefined ? w.doc : { ...w.doc, [w.stampField]: FieldValue.serverTimestamp() };
    tx.create(db.collection(w.collection).doc(w.id), doc);
  }
}
