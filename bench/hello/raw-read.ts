/**
 * One raw firebase-admin read per request (bench/hello/index.ts loads this module only for its
 * target): what a database hit cannot do cheaper, and, as the first answer of a fresh process, what
 * loading firebase-admin and its Firestore client and making one read cost a cold start. The client
 * speaks BENCH_TRANSPORT (rest or grpc, default grpc) with the settings token-server gives that
 * transport (functions/store/firestore/client-settings.ts). With BENCH_QUERY_COLLECTION,
 * BENCH_QUERY_FIELD and BENCH_QUERY_VALUE it also makes, side by side with the read, the one-result
 * query that looks a client key up (`where(field, '==', value).limit(1)`): what an authenticated
 * first token cannot do cheaper.
 */
import type { Request, Response } from 'express';
import { initializeApp } from 'firebase-admin/app';
import { getFirestore, type Firestore } from 'firebase-admin/firestore';
import { transportSettings } from '../../functions/store/firestore/client-settings';

let db: Firestore | undefined;

function firestore(): Firestore {
  if (db === undefined) {
    const projectId = process.env.GOOGLE_CLOUD_PROJECT ?? 'demo-token-server';
    db = getFirestore(initializeApp({ projectId }, 'bench-raw-read'));
    const emulator = (process.env.FIRESTORE_EMULATOR_HOST ?? '') !== '';
    db.settings(transportSettings(process.env.BENCH_TRANSPORT === 'rest' ? 'rest' : 'grpc', emulator));
  }
  return db;
}

/**
 * One raw document read per request (BENCH_READ_DOC, e.g. tokens/realm:key), answered as JSON:
 * what a database hit cannot do cheaper. /healthz answers without a read.
 */
export async function rawRead(req: Request, res: Response): Promise<void> {
  if (req.path === '/healthz') {
    res.status(200).type('application/json').send('{"ok":true}');
    return;
  }
  const path = process.env.BENCH_READ_DOC ?? 'bench/doc';
  const {
    BENCH_QUERY_COLLECTION: collection,
    BENCH_QUERY_FIELD: field,
    BENCH_QUERY_VALUE: value,
  } = process.env;
  try {
    const db = firestore();
    const [snap, found] = await Promise.all([
      db.doc(path).get(),
      collection === undefined || field === undefined || value === undefined
        ? Promise.resolve(true)
        : db
            .collection(collection)
            .where(field, '==', value)
            .limit(1)
            .get()
            .then((q) => !q.empty),
    ]);
    res
      .status(snap.exists && found ? 200 : 404)
      .type('application/json')
      .send(JSON.stringify(snap.data() ?? null));
  } catch {
    res.status(500).type('application/json').send('{"error":"read failed"}');
  }
}
