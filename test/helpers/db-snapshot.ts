/**
 * Every document of the test project in the shared Firestore emulator, as one comparable value: a
 * test takes a snapshot before something hostile happens and asserts it is unchanged afterwards.
 * Each snapshot is also recorded for the run-wide leak check (no secret in any stored document).
 */
import { getApps, initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { recordDocuments } from './leak-registry';
import { testProjectId } from './processes';

const APP_NAME = 'db-snapshot';

/** A Firestore client of its own (FIRESTORE_EMULATOR_HOST decides where it points). */
export function snapshotClient(projectId = testProjectId()): Firestore {
  const app = getApps().find((a) => a.name === APP_NAME) ?? initializeApp({ projectId }, APP_NAME);
  return getFirestore(app);
}

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = stable((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** Document path → its data (keys sorted), over every top-level collection. */
export async function snapshotDatabase(db: Firestore = snapshotClient()): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const collection of await db.listCollections()) {
    const snap = await collection.get();
    for (const doc of snap.docs) out[doc.ref.path] = stable(doc.data());
  }
  const snapshot = stable(out) as Record<string, unknown>;
  // Every snapshot is part of the run-wide leak check over stored data (leak-registry.ts).
  recordDocuments('a database snapshot', snapshot);
  return snapshot;
}
